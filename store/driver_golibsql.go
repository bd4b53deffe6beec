//go:build !libsqlclient

package store

import (
	"database/sql"
	"fmt"

	libsql "github.com/tursodatabase/go-libsql"
)

// Driver names the linked libSQL driver.
const Driver = "go-libsql"

func openLocal(path string) (*DB, error) {
	w, err := sql.Open("libsql", "file:"+path)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1) // one writer: SQLite serialises writers anyway, this avoids SQLITE_BUSY
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	// busy_timeout first, so the rest waits out another process's lock. WAL is
	// persistent in the file: switching needs an exclusive lock, so only when needed.
	var mode string
	for _, pragma := range []string{"PRAGMA busy_timeout=5000", "PRAGMA foreign_keys=ON", "PRAGMA journal_mode"} {
		var v any
		if err := w.QueryRow(pragma).Scan(&v); err != nil && err != sql.ErrNoRows {
			w.Close()
			return nil, fmt.Errorf("store: %s: %w", pragma, err)
		}
		mode = fmt.Sprint(v)
	}
	if mode != "wal" {
		var v any
		if err := w.QueryRow("PRAGMA journal_mode=WAL").Scan(&v); err != nil {
			w.Close()
			return nil, fmt.Errorf("store: PRAGMA journal_mode=WAL: %w", err)
		}
	}
	r, err := sql.Open("libsql", "file:"+path)
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxIdleConns(8)
	return &DB{R: r, W: w, Mode: ModeEmbedded}, nil
}

func openRemote(u string) (*DB, error) {
	db, err := sql.Open("libsql", u)
	if err != nil {
		return nil, fmt.Errorf("store: open remote %s: %w", redact(u), err)
	}
	db.SetMaxIdleConns(16)
	return &DB{R: db, W: db, Mode: ModeRemote}, nil
}

func openReplica(path, primary, token string) (*DB, error) {
	var opts []libsql.Option
	if token != "" {
		opts = append(opts, libsql.WithAuthToken(token))
	}
	connector, err := libsql.NewEmbeddedReplicaConnector(path, primary, opts...)
	if err != nil {
		return nil, fmt.Errorf("store: open replica of %s: %w", redact(primary), err)
	}
	db := sql.OpenDB(connector)
	return &DB{R: db, W: db, Mode: ModeReplica, closer: connector}, nil
}
