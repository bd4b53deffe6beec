package search

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/mysharpjob/sharpjob/internal/testenv"
	"github.com/mysharpjob/sharpjob/store"
)

func TestMeiliTypoTolerance(t *testing.T) {
	meili := testenv.StartMeili(t)
	f := newFixture(t, func(t *testing.T, db *store.DB) Engine { return mustMeili(t, meili.URL, "typo_") })
	for _, c := range []struct {
		q    string
		want []int64
	}{
		{"plumbng", []int64{f.ada, f.chidi, f.emeka, f.funmi}}, // one letter missing
		{"elecrtical", []int64{f.bola}},                        // two letters swapped
		{"carpentr", []int64{f.dayo}},                          // prefix
		{"Adeyemmi", []int64{f.bola}},                          // doubled letter in a name
	} {
		r := f.artisans(t, ArtisanQuery{Q: c.q, PerPage: 10})
		wantIDs(t, "q="+c.q, sorted(artisanIDs(r)), sorted(c.want))
	}
	s, err := f.engine.Suggest(context.Background(), "plumbimg", 8)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(s, Suggestion{Text: "plumbing", Kind: "skill"}) {
		t.Errorf("suggest(plumbimg) = %v, want the skill plumbing", s)
	}
	// The embedded engine has no typo tolerance: the same misspelling finds nothing there.
	db := mustDB(t)
	mustArtisan(t, db, artisanFixture{Name: "Ada", Skills: []string{"plumbing"}})
	emb := NewEmbedded(db)
	mustDrain(t, db, emb)
	if r, err := emb.SearchArtisans(context.Background(), ArtisanQuery{Q: "plumbng"}); err != nil || r.Total != 0 {
		t.Errorf("embedded q=plumbng: total %d, %v; documented as no typo tolerance", r.Total, err)
	}
}

// A task Meilisearch accepts but then fails is an error: WaitForTask itself
// reports a failed task without one.
func TestMeiliFailedTaskIsAnError(t *testing.T) {
	meili := testenv.StartMeili(t)
	engine := NewMeili(MeiliConfig{URL: meili.URL, Key: testenv.MeiliKey, Prefix: "never_set_up_"})
	defer engine.Close()
	err := engine.Delete(context.Background(), Artisans, []int64{1})
	var te *taskError
	if !errors.As(err, &te) || te.status != "failed" || te.code != "index_not_found" || errors.Is(err, ErrUnavailable) {
		t.Fatalf("delete from a missing index: err = %v; want a failed task (index_not_found), not ErrUnavailable", err)
	}
	bad := NewMeili(MeiliConfig{URL: meili.URL, Key: "wrong-key"})
	defer bad.Close()
	if _, err := bad.Setup(context.Background()); err == nil || errors.Is(err, ErrUnavailable) {
		t.Errorf("wrong key: err = %v; want a non-retryable error", err)
	}
	meili.Stop()
	if err := engine.Delete(context.Background(), Artisans, []int64{1}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("server down: err = %v; want ErrUnavailable", err)
	}
}

