package search

import (
	"context"
	"fmt"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/mysharpjob/sharpjob/api"
	"github.com/mysharpjob/sharpjob/search/synth"
)

// End-to-end figures (100 000 artisans against Meilisearch) come from
// cmd/searchbench; these pin the in-process costs.

func BenchmarkHaversineKm(b *testing.B) {
	p, q := Point{6.5244, 3.3792}, Point{7.3775, 3.9470}
	for b.Loop() {
		HaversineKm(p, q)
	}
}

func BenchmarkScoreMatch(b *testing.B) {
	job := JobDoc{Skills: []string{"plumbing", "pipe fitting", "drain cleaning"}, Category: "plumbing", Lat: 6.5, Lng: 3.4}
	a := ArtisanDoc{Skills: []string{"plumbing", "drain cleaning", "tiling"}, Categories: []string{"plumbing"}, Lat: ptr(6.55), Lng: ptr(3.41),
		Rating: 4.6, ReviewCount: 25, Verified: true, Availability: "available"}
	for b.Loop() {
		ScoreMatch(job, a, 50)
	}
}

// BenchmarkEmbeddedHTTP measures the artisans endpoint on the embedded engine with
// 10 000 synthetic artisans: geo radius + text + filter + facets.
func BenchmarkEmbeddedHTTP(b *testing.B) {
	ctx := context.Background()
	db := mustDB(b)
	if err := synth.Generate(ctx, db, synth.Options{Artisans: 10000, Jobs: 100, Seed: 3}, nil); err != nil {
		b.Fatal(err)
	}
	e := NewEmbedded(db)
	if err := Reindex(ctx, db, e, nil); err != nil {
		b.Fatal(err)
	}
	h := NewHTTP(e, db, nil)
	words := []string{"plumbing", "wiring", "tiling", "painting", "welding"}
	b.ResetTimer()
	i := 0
	for b.Loop() {
		var rc fasthttp.RequestCtx
		rc.Request.SetRequestURI(fmt.Sprintf("/api/search/artisans?q=%s&lat=6.52&lng=3.38&radius_km=10&min_rating=4", words[i%len(words)]))
		h.Handle(&rc, api.Principal{})
		if rc.Response.StatusCode() != 200 {
			b.Fatal(string(rc.Response.Body()))
		}
		i++
	}
}
