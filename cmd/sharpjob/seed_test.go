package main

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/mysharpjob/sharpjob/internal/testenv"
	"github.com/mysharpjob/sharpjob/store"
)

// TestSeedGoesThroughThePlugins seeds a small data set and checks it landed with the
// plugins' normalisation (lower-cased skills) and the search outbox filled by the triggers.
func TestSeedGoesThroughThePlugins(t *testing.T) {
	dir := t.TempDir()
	plugins := filepath.Join(dir, "plugins")
	testenv.BuildPlugin(t, "./plugins/jobs/wasm", "plugins/jobs/manifest.json", plugins)
	testenv.BuildPlugin(t, "./plugins/profiles/wasm", "plugins/profiles/manifest.json", plugins)
	t.Setenv("SHARPJOB_DATA_DIR", dir)
	t.Setenv("SHARPJOB_PLUGIN_DIR", plugins)
	t.Setenv("DATABASE_URL", "")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := seed(context.Background(), log, []string{"--artisans", "12", "--jobs", "9", "--seed", "7"}); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), store.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func(q string) int {
		var n int
		if err := db.R.QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(`SELECT count(*) FROM users WHERE role = 'client'`); n != 2 {
		t.Fatalf("clients = %d, want 9/8+1 = 2", n)
	}
	if n := count(`SELECT count(*) FROM artisan_profiles WHERE json_array_length(skills) > 0 AND lat IS NOT NULL`); n != 12 {
		t.Fatalf("complete profiles = %d, want 12", n)
	}
	if n := count(`SELECT count(*) FROM jobs WHERE status = 'open' AND budget > 0`); n != 9 {
		t.Fatalf("jobs = %d, want 9", n)
	}
	if n := count(`SELECT count(*) FROM search_outbox`); n != 21 {
		t.Fatalf("outbox rows = %d, want one per profile and job (21)", n)
	}
	if n := count(`SELECT count(*) FROM users WHERE password_hash NOT LIKE '$2a$04$%'`); n != 0 {
		t.Fatalf("%d seeded users without a bcrypt hash", n)
	}
}
