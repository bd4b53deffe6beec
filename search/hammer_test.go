package search

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Searches, matches and suggestions from several goroutines while a writer and
// the Syncer change the index underneath: no errors, no 5xx, totals never above
// what exists. Run with -race.
func TestHammerEmbedded(t *testing.T) {
	f := newFixture(t, engines()["embedded"](t))
	h := NewHTTP(f.engine, f.db, nil)
	s := NewSyncer(f.db, f.engine, nil)
	s.Poll = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.Run(ctx) })
	var writes atomic.Int64
	wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			lat := 6.5 + float64(i%50)/100
			mustArtisan(t, f.db, artisanFixture{Name: fmt.Sprintf("Hammer %d", i), Skills: []string{"plumbing"}, Categories: []string{"plumbing"}, Lat: &lat, Lng: ptr(3.4), Rating: 4})
			if _, err := f.db.W.Exec(`UPDATE artisan_profiles SET rating = ? WHERE user_id = ?`, float64(i%5), f.ada); err != nil {
				t.Error(err)
				return
			}
			s.Notify()
			writes.Add(1)
			time.Sleep(2 * time.Millisecond)
		}
	})
	client := guest
	client.UserID, client.Role = f.client, "client"
	uris := []string{
		"/api/search/artisans?q=plumbing&lat=6.5&lng=3.4&radius_km=50&sort=distance",
		"/api/search/artisans?skills[]=plumbing&min_rating=2&sort=rating&per_page=5&page=2",
		"/api/search/jobs?lat=6.5&lng=3.4&radius_km=30",
		"/api/search/suggest?q=plu",
		fmt.Sprintf("/api/jobs/%d/matches", f.sink),
	}
	var requests atomic.Int64
	for g := range 4 {
		wg.Go(func() {
			for i := g; ctx.Err() == nil; i++ {
				r := serve(h, "GET", uris[i%len(uris)], client)
				if r.status != 200 {
					t.Errorf("%s: %d %s", uris[i%len(uris)], r.status, r.raw)
					return
				}
				if total := r.total(); total > int(writes.Load())+6 {
					t.Errorf("%s: total %d above the %d artisans written", uris[i%len(uris)], total, writes.Load()+6)
					return
				}
				requests.Add(1)
			}
		})
	}
	time.Sleep(1500 * time.Millisecond)
	cancel()
	wg.Wait()
	if requests.Load() < 20 || writes.Load() < 20 {
		t.Fatalf("only %d requests and %d writes ran", requests.Load(), writes.Load())
	}
	mustDrain(t, f.db, f.engine)
	r := f.artisans(t, ArtisanQuery{Skills: []string{"plumbing"}, PerPage: 1})
	if want := int(writes.Load()) + 4; r.Total != want { // ada, chidi, emeka, funmi + the writes
		t.Errorf("after the hammer: %d plumbers indexed, want %d", r.Total, want)
	}
	t.Logf("%d requests, %d writes", requests.Load(), writes.Load())
}
