package store_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mysharpjob/sharpjob/internal/testenv"
	"github.com/mysharpjob/sharpjob/store"
)

// modes opens one database per mode the tests cover: the embedded file and a real sqld.
func modes(t *testing.T) map[string]func(t *testing.T) *store.DB {
	return map[string]func(t *testing.T) *store.DB{
		"embedded": func(t *testing.T) *store.DB {
			if store.Driver == "libsql-client-go" {
				t.Skip("the cgo-free build (tag libsqlclient) has no embedded mode")
			}
			return mustOpen(t, store.Config{URL: "file:" + filepath.Join(t.TempDir(), "t.db")})
		},
		"sqld": func(t *testing.T) *store.DB {
			return mustOpen(t, store.Config{URL: testenv.StartSQLD(t).URL})
		},
	}
}

func mustOpen(t *testing.T, cfg store.Config) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestMigrateAppliesOnceAndTriggersWriteOutbox(t *testing.T) {
	for name, open := range modes(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := open(t)
			applied, err := db.Migrate(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(applied) == 0 {
				t.Fatal("first Migrate applied nothing")
			}
			again, err := db.Migrate(ctx)
			if err != nil || len(again) != 0 {
				t.Fatalf("second Migrate = %v, %v; want nothing applied", again, err)
			}
			var uid int64
			if err := db.W.QueryRowContext(ctx, `INSERT INTO users(name,email,password_hash,role) VALUES (?,?,?,?) RETURNING id`,
				"Ada", "ada@example.com", "x", "client").Scan(&uid); err != nil {
				t.Fatal(err)
			}
			if _, err := db.W.ExecContext(ctx, `INSERT INTO jobs(client_id,title,description,category,budget,lat,lng) VALUES (?,?,?,?,?,?,?)`,
				uid, "Fix sink", "Leaking", "plumbing", 500000, 6.5, 3.4); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := db.R.QueryRowContext(ctx, `SELECT count(*) FROM search_outbox WHERE index_name='jobs' AND op='upsert'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Fatalf("outbox rows after a job insert = %d, want 1", n)
			}
			// Constraints hold in every mode.
			if _, err := db.W.ExecContext(ctx, `INSERT INTO jobs(client_id,title,description,category,budget,lat,lng) VALUES (?,?,?,?,?,?,?)`,
				uid, "Bad", "budget", "x", -1, 0, 0); err == nil {
				t.Fatal("negative budget accepted")
			}
		})
	}
}

func TestSplitStatementsKeepsTriggersWhole(t *testing.T) {
	got := store.SplitStatements("CREATE TABLE a(x); -- note\nCREATE TRIGGER t AFTER INSERT ON a BEGIN\n  INSERT INTO b VALUES (1);\n  INSERT INTO b VALUES (2);\nEND;\nSELECT 1;")
	if len(got) != 3 {
		t.Fatalf("got %d statements: %q", len(got), got)
	}
	if want := "END"; got[1][len(got[1])-3:] != want {
		t.Fatalf("trigger cut short: %q", got[1])
	}
}

func TestEmbeddedModeNeedsCgoBuild(t *testing.T) {
	_, err := store.Open(context.Background(), store.Config{URL: "file:" + filepath.Join(t.TempDir(), "t.db")})
	if store.Driver == "libsql-client-go" {
		if err == nil || !strings.Contains(err.Error(), "remote libSQL servers only") {
			t.Fatalf("cgo-free build opened a file: %v", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestBadURLIsAClearErrorWithoutSecrets(t *testing.T) {
	_, err := store.Open(context.Background(), store.Config{URL: "postgres://user:hunter2@db/x?authToken=s3cret"})
	if err == nil || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error %v: want a refusal that does not repeat the credentials", err)
	}
}

func TestHashInPathIsRefused(t *testing.T) {
	_, err := store.Open(context.Background(), store.Config{URL: "file:" + filepath.Join(t.TempDir(), "a#b", "t.db")})
	if err == nil || !strings.Contains(err.Error(), "URL fragment") {
		t.Fatalf("a path with '#': %v", err)
	}
}
