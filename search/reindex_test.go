package search

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mysharpjob/sharpjob/internal/testenv"
	"github.com/mysharpjob/sharpjob/search/synth"
	"github.com/mysharpjob/sharpjob/store"
)

// Reindex while a writer keeps inserting, updating and deleting, with the Syncer
// running as in production: afterwards the index equals the database, document
// for document.
func TestReindexUnderConcurrentWritesLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	for name, setup := range engines() {
		t.Run(name, func(t *testing.T) {
			factory := setup(t)
			ctx := context.Background()
			db := mustDB(t)
			if err := synth.Generate(ctx, db, synth.Options{Artisans: 1500, Jobs: 800, Seed: 7}, nil); err != nil {
				t.Fatal(err)
			}
			engine := factory(t, db)
			mustDrain(t, db, engine)

			s := NewSyncer(db, engine, nil)
			s.Poll, s.MinBackoff, s.MaxBackoff = 20*time.Millisecond, 20*time.Millisecond, 100*time.Millisecond
			runCtx, stopRun := context.WithCancel(ctx)
			var wg sync.WaitGroup
			wg.Go(func() { _ = s.Run(runCtx) })

			var (
				writes     atomic.Int64
				reindexing atomic.Bool
				during     atomic.Int64
				stop       = make(chan struct{})
			)
			writerErr := make(chan error, 1)
			go func() { writerErr <- writeLoop(db, stop, &writes, &reindexing, &during) }()

			old := ReindexBatch
			ReindexBatch = 250
			defer func() { ReindexBatch = old }()
			time.Sleep(100 * time.Millisecond)
			reindexing.Store(true)
			var progressCalls int
			if err := Reindex(ctx, db, engine, func(done, total int) { progressCalls++ }); err != nil {
				t.Fatal(err)
			}
			reindexing.Store(false)
			time.Sleep(100 * time.Millisecond)
			close(stop)
			if err := <-writerErr; err != nil {
				t.Fatal(err)
			}
			// The embedded engine rebuilds in one write transaction, so writers queue
			// behind it (one blocked writer is all this loop can show); Meilisearch
			// takes writes throughout.
			if minDuring := map[string]int64{"embedded": 1, "meilisearch": 20}[name]; during.Load() < minDuring {
				t.Fatalf("only %d writes landed during the reindex; the test proves nothing", during.Load())
			}
			s.Notify()
			waitPending(t, s, 0, 60*time.Second)
			stopRun()
			wg.Wait()
			if progressCalls < 5 {
				t.Errorf("progress called %d times", progressCalls)
			}
			t.Logf("%d writes, %d during the reindex", writes.Load(), during.Load())
			assertIndexMatchesDB(t, db, engine)
		})
	}
}

