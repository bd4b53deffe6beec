// Package store opens the libSQL database in one of its three modes and applies
// the embedded migrations.
//
//	DATABASE_URL unset or file:...      embedded file (zero setup)
//	libsql:// http:// https://          a remote libSQL server (sqld, Turso)
//	file:... plus DATABASE_SYNC_URL     an embedded replica: local reads, writes forwarded
//
// The driver is chosen at build time: github.com/tursodatabase/go-libsql (cgo, all
// three modes) by default, github.com/tursodatabase/libsql-client-go (pure Go,
// remote only) with the build tag "libsqlclient". Both register the driver name
// "libsql", so exactly one is linked.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mysharpjob/sharpjob/migrations"
)

// Mode names how the database is reached; /healthz reports it.
type Mode string

const (
	ModeEmbedded Mode = "embedded"
	ModeRemote   Mode = "remote"
	ModeReplica  Mode = "replica"
)

// Config selects the database. URL follows DATABASE_URL, SyncURL DATABASE_SYNC_URL.
type Config struct {
	URL       string
	SyncURL   string
	AuthToken string
	DataDir   string // where a relative default file lives
}

// DB is the database handle every part of the host shares. Writes go through W,
// reads through R; for an embedded file W holds a single connection so SQLite never
// sees two writers (readers proceed in WAL mode), for a server both are the same pool.
type DB struct {
	R, W   *sql.DB
	Mode   Mode
	closer io.Closer
}

// Open connects in the mode cfg selects.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	u := cfg.URL
	if u == "" {
		dir := cfg.DataDir
		if dir == "" {
			dir = "data"
		}
		u = "file:" + filepath.Join(dir, "sharpjob.db")
	}
	var (
		db  *DB
		err error
	)
	switch {
	case strings.HasPrefix(u, "file:") && strings.ContainsRune(localPathRaw(u), '#'):
		// The driver reads the path as a URL: '#' would start a fragment and two
		// databases could silently share one file.
		return nil, fmt.Errorf("store: database path %q contains '#', which libSQL reads as a URL fragment; rename the directory", localPathRaw(u))
	case strings.HasPrefix(u, "file:") && cfg.SyncURL != "":
		db, err = openReplica(localPath(u), cfg.SyncURL, cfg.AuthToken)
	case strings.HasPrefix(u, "file:"):
		db, err = openLocal(localPath(u))
	case strings.HasPrefix(u, "libsql://"), strings.HasPrefix(u, "http://"), strings.HasPrefix(u, "https://"), strings.HasPrefix(u, "ws://"), strings.HasPrefix(u, "wss://"):
		db, err = openRemote(withToken(u, cfg.AuthToken))
	default:
		return nil, fmt.Errorf("store: DATABASE_URL %q: want file:, libsql://, http:// or https://", redact(u))
	}
	if err != nil {
		return nil, err
	}
	if err := db.R.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect to %s database: %w", db.Mode, err)
	}
	return db, nil
}

func localPathRaw(u string) string {
	p := strings.TrimPrefix(u, "file:")
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	return p
}

func localPath(u string) string {
	p := localPathRaw(u)
	if dir := filepath.Dir(p); dir != "." {
		_ = os.MkdirAll(dir, 0o755)
	}
	return p
}

func withToken(u, token string) string {
	if token == "" {
		return u
	}
	parsed, err := url.Parse(u)
	if err != nil {
		return u
	}
	q := parsed.Query()
	q.Set("authToken", token)
	parsed.RawQuery = q.Encode()
	return parsed.String()
}

// redact hides credentials in a database URL before it reaches an error or a log.
func redact(u string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		return "<unparseable url>"
	}
	if parsed.User != nil {
		parsed.User = url.User("xxx")
	}
	q := parsed.Query()
	if q.Has("authToken") {
		q.Set("authToken", "xxx")
		parsed.RawQuery = q.Encode()
	}
	return parsed.String()
}

// Close releases both pools and the connector.
func (db *DB) Close() error {
	errs := []error{db.R.Close()}
	if db.W != db.R {
		errs = append(errs, db.W.Close())
	}
	if db.closer != nil {
		errs = append(errs, db.closer.Close())
	}
	return errors.Join(errs...)
}

// Migrate applies every embedded migration not yet recorded, in name order, each in
// its own transaction together with its record. It returns the names it applied.
func (db *DB) Migrate(ctx context.Context) ([]string, error) {
	if _, err := db.W.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name TEXT PRIMARY KEY,
		applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))`); err != nil {
		return nil, fmt.Errorf("store: create schema_migrations: %w", err)
	}
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var applied []string
	for _, name := range names {
		var n int
		if err := db.W.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n); err != nil {
			return applied, fmt.Errorf("store: read schema_migrations: %w", err)
		}
		if n > 0 {
			continue
		}
		body, err := fs.ReadFile(migrations.FS, name)
		if err != nil {
			return applied, err
		}
		if err := db.applyMigration(ctx, name, string(body)); err != nil {
			return applied, err
		}
		applied = append(applied, name)
	}
	return applied, nil
}

func (db *DB) applyMigration(ctx context.Context, name, body string) error {
	tx, err := db.W.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: migration %s: %w", name, err)
	}
	defer tx.Rollback()
	for _, stmt := range SplitStatements(body) {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("store: migration %s: %w\n%s", name, err, stmt)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(name) VALUES (?)`, name); err != nil {
		return fmt.Errorf("store: record migration %s: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit migration %s: %w", name, err)
	}
	return nil
}

// SplitStatements cuts a migration into statements at top-level semicolons, keeping
// CREATE TRIGGER ... BEGIN ... END; bodies whole and dropping -- comments. Remote
// drivers take one statement per call, so the split is done here once for all modes.
func SplitStatements(src string) []string {
	var (
		out   []string
		cur   strings.Builder
		depth int // BEGIN ... END nesting inside a trigger
	)
	for _, line := range strings.Split(src, "\n") {
		if i := strings.Index(line, "--"); i >= 0 && !strings.Contains(line[:i], "'") {
			line = line[:i]
		}
		trimmed := strings.TrimSpace(line)
		if trimmed == "" {
			continue
		}
		upper := strings.ToUpper(trimmed)
		if strings.HasSuffix(upper, " BEGIN") || upper == "BEGIN" {
			depth++
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			if depth > 0 && (upper == "END;") {
				depth--
			}
			if depth == 0 {
				stmt := strings.TrimSpace(cur.String())
				out = append(out, strings.TrimSuffix(stmt, ";"))
				cur.Reset()
			}
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}