// The outbox fault test: Meilisearch stops, writes keep succeeding and queue up;
// when it comes back every write is searchable exactly once, in its final state.
func TestOutboxSurvivesMeiliOutage(t *testing.T) {
	meili := testenv.StartMeili(t)
	db := mustDB(t)
	engine := mustMeili(t, meili.URL, "fault_")
	s := NewSyncer(db, engine, nil)
	s.MinBackoff, s.MaxBackoff, s.Poll = 50*time.Millisecond, 300*time.Millisecond, 50*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runDone := make(chan error, 1)
	go func() { runDone <- s.Run(ctx) }()

	client := mustUser(t, db, "Client", "client")
	before := mustArtisan(t, db, artisanFixture{Name: "Before Outage", Skills: []string{"welding"}, Rating: 1, Lat: ptr(6.5), Lng: ptr(3.4)})
	waitPending(t, s, 0, 10*time.Second)

	meili.Stop()
	// Searches fail soft while it is down: 503 with Retry-After, not 500.
	var hctx fasthttp.RequestCtx
	hctx.Request.SetRequestURI("/api/search/artisans?q=welding")
	NewHTTP(engine, db, nil).Handle(&hctx, guest)
	if hctx.Response.StatusCode() != 503 || len(hctx.Response.Header.Peek("Retry-After")) == 0 {
		t.Errorf("search while down: %d %s", hctx.Response.StatusCode(), hctx.Response.Body())
	}
	var artisans, jobs []int64
	for i := range 40 {
		lat := 6.5 + float64(i)/100
		artisans = append(artisans, mustArtisan(t, db, artisanFixture{Name: fmt.Sprintf("Outage%d Welder", i), Skills: []string{"welding"}, Rating: 3, Lat: &lat, Lng: ptr(3.4)}))
		jobs = append(jobs, mustJob(t, db, jobFixture{Client: client, Title: fmt.Sprintf("Outagejob%d gate", i), Category: "welding", Skills: []string{"welding"}, Budget: 100000, Lat: lat, Lng: 3.4}))
	}
	// Several versions of the same documents while down: only the last may show.
	for v := 1; v <= 3; v++ {
		if _, err := db.W.Exec(`UPDATE artisan_profiles SET rating = ? WHERE user_id = ?`, float64(v), before); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range artisans[:10] {
		if _, err := db.W.Exec(`UPDATE artisan_profiles SET rating = 4.5 WHERE user_id = ?`, id); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range jobs[:5] {
		if _, err := db.W.Exec(`DELETE FROM jobs WHERE id = ?`, id); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(500 * time.Millisecond) // let the drainer fail a few times
	lag, err := s.Lag(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// 40 + 40 inserts, 3 + 10 updates, 5 deletes
	if lag.Pending != 98 || lag.LastError == "" || lag.OldestAge <= 0 {
		t.Fatalf("while down: lag %+v; want 98 pending with an error", lag)
	}
	var attempts int
	if err := db.R.QueryRow(`SELECT max(attempts) FROM search_outbox WHERE done_at IS NULL`).Scan(&attempts); err != nil || attempts < 2 {
		t.Errorf("max attempts while down = %d, %v; want retries", attempts, err)
	}

	meili.Restart(t, "/health")
	s.Notify()
	waitPending(t, s, 0, 30*time.Second)

	c := context.Background()
	// Every artisan written exactly once, in its final state.
	r, err := engine.SearchArtisans(c, ArtisanQuery{Skills: []string{"welding"}, PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "welders", sorted(artisanIDs(r)), sorted(append([]int64{before}, artisans...)))
	if r.Total != 41 {
		t.Errorf("welders total = %d, want 41", r.Total)
	}
	rating := map[int64]float64{}
	for _, h := range r.Hits {
		rating[h.ID] = h.Rating
	}
	for i, id := range artisans {
		want := 3.0
		if i < 10 {
			want = 4.5
		}
		if rating[id] != want {
			t.Errorf("artisan %d: rating %v, want %v", i, rating[id], want)
		}
	}
	if rating[before] != 3 {
		t.Errorf("updated thrice while down: rating %v, want the last value 3", rating[before])
	}
	j, err := engine.SearchJobs(c, JobQuery{Skills: []string{"welding"}, PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "jobs (5 deleted while down)", sorted(jobIDs(j)), sorted(jobs[5:]))
	if j.Total != 35 {
		t.Errorf("jobs total = %d, want 35", j.Total)
	}
	// A unique word finds its one document.
	r, err = engine.SearchArtisans(c, ArtisanQuery{Q: "Outage7 Welder", PerPage: 100})
	if err != nil || !slices.Contains(artisanIDs(r), artisans[7]) {
		t.Errorf("q=Outage7: %v %v", artisanIDs(r), err)
	}
	for index, want := range map[Index]int{Artisans: 41, Jobs: 35} {
		if n, err := engine.Count(c, index); err != nil || n != want {
			t.Errorf("Count(%s) = %d, %v; want %d", index, n, err, want)
		}
	}
	cancel()
	if err := <-runDone; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v, want context.Canceled", err)
	}
}

func waitPending(t *testing.T, s *Syncer, want int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		lag, err := s.Lag(context.Background())
		if err == nil && lag.Pending == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox pending = %d (err %v, last error %q), want %d within %s", lag.Pending, err, lag.LastError, want, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A settings change on an index that holds documents is applied by building a
// fresh index and swapping it in: Setup reports the index stale without touching
// it, Prepare rebuilds, and searches work before, during and after.
func TestMeiliSettingsChangeRebuildsAndSwaps(t *testing.T) {
	meili := testenv.StartMeili(t)
	f := newFixture(t, func(t *testing.T, db *store.DB) Engine { return mustMeili(t, meili.URL, "settings_") })
	m := f.engine.(*Meili)
	ctx := context.Background()
	// Simulate an index built by an older release: no "rating" sort.
	old := *meiliSettings[Artisans]
	old.SortableAttributes = []string{"_geo", "hourly_rate", "id"}
	info, err := m.client.Index(m.uid(Artisans)).UpdateSettings(ctx, &old)
	if err := m.wait(ctx, "old settings", info, err); err != nil {
		t.Fatal(err)
	}
	if _, err := m.SearchArtisans(ctx, ArtisanQuery{Sort: SortRating}); err == nil {
		t.Fatal("rating sort worked on the old settings; the test proves nothing")
	}
	stale, err := m.Setup(ctx)
	if err != nil || !slices.Equal(stale, []Index{Artisans}) {
		t.Fatalf("Setup = %v, %v; want artisans stale", stale, err)
	}
	if n, _ := m.Count(ctx, Artisans); n != 6 {
		t.Fatalf("Setup touched the live index: %d docs", n)
	}
	searchDone := make(chan error, 1)
	stop := make(chan struct{})
	go func() { // searches keep working throughout
		for {
			select {
			case <-stop:
				searchDone <- nil
				return
			default:
			}
			r, err := m.SearchArtisans(ctx, ArtisanQuery{Q: "plumbing", PerPage: 10})
			if err != nil || r.Total != 4 {
				searchDone <- fmt.Errorf("search during the rebuild: total %d, %v", r.Total, err)
				return
			}
		}
	}()
	if err := Prepare(ctx, f.db, m, nil); err != nil {
		t.Fatal(err)
	}
	close(stop)
	if err := <-searchDone; err != nil {
		t.Error(err)
	}
	wantIDs(t, "rating sort after the swap", artisanIDs(f.artisans(t, ArtisanQuery{Sort: SortRating, PerPage: 10})),
		[]int64{f.funmi, f.dayo, f.ada, f.emeka, f.bola, f.chidi})
	if stale, err := m.Setup(ctx); err != nil || len(stale) != 0 {
		t.Errorf("Setup after Prepare = %v, %v; want nothing stale", stale, err)
	}
}