// writeLoop (one writer) inserts artisans and jobs, updates ratings and statuses and deletes
// jobs until stop is closed.
func writeLoop(db *store.DB, stop <-chan struct{}, writes *atomic.Int64, reindexing *atomic.Bool, during *atomic.Int64) error {
	rng := rand.New(rand.NewPCG(1, 2))
	var client int64
	if err := db.W.QueryRow(`SELECT id FROM users WHERE role = 'client' LIMIT 1`).Scan(&client); err != nil {
		return err
	}
	for i := 0; ; i++ {
		select {
		case <-stop:
			return nil
		default:
		}
		started := reindexing.Load()
		var err error
		switch i % 5 {
		case 0:
			var id int64
			if err = db.W.QueryRow(`INSERT INTO users(name, email, password_hash, role) VALUES (?,?,?,?) RETURNING id`,
				fmt.Sprintf("Writer %d", i), fmt.Sprintf("writer%d@example.com", i), "x", "artisan").Scan(&id); err == nil {
				_, err = db.W.Exec(`INSERT INTO artisan_profiles(user_id, skills, categories, lat, lng, rating) VALUES (?, '["welding"]', '["welding"]', 6.5, 3.4, 4)`, id)
			}
		case 1:
			_, err = db.W.Exec(`UPDATE artisan_profiles SET rating = ? WHERE user_id = (SELECT user_id FROM artisan_profiles ORDER BY random() LIMIT 1)`,
				float64(rng.IntN(50))/10)
		case 2:
			_, err = db.W.Exec(`INSERT INTO jobs(client_id, title, description, category, skills, budget, lat, lng) VALUES (?,?,?,?,?,?,?,?)`,
				client, fmt.Sprintf("Writer job %d", i), "x", "welding", `["welding"]`, 100000, 6.5, 3.4)
		case 3:
			_, err = db.W.Exec(`UPDATE jobs SET status = ? WHERE id = (SELECT id FROM jobs ORDER BY random() LIMIT 1)`,
				[]string{"open", "in_progress", "completed", "cancelled"}[rng.IntN(4)])
		case 4:
			_, err = db.W.Exec(`DELETE FROM jobs WHERE id = (SELECT id FROM jobs ORDER BY random() LIMIT 1)`)
		}
		if err != nil {
			return err
		}
		writes.Add(1)
		if started {
			during.Add(1)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// assertIndexMatchesDB pages through every document of both indexes and compares
// ids, ratings and statuses with the tables.
func assertIndexMatchesDB(t *testing.T, db *store.DB, engine Engine) {
	t.Helper()
	ctx := context.Background()
	wantRating := map[int64]float64{}
	rows, err := db.R.Query(`SELECT user_id, rating FROM artisan_profiles`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var r float64
		rows.Scan(&id, &r)
		wantRating[id] = r
	}
	rows.Close()
	gotRating := map[int64]float64{}
	for page := 1; ; page++ {
		r, err := engine.SearchArtisans(ctx, ArtisanQuery{Sort: SortPrice, Page: page, PerPage: 100})
		if err != nil {
			t.Fatal(err)
		}
		if r.Total != len(wantRating) {
			t.Fatalf("artisans total %d, database has %d", r.Total, len(wantRating))
		}
		for _, h := range r.Hits {
			if _, dup := gotRating[h.ID]; dup {
				t.Fatalf("artisan %d appears twice", h.ID)
			}
			gotRating[h.ID] = h.Rating
		}
		if len(r.Hits) < 100 {
			break
		}
	}
	for id, want := range wantRating {
		if got, ok := gotRating[id]; !ok || got != want {
			t.Errorf("artisan %d: indexed %v (present %v), database %v", id, got, ok, want)
		}
	}
	wantStatus := map[int64]string{}
	rows, err = db.R.Query(`SELECT id, status FROM jobs`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var s string
		rows.Scan(&id, &s)
		wantStatus[id] = s
	}
	rows.Close()
	gotStatus := map[int64]string{}
	for page := 1; ; page++ {
		r, err := engine.SearchJobs(ctx, JobQuery{Sort: SortDate, Page: page, PerPage: 100})
		if err != nil {
			t.Fatal(err)
		}
		if r.Total != len(wantStatus) {
			t.Fatalf("jobs total %d, database has %d", r.Total, len(wantStatus))
		}
		for _, h := range r.Hits {
			gotStatus[h.ID] = h.Status
		}
		if len(r.Hits) < 100 {
			break
		}
	}
	for id, want := range wantStatus {
		if got := gotStatus[id]; got != want {
			t.Errorf("job %d: indexed status %q, database %q", id, got, want)
		}
	}
}

// hookEngine runs hook after a rebuild's fill, before the swap.
type hookEngine struct {
	Engine
	hook func(index Index)
}

func (h *hookEngine) Rebuild(ctx context.Context, index Index, fill func(put func(Batch) error) error) error {
	return h.Engine.Rebuild(ctx, index, func(put func(Batch) error) error {
		err := fill(put)
		if err == nil {
			h.hook(index)
		}
		return err
	})
}

// The deterministic version of the race above: writes land, and are synced into
// the OLD index, after the fill read the table and before the swap. Reindex's
// replay must bring them into the new index. (Meilisearch only: the embedded
// rebuild holds the single write connection, so no write can land in that gap.)
func TestReindexReplaysWritesSyncedDuringTheFill(t *testing.T) {
	meili := testenv.StartMeili(t)
	f := newFixture(t, func(t *testing.T, db *store.DB) Engine { return mustMeili(t, meili.URL, "replay_") })
	ctx := context.Background()
	s := NewSyncer(f.db, f.engine, nil)
	var late int64
	engine := &hookEngine{Engine: f.engine, hook: func(index Index) {
		if index != Artisans {
			return
		}
		late = mustArtisan(t, f.db, artisanFixture{Name: "Latecomer Zanele", Skills: []string{"roofing"}})
		if _, err := f.db.W.Exec(`UPDATE artisan_profiles SET rating = 1.5 WHERE user_id = ?`, f.ada); err != nil {
			t.Error(err)
		}
		if n, err := s.DrainOnce(ctx); n != 2 || err != nil { // into the old index
			t.Errorf("drain during the fill: %d, %v", n, err)
		}
	}}
	if err := Reindex(ctx, f.db, engine, nil); err != nil {
		t.Fatal(err)
	}
	mustDrain(t, f.db, f.engine)
	r := f.artisans(t, ArtisanQuery{Q: "Zanele"})
	wantIDs(t, "written during the fill", artisanIDs(r), []int64{late})
	r = f.artisans(t, ArtisanQuery{Q: "Okafor"})
	if len(r.Hits) != 1 || r.Hits[0].Rating != 1.5 {
		t.Errorf("updated during the fill: %+v", r.Hits)
	}
}
