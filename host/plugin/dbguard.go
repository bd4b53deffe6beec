package plugin

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/mysharpjob/sharpjob/store"
)

// Guard decides which tables a statement touches by asking SQLite itself: it
// EXPLAINs the statement and maps every OpenRead / OpenWrite cursor's root page to its
// table through sqlite_schema. Nothing is guessed from the SQL text, so subqueries,
// CTEs, joins and RETURNING clauses are all seen. Triggers run as sub-programs of the
// schema's own making and are not charged to the plugin.
//
// A write to a table with triggers runs them, and EXPLAIN lists their programs too:
// tables the triggers name (the search outbox) are the schema's doing, not the
// plugin's. A write also opens the tables its foreign keys point at, or that point at it, to
// enforce them; those reads belong to the schema, not to the plugin, and tell it no
// more than the constraint error would, and writes them for ON DELETE CASCADE as the
// schema says. A table the statement names itself is always charged.
//
// Secret columns (password hashes) are refused to every plugin whatever its grants:
// a Column read on a cursor over that table's own b-tree at that column's index.
//
// Results are cached by SQL text (plugins use parameterised statements, so the set is
// small); the schema map reloads when an unknown root page shows up.
type Guard struct {
	db *store.DB

	mu      sync.RWMutex
	roots   map[int64]string          // root page → table name (indexes map to their table)
	isTable map[int64]bool            // root page is a table's own b-tree, not an index
	secrets map[string]map[int64]bool // table → secret column indexes
	vtabs   []string                  // virtual tables (FTS5 indexes and the like)
	tables  []string                  // every table name, lower case
	fks     map[string][]string       // table → tables it references or is referenced by
	trig    map[string][]string       // table → tables its triggers name
	cache   map[string]*access
}

type access struct {
	reads, writes []string
	secret        string // "table.column" read, if any
	vtabsNamed    bool
	direct        map[string]bool // tables named in the statement text
}

// secretColumns no plugin may read.
var secretColumns = map[string][]string{"users": {"password_hash"}}

// deniedNames are table-valued functions and virtual tables that would show the raw
// file or the schema; they do not open a b-tree cursor, so the text is checked.
var deniedNames = []string{"sqlite_dbpage", "dbstat", "pragma_", "sqlite_stmt", "fts5vocab", "sqlite_schema", "sqlite_master", "sqlite_temp", "load_extension"}

const maxCachedStatements = 4096

// NewGuard makes a guard over db.
func NewGuard(db *store.DB) *Guard { return &Guard{db: db, cache: map[string]*access{}} }

// ErrCapability marks a statement refused by the manifest.
var ErrCapability = errors.New("capability denied")

// Check returns an error unless caps allows stmt; write reports whether the statement
// is allowed to write (db_exec, db_batch) or must only read (db_query).
func (g *Guard) Check(ctx context.Context, caps *Capabilities, stmt string, args []any, write bool) error {
	if err := statementKind(stmt); err != nil {
		return err
	}
	a, err := g.inspect(ctx, stmt, args)
	if err != nil {
		return err
	}
	if a.secret != "" {
		return fmt.Errorf("%w: column %s is never readable by plugins", ErrCapability, a.secret)
	}
	for _, t := range a.writes {
		switch {
		case caps.Tables[t] == "":
			return fmt.Errorf("%w: table %s is not in the manifest", ErrCapability, t)
		case caps.Tables[t] != "rw":
			return fmt.Errorf("%w: table %s is read-only for this plugin", ErrCapability, t)
		case !write:
			return fmt.Errorf("db_query is read-only: use Exec or Batch to write %s", t)
		}
	}
	for _, t := range a.reads {
		if caps.Tables[t] == "" {
			return fmt.Errorf("%w: table %s is not in the manifest", ErrCapability, t)
		}
	}
	return nil
}

