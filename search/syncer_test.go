package search

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// flakyEngine fails upserts that contain a poisoned artisan id, and everything
// while down is set.
type flakyEngine struct {
	Engine
	poison int64
	down   bool
	calls  int
}

func (f *flakyEngine) Upsert(ctx context.Context, b Batch) error {
	f.calls++
	if f.down {
		return ErrUnavailable
	}
	for _, a := range b.Artisans {
		if a.ID == f.poison {
			return errors.New("search: document rejected")
		}
	}
	return f.Engine.Upsert(ctx, b)
}

func TestSyncerIsolatesARejectedDocument(t *testing.T) {
	db := mustDB(t)
	good1 := mustArtisan(t, db, artisanFixture{Name: "Good One", Skills: []string{"tiling"}})
	bad := mustArtisan(t, db, artisanFixture{Name: "Bad One", Skills: []string{"tiling"}})
	good2 := mustArtisan(t, db, artisanFixture{Name: "Good Two", Skills: []string{"tiling"}})
	engine := &flakyEngine{Engine: NewEmbedded(db), poison: bad}
	s := NewSyncer(db, engine, nil)
	n, err := s.DrainOnce(context.Background())
	if n != 2 || err == nil {
		t.Fatalf("DrainOnce = %d, %v; want 2 rows done and the rejection reported", n, err)
	}
	var pending int
	var lastErr, next string
	if err := db.R.QueryRow(`SELECT count(*), max(last_error), max(next_attempt_at) FROM search_outbox WHERE done_at IS NULL AND doc_id = ?`, bad).Scan(&pending, &lastErr, &next); err != nil {
		t.Fatal(err)
	}
	if pending != 1 || !strings.Contains(lastErr, "rejected") || next <= nowText() {
		t.Errorf("bad row: pending %d, last_error %q, next attempt %s", pending, lastErr, next)
	}
	r, _ := engine.SearchArtisans(context.Background(), ArtisanQuery{Q: "tiling"})
	wantIDs(t, "indexed", sorted(artisanIDs(r)), sorted([]int64{good1, good2}))
	// Not due yet: nothing happens.
	if n, err := s.DrainOnce(context.Background()); n != 0 || err != nil {
		t.Errorf("before the backoff: DrainOnce = %d, %v", n, err)
	}
	engine.poison = 0
	time.Sleep(s.MinBackoff + 50*time.Millisecond)
	if n, err := s.DrainOnce(context.Background()); n != 1 || err != nil {
		t.Errorf("after the backoff: DrainOnce = %d, %v; want 1", n, err)
	}
	lag, _ := s.Lag(context.Background())
	if lag.Pending != 0 || lag.LastError != "" {
		t.Errorf("lag = %+v", lag)
	}
}

func TestSyncerCoalescesAndBacksOff(t *testing.T) {
	db := mustDB(t)
	id := mustArtisan(t, db, artisanFixture{Name: "Tunde", Skills: []string{"roofing"}})
	for i := range 20 {
		if _, err := db.W.Exec(`UPDATE artisan_profiles SET review_count = ? WHERE user_id = ?`, i+1, id); err != nil {
			t.Fatal(err)
		}
	}
	engine := &flakyEngine{Engine: NewEmbedded(db), down: true}
	s := NewSyncer(db, engine, nil)
	s.MinBackoff, s.MaxBackoff = 10*time.Millisecond, 40*time.Millisecond
	for range 4 {
		if _, err := s.DrainOnce(context.Background()); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("down: err = %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var attempts int
	var next string
	if err := db.R.QueryRow(`SELECT min(attempts), max(next_attempt_at) FROM search_outbox`).Scan(&attempts, &next); err != nil {
		t.Fatal(err)
	}
	if attempts != 4 {
		t.Errorf("attempts = %d, want 4", attempts)
	}
	if d := s.backoff(10); d != 40*time.Millisecond {
		t.Errorf("backoff(10) = %s, want the 40ms cap", d)
	}
	engine.down = false
	engine.calls = 0
	if n, err := s.DrainOnce(context.Background()); n != 21 || err != nil {
		t.Fatalf("up again: DrainOnce = %d, %v; want all 21 rows", n, err)
	}
	if engine.calls != 1 {
		t.Errorf("21 rows for one document took %d upserts, want 1 (coalesced)", engine.calls)
	}
	r, _ := engine.SearchArtisans(context.Background(), ArtisanQuery{Q: "Tunde"})
	if len(r.Hits) != 1 || r.Hits[0].ReviewCount != 20 {
		t.Errorf("final state: %+v", r.Hits)
	}
}

func TestEnqueueInsideATransaction(t *testing.T) {
	ctx := context.Background()
	db := mustDB(t)
	id := mustArtisan(t, db, artisanFixture{Name: "Kemi", Skills: []string{"tiling"}})
	engine := NewEmbedded(db)
	s := NewSyncer(db, engine, nil)
	mustDrain(t, db, engine)
	tx, err := db.W.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := Enqueue(ctx, tx, Artisans, id, "upsert"); err != nil {
		t.Fatal(err)
	}
	if err := Enqueue(ctx, tx, "users", id, "upsert"); err == nil {
		t.Error("unknown index accepted")
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DrainOnce(ctx); n != 1 || err != nil {
		t.Errorf("DrainOnce = %d, %v; want the enqueued row", n, err)
	}
	lag, _ := s.Lag(ctx)
	if lag.Synced != 1 || lag.Pending != 0 {
		t.Errorf("lag = %+v", lag)
	}
}
