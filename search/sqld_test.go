package search

import (
	"context"
	"testing"

	"github.com/mysharpjob/sharpjob/internal/testenv"
	"github.com/mysharpjob/sharpjob/store"
)

// The embedded engine also runs on a remote libSQL server (sqld): migration 0002's
// FTS5 tables, the math functions and json_each must all be there.
func TestEmbeddedEngineOnSQLD(t *testing.T) {
	ctx := context.Background()
	srv := testenv.StartSQLD(t)
	db, err := store.Open(ctx, store.Config{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	near := mustArtisan(t, db, artisanFixture{Name: "Near Plumber", Skills: []string{"plumbing"}, Categories: []string{"plumbing"}, Lat: ptr(6.5), Lng: ptr(3.4)})
	far := mustArtisan(t, db, artisanFixture{Name: "Far Plumber", Skills: []string{"plumbing"}, Categories: []string{"plumbing"}, Lat: ptr(6.7), Lng: ptr(3.4)})
	engine := NewEmbedded(db)
	if _, err := engine.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	if n := mustDrain(t, db, engine); n != 2 {
		t.Fatalf("drained %d", n)
	}
	r, err := engine.SearchArtisans(ctx, ArtisanQuery{Q: "plumb", Point: &lagos, RadiusKm: 30, Sort: SortDistance, Facets: true})
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "sqld", artisanIDs(r), []int64{near, far})
	if len(r.Hits) == 2 {
		wantKm(t, "far", r.Hits[1].DistanceKm, 0.2*kmPerDegree)
	}
	if r.Facets["skills"]["plumbing"] != 2 {
		t.Errorf("facets %v", r.Facets)
	}
	if err := Reindex(ctx, db, engine, nil); err != nil {
		t.Fatal(err)
	}
	if n, _ := engine.Count(ctx, Artisans); n != 2 {
		t.Errorf("after reindex: %d artisans", n)
	}
}