// statementKind allows one DML statement: no DDL, PRAGMA, ATTACH or second statement.
func statementKind(stmt string) error {
	s := strings.TrimSpace(stmt)
	first := strings.ToUpper(firstWord(s))
	switch first {
	case "SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "REPLACE", "VALUES":
	default:
		return fmt.Errorf("%w: %s statements are not available to plugins", ErrCapability, first)
	}
	if hasSecondStatement(s) {
		return fmt.Errorf("%w: one statement per call", ErrCapability)
	}
	lower := strings.ToLower(s)
	for _, d := range deniedNames {
		if strings.Contains(lower, d) {
			return fmt.Errorf("%w: %s is not available to plugins", ErrCapability, d)
		}
	}
	return nil
}

func firstWord(s string) string {
	for i, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return s[:i]
		}
	}
	return s
}

// hasSecondStatement reports a ';' outside quotes that is followed by more than space.
func hasSecondStatement(s string) bool {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"' || c == '`':
			quote = c
		case c == ';':
			return strings.TrimSpace(s[i+1:]) != ""
		}
	}
	return false
}

func (g *Guard) inspect(ctx context.Context, stmt string, args []any) (*access, error) {
	g.mu.RLock()
	a := g.cache[stmt]
	g.mu.RUnlock()
	if a != nil {
		return a, nil
	}
	ops, err := g.explain(ctx, stmt, args)
	if err != nil {
		return nil, err
	}
	lower := strings.ToLower(stmt)
	a, err = g.classify(ctx, ops, lower)
	if errors.Is(err, errUnknownRoot) { // the schema changed since we looked
		if err = g.loadSchema(ctx); err == nil {
			a, err = g.classify(ctx, ops, lower)
		}
	}
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	if len(g.cache) >= maxCachedStatements {
		clear(g.cache)
	}
	g.cache[stmt] = a
	g.mu.Unlock()
	return a, nil
}

type op struct {
	opcode     string
	p1, p2, p3 int64
	p4         string
}

func (g *Guard) explain(ctx context.Context, stmt string, args []any) ([]op, error) {
	rows, err := g.db.R.QueryContext(ctx, "EXPLAIN "+stmt, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ops []op
	for rows.Next() {
		var (
			addr, p1, p2, p3, p5 sql.NullInt64
			opcode, p4, comment  sql.NullString
		)
		if err := rows.Scan(&addr, &opcode, &p1, &p2, &p3, &p4, &p5, &comment); err != nil {
			return nil, fmt.Errorf("explain: %w", err)
		}
		ops = append(ops, op{opcode.String, p1.Int64, p2.Int64, p3.Int64, p4.String})
	}
	return ops, rows.Err()
}

var errUnknownRoot = errors.New("unknown root page")

// namedIn returns the names that occur in sql as whole identifiers.
func namedIn(sql string, names []string) []string {
	var out []string
	for _, n := range names {
		for i := 0; ; {
			j := strings.Index(sql[i:], n)
			if j < 0 {
				break
			}
			j += i
			end := j + len(n)
			if (j == 0 || !identChar(sql[j-1])) && (end == len(sql) || !identChar(sql[end])) {
				out = append(out, n)
				break
			}
			i = end
		}
	}
	return out
}

func identChar(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

func (g *Guard) classify(ctx context.Context, ops []op, lowerSQL string) (*access, error) {
	g.mu.RLock()
	loaded := g.roots != nil
	g.mu.RUnlock()
	if !loaded {
		if err := g.loadSchema(ctx); err != nil {
			return nil, err
		}
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	a := &access{direct: map[string]bool{}}
	for _, t := range namedIn(lowerSQL, g.tables) {
		a.direct[t] = true
	}
	cursors := map[int64]int64{} // cursor → root page of a table b-tree
	reads, writes := map[string]bool{}, map[string]bool{}
	for _, o := range ops {
		switch o.opcode {
		case "OpenRead", "OpenWrite", "ReopenIdx":
			t, ok := g.roots[o.p2]
			if !ok {
				return nil, errUnknownRoot
			}
			if o.opcode == "OpenWrite" {
				writes[t] = true
			} else {
				reads[t] = true
			}
			if g.isTable[o.p2] {
				cursors[o.p1] = o.p2
			} else {
				delete(cursors, o.p1)
			}
		case "VOpen":
			// A virtual table reads its shadow tables inside its own code, out of
			// EXPLAIN's sight: charge every virtual table the statement names.
			if !a.vtabsNamed {
				a.vtabsNamed = true
				a.reads = append(a.reads, namedIn(lowerSQL, g.vtabs)...)
			}
		case "Column":
			if root, ok := cursors[o.p1]; ok {
				t := g.roots[root]
				if g.secrets[t][o.p2] {
					a.secret = t + "." + secretName(t, o.p2)
				}
			}
		}
	}
	for _, t := range a.reads {
		reads[t] = true
	}
	for w := range maps.Clone(writes) {
		for _, related := range g.fks[w] {
			if related != w && !a.direct[related] {
				delete(reads, related)  // foreign key enforcement
				delete(writes, related) // ON DELETE CASCADE
			}
		}
		for _, t := range g.trig[w] {
			if t != w {
				if !a.direct[t] {
					delete(reads, t) // trigger programs
					delete(writes, t)
				}
			}
		}
	}
	a.reads = a.reads[:0]
	for t := range reads {
		if !writes[t] {
			a.reads = append(a.reads, t)
		}
	}
	for t := range writes {
		a.writes = append(a.writes, t)
	}
	slices.Sort(a.reads)
	slices.Sort(a.writes)
	return a, nil
}

func secretName(table string, idx int64) string {
	return secretColumns[table][0] + fmt.Sprintf("(#%d)", idx)
}

func (g *Guard) loadSchema(ctx context.Context) error {
	rows, err := g.db.R.QueryContext(ctx, `SELECT type, tbl_name, rootpage, coalesce(sql, '') FROM sqlite_schema`)
	if err != nil {
		return fmt.Errorf("read schema: %w", err)
	}
	roots, isTable := map[int64]string{1: "sqlite_schema"}, map[int64]bool{1: true}
	var vtabs, tables []string
	triggers := map[string][]string{} // table → trigger bodies
	for rows.Next() {
		var typ, tbl, ddl string
		var root sql.NullInt64
		if err := rows.Scan(&typ, &tbl, &root, &ddl); err != nil {
			rows.Close()
			return err
		}
		if typ == "trigger" {
			triggers[tbl] = append(triggers[tbl], strings.ToLower(ddl))
		}
		if typ == "table" {
			tables = append(tables, strings.ToLower(tbl))
		}
		if root.Int64 > 0 {
			roots[root.Int64] = tbl
			isTable[root.Int64] = typ == "table"
		} else if typ == "table" && strings.HasPrefix(strings.ToUpper(ddl), "CREATE VIRTUAL TABLE") {
			vtabs = append(vtabs, strings.ToLower(tbl))
		}
	}
	rows.Close()
	trig := map[string][]string{}
	for tbl, bodies := range triggers {
		for _, body := range bodies {
			trig[tbl] = append(trig[tbl], namedIn(body, tables)...)
		}
	}
	fks := map[string][]string{}
	frows, err := g.db.R.QueryContext(ctx, `SELECT m.name, p."table" FROM sqlite_schema m, pragma_foreign_key_list(m.name) p WHERE m.type = 'table'`)
	if err != nil {
		return fmt.Errorf("read foreign keys: %w", err)
	}
	for frows.Next() {
		var child, parent string
		if err := frows.Scan(&child, &parent); err != nil {
			frows.Close()
			return err
		}
		fks[child] = append(fks[child], parent)
		fks[parent] = append(fks[parent], child)
	}
	frows.Close()
	secrets := map[string]map[int64]bool{}
	for table, cols := range secretColumns {
		crow, err := g.db.R.QueryContext(ctx, `SELECT cid, name FROM pragma_table_info(?)`, table)
		if err != nil {
			return err
		}
		for crow.Next() {
			var cid int64
			var name string
			if err := crow.Scan(&cid, &name); err != nil {
				crow.Close()
				return err
			}
			for _, c := range cols {
				if c == name {
					if secrets[table] == nil {
						secrets[table] = map[int64]bool{}
					}
					secrets[table][cid] = true
				}
			}
		}
		crow.Close()
	}
	g.mu.Lock()
	g.roots, g.isTable, g.secrets, g.vtabs, g.fks, g.trig, g.tables = roots, isTable, secrets, vtabs, fks, trig, tables
	g.mu.Unlock()
	return nil
}
