package search

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/mysharpjob/sharpjob/store"
)

// fixture is the data every contract case starts from: artisans on the meridian
// 3.4°E north of (6.5, 3.4), so their distances from there are k·kmPerDegree·Δlat.
type fixture struct {
	db                            *store.DB
	engine                        Engine
	ada, bola, chidi, dayo, emeka int64 // artisans
	funmi                         int64 // artisan without a location
	client                        int64
	sink, rewire, wardrobe, fence int64 // jobs
	heater                        int64
}

var lagos = Point{6.5, 3.4}

func newFixture(t *testing.T, factory engineFactory) *fixture {
	t.Helper()
	db := mustDB(t)
	f := &fixture{db: db}
	on := func(lat float64) (*float64, *float64) { return ptr(lat), ptr(3.4) }
	lat, lng := on(6.5)
	f.ada = mustArtisan(t, db, artisanFixture{Name: "Ada Okafor", Headline: "Master plumber", Skills: []string{"plumbing", "pipe fitting"}, Categories: []string{"plumbing"},
		Rating: 4.8, Reviews: 30, Rate: 500000, Verified: true, Lat: lat, Lng: lng})
	lat, lng = on(6.6)
	f.bola = mustArtisan(t, db, artisanFixture{Name: "Bola Adeyemi", Headline: "Electrician", Skills: []string{"electrical", "wiring"}, Categories: []string{"electrical"},
		Rating: 4.2, Reviews: 10, Rate: 300000, Lat: lat, Lng: lng})
	lat, lng = on(6.7)
	f.chidi = mustArtisan(t, db, artisanFixture{Name: "Chidi Nwosu", Headline: "Plumbing works", Skills: []string{"plumbing"}, Categories: []string{"plumbing"},
		Rating: 3.9, Reviews: 5, Rate: 200000, Verified: true, Availability: "busy", Lat: lat, Lng: lng})
	lat, lng = on(6.8)
	f.dayo = mustArtisan(t, db, artisanFixture{Name: "Dayo Bello", Headline: "Carpenter and joiner", Skills: []string{"carpentry"}, Categories: []string{"carpentry"},
		Rating: 4.9, Reviews: 50, Rate: 800000, Verified: true, Lat: lat, Lng: lng})
	lat, lng = on(7.5)
	f.emeka = mustArtisan(t, db, artisanFixture{Name: "Emeka Eze", Headline: "Painter", Skills: []string{"painting", "plumbing"}, Categories: []string{"painting"},
		Rating: 4.5, Reviews: 2, Rate: 250000, Availability: "unavailable", Lat: lat, Lng: lng})
	f.funmi = mustArtisan(t, db, artisanFixture{Name: "Funmi Lawal", Headline: "Remote plumbing advice", Skills: []string{"plumbing"}, Categories: []string{"plumbing"},
		Rating: 5.0, Reviews: 1, Rate: 400000})
	f.client = mustUser(t, db, "Kemi Client", "client")
	f.sink = mustJob(t, db, jobFixture{Client: f.client, Title: "Fix leaking kitchen sink", Category: "plumbing", Skills: []string{"plumbing"},
		Budget: 1500000, Lat: 6.5, Lng: 3.4, CreatedAt: "2026-01-01T10:00:00.000Z"})
	f.rewire = mustJob(t, db, jobFixture{Client: f.client, Title: "Rewire three bedroom flat", Category: "electrical", Skills: []string{"electrical", "wiring"},
		Budget: 5000000, Lat: 6.55, Lng: 3.4, CreatedAt: "2026-01-02T10:00:00.000Z"})
	f.wardrobe = mustJob(t, db, jobFixture{Client: f.client, Title: "Build a wardrobe", Category: "carpentry", Skills: []string{"carpentry"},
		Budget: 2000000, Lat: 6.9, Lng: 3.4, CreatedAt: "2026-01-03T10:00:00.000Z"})
	f.fence = mustJob(t, db, jobFixture{Client: f.client, Title: "Paint the fence", Category: "painting", Skills: []string{"painting"},
		Budget: 800000, Lat: 6.6, Lng: 3.4, Status: "completed", CreatedAt: "2026-01-04T10:00:00.000Z"})
	f.heater = mustJob(t, db, jobFixture{Client: f.client, Title: "Install water heater", Category: "plumbing", Skills: []string{"plumbing", "electrical"},
		Budget: 3000000, Lat: 6.65, Lng: 3.4, CreatedAt: "2026-01-05T10:00:00.000Z"})
	f.engine = factory(t, db)
	if n := mustDrain(t, db, f.engine); n != 11 {
		t.Fatalf("drained %d outbox rows, want 11 (6 profiles + 5 jobs)", n)
	}
	return f
}

func artisanIDs(r ArtisanResults) []int64 {
	ids := make([]int64, len(r.Hits))
	for i, h := range r.Hits {
		ids[i] = h.ID
	}
	return ids
}

func jobIDs(r JobResults) []int64 {
	ids := make([]int64, len(r.Hits))
	for i, h := range r.Hits {
		ids[i] = h.ID
	}
	return ids
}

func sorted(ids []int64) []int64 {
	c := slices.Clone(ids)
	slices.Sort(c)
	return c
}

func (f *fixture) artisans(t *testing.T, q ArtisanQuery) ArtisanResults {
	t.Helper()
	r, err := f.engine.SearchArtisans(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (f *fixture) jobs(t *testing.T, q JobQuery) JobResults {
	t.Helper()
	r, err := f.engine.SearchJobs(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func wantIDs(t *testing.T, what string, got, want []int64) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: got ids %v, want %v", what, got, want)
	}
}

func wantKm(t *testing.T, what string, got *float64, want float64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: no distance_km, want %.4f", what, want)
		return
	}
	if math.Abs(*got-want) > 0.002 {
		t.Errorf("%s: distance_km = %.4f, want %.4f (hand-computed)", what, *got, want)
	}
}

// TestContract runs one suite against every engine.
func TestContract(t *testing.T) {
	for name, setup := range engines() {
		t.Run(name, func(t *testing.T) {
			factory := setup(t)
			for _, c := range contractCases {
				t.Run(c.name, func(t *testing.T) { c.run(t, newFixture(t, factory)) })
			}
		})
	}
}

var contractCases = []struct {
	name string
	run  func(t *testing.T, f *fixture)
}{
	{"geo radius sorted by distance", func(t *testing.T, f *fixture) {
		r := f.artisans(t, ArtisanQuery{Point: &lagos, RadiusKm: 25, Sort: SortDistance})
		wantIDs(t, "radius 25 km", artisanIDs(r), []int64{f.ada, f.bola, f.chidi})
		if r.Total != 3 {
			t.Errorf("total = %d, want 3", r.Total)
		}
		for i, want := range []float64{0, 0.1 * kmPerDegree, 0.2 * kmPerDegree} {
			if i < len(r.Hits) {
				wantKm(t, r.Hits[i].Name, r.Hits[i].DistanceKm, want)
			}
		}
		// 11.12 km is inside 11.2 and outside 11.0.
		wantIDs(t, "radius 11.2 km", artisanIDs(f.artisans(t, ArtisanQuery{Point: &lagos, RadiusKm: 11.2, Sort: SortDistance})), []int64{f.ada, f.bola})
		wantIDs(t, "radius 11.0 km", artisanIDs(f.artisans(t, ArtisanQuery{Point: &lagos, RadiusKm: 11.0, Sort: SortDistance})), []int64{f.ada})
	}},
	{"distance sort without radius puts unlocated last", func(t *testing.T, f *fixture) {
		p := Point{7.01, 3.4} // between dayo and emeka, no ties
		r := f.artisans(t, ArtisanQuery{Point: &p, Sort: SortDistance, PerPage: 10})
		wantIDs(t, "from 7.01N", artisanIDs(r), []int64{f.dayo, f.chidi, f.bola, f.emeka, f.ada, f.funmi})
		if r.Total != 6 {
			t.Errorf("total = %d, want 6", r.Total)
		}
		if len(r.Hits) == 6 {
			wantKm(t, "dayo", r.Hits[0].DistanceKm, 0.21*kmPerDegree)
			wantKm(t, "emeka", r.Hits[3].DistanceKm, 0.49*kmPerDegree)
			wantKm(t, "ada", r.Hits[4].DistanceKm, 0.51*kmPerDegree)
			if r.Hits[5].DistanceKm != nil {
				t.Errorf("unlocated artisan has distance_km %v", *r.Hits[5].DistanceKm)
			}
		}
		// Off the meridian: Lagos (6.5244, 3.3792) to Ibadan (7.3775, 3.9470) is 113.694 km.
		ibadan := Point{7.3775, 3.9470}
		r = f.artisans(t, ArtisanQuery{Point: &ibadan, Sort: SortDistance, PerPage: 1})
		wantIDs(t, "nearest to Ibadan", artisanIDs(r), []int64{f.emeka})
		if got := HaversineKm(Point{6.5244, 3.3792}, ibadan); math.Abs(got-113.694) > 0.001 {
			t.Errorf("HaversineKm(Lagos, Ibadan) = %.4f, want 113.694", got)
		}
	}},
	{"text search", func(t *testing.T, f *fixture) {
		r := f.artisans(t, ArtisanQuery{Q: "plumbing", PerPage: 10})
		wantIDs(t, "q=plumbing", sorted(artisanIDs(r)), sorted([]int64{f.ada, f.chidi, f.emeka, f.funmi}))
		if r.Total != 4 {
			t.Errorf("total = %d, want 4", r.Total)
		}
		wantIDs(t, "prefix q=carp", artisanIDs(f.artisans(t, ArtisanQuery{Q: "carp"})), []int64{f.dayo})
		wantIDs(t, "name q=bola", artisanIDs(f.artisans(t, ArtisanQuery{Q: "Bola"})), []int64{f.bola})
		wantIDs(t, "two words", artisanIDs(f.artisans(t, ArtisanQuery{Q: "carpenter joiner"})), []int64{f.dayo})
		if r := f.artisans(t, ArtisanQuery{Q: "zzzzqqq"}); r.Total != 0 || len(r.Hits) != 0 {
			t.Errorf("nonsense query found %d", r.Total)
		}
		// Text and geo together, nearest first.
		r = f.artisans(t, ArtisanQuery{Q: "plumbing", Point: &lagos, RadiusKm: 30, Sort: SortDistance})
		wantIDs(t, "q=plumbing within 30 km", artisanIDs(r), []int64{f.ada, f.chidi})
	}},
	{"filters", func(t *testing.T, f *fixture) {
		all := ArtisanQuery{PerPage: 20}
		q := all
		q.Skills, q.Verified = []string{"plumbing"}, ptr(true)
		wantIDs(t, "skills=plumbing verified", sorted(artisanIDs(f.artisans(t, q))), sorted([]int64{f.ada, f.chidi}))
		q = all
		q.Skills = []string{"plumbing", "pipe fitting"}
		wantIDs(t, "skills plumbing AND pipe fitting", artisanIDs(f.artisans(t, q)), []int64{f.ada})
		q = all
		q.Skills, q.Category = []string{"PLUMBING"}, "Plumbing"
		wantIDs(t, "filters ignore case", sorted(artisanIDs(f.artisans(t, q))), sorted([]int64{f.ada, f.chidi, f.funmi}))
		q = all
		q.MinRating = ptr(4.5)
		wantIDs(t, "min_rating 4.5", sorted(artisanIDs(f.artisans(t, q))), sorted([]int64{f.ada, f.dayo, f.emeka, f.funmi}))
		q = all
		q.MaxRate = ptr(int64(300000))
		wantIDs(t, "max_rate 300000", sorted(artisanIDs(f.artisans(t, q))), sorted([]int64{f.bola, f.chidi, f.emeka}))
		q = all
		q.Category = "plumbing"
		wantIDs(t, "category plumbing", sorted(artisanIDs(f.artisans(t, q))), sorted([]int64{f.ada, f.chidi, f.funmi}))
		q = all
		q.Verified = ptr(false)
		wantIDs(t, "verified=false", sorted(artisanIDs(f.artisans(t, q))), sorted([]int64{f.bola, f.emeka, f.funmi}))
		q = all
		q.Available = true
		q.Candidates = &Candidates{Skills: []string{"wiring", "carpentry"}, Categories: []string{"painting"}}
		wantIDs(t, "candidates (emeka unavailable)", sorted(artisanIDs(f.artisans(t, q))), sorted([]int64{f.bola, f.dayo}))
	}},
	{"sort rating and price", func(t *testing.T, f *fixture) {
		wantIDs(t, "rating", artisanIDs(f.artisans(t, ArtisanQuery{Sort: SortRating, PerPage: 10})),
			[]int64{f.funmi, f.dayo, f.ada, f.emeka, f.bola, f.chidi})
		wantIDs(t, "price", artisanIDs(f.artisans(t, ArtisanQuery{Sort: SortPrice, PerPage: 10})),
			[]int64{f.chidi, f.emeka, f.bola, f.funmi, f.ada, f.dayo})
	}},
	{"pagination totals are exact", func(t *testing.T, f *fixture) {
		want := []int64{f.funmi, f.dayo, f.ada, f.emeka, f.bola, f.chidi}
		for page, ids := range [][]int64{want[:4], want[4:], {}} {
			r := f.artisans(t, ArtisanQuery{Sort: SortRating, Page: page + 1, PerPage: 4})
			if r.Total != 6 {
				t.Errorf("page %d: total = %d, want 6", page+1, r.Total)
			}
			wantIDs(t, "page", artisanIDs(r), ids)
		}
		r := f.artisans(t, ArtisanQuery{Q: "plumbing", Page: 2, PerPage: 3})
		if r.Total != 4 || len(r.Hits) != 1 {
			t.Errorf("q=plumbing page 2/3: total %d hits %d, want 4 and 1", r.Total, len(r.Hits))
		}
	}},
	{"facet counts", func(t *testing.T, f *fixture) {
		r := f.artisans(t, ArtisanQuery{Point: &lagos, RadiusKm: 25, Facets: true})
		want := Facets{
			"skills":     {"plumbing": 2, "pipe fitting": 1, "electrical": 1, "wiring": 1},
			"categories": {"plumbing": 2, "electrical": 1},
		}
		for facet, counts := range want {
			if got := r.Facets[facet]; !mapsEqual(got, counts) {
				t.Errorf("facet %s = %v, want %v", facet, got, counts)
			}
		}
		j := f.jobs(t, JobQuery{Status: "open", Facets: true})
		if got := j.Facets["category"]; !mapsEqual(got, map[string]int{"plumbing": 2, "electrical": 1, "carpentry": 1}) {
			t.Errorf("job category facet = %v", got)
		}
		if got := j.Facets["skills"]; !mapsEqual(got, map[string]int{"plumbing": 2, "electrical": 2, "wiring": 1, "carpentry": 1}) {
			t.Errorf("job skills facet = %v", got)
		}
	}},
	{"jobs", func(t *testing.T, f *fixture) {
		r := f.jobs(t, JobQuery{Point: &lagos, RadiusKm: 20, Status: "open", Sort: SortDistance})
		wantIDs(t, "open within 20 km", jobIDs(r), []int64{f.sink, f.rewire, f.heater})
		for i, want := range []float64{0, 0.05 * kmPerDegree, 0.15 * kmPerDegree} {
			if i < len(r.Hits) {
				wantKm(t, r.Hits[i].Title, r.Hits[i].DistanceKm, want)
			}
		}
		wantIDs(t, "budget >= 2M", sorted(jobIDs(f.jobs(t, JobQuery{Status: "open", BudgetMin: ptr(int64(2000000))}))), sorted([]int64{f.rewire, f.wardrobe, f.heater}))
		wantIDs(t, "budget 1M..2M", sorted(jobIDs(f.jobs(t, JobQuery{BudgetMin: ptr(int64(1000000)), BudgetMax: ptr(int64(2000000))}))), sorted([]int64{f.sink, f.wardrobe}))
		wantIDs(t, "category plumbing", sorted(jobIDs(f.jobs(t, JobQuery{Category: "plumbing"}))), sorted([]int64{f.sink, f.heater}))
		wantIDs(t, "skill electrical", sorted(jobIDs(f.jobs(t, JobQuery{Skills: []string{"electrical"}}))), sorted([]int64{f.rewire, f.heater}))
		wantIDs(t, "price (largest budget first)", jobIDs(f.jobs(t, JobQuery{Status: "open", Sort: SortPrice})), []int64{f.rewire, f.heater, f.wardrobe, f.sink})
		wantIDs(t, "date (newest first)", jobIDs(f.jobs(t, JobQuery{Sort: SortDate})), []int64{f.heater, f.fence, f.wardrobe, f.rewire, f.sink})
		wantIDs(t, "status completed", jobIDs(f.jobs(t, JobQuery{Status: "completed"})), []int64{f.fence})
		wantIDs(t, "q=sink", jobIDs(f.jobs(t, JobQuery{Q: "sink"})), []int64{f.sink})
		wantIDs(t, "candidates", sorted(jobIDs(f.jobs(t, JobQuery{Status: "open", Candidates: &Candidates{Skills: []string{"wiring"}, Categories: []string{"carpentry"}}}))), sorted([]int64{f.rewire, f.wardrobe}))
		if r := f.jobs(t, JobQuery{Status: "open", Page: 2, PerPage: 3}); r.Total != 4 || len(r.Hits) != 1 {
			t.Errorf("open page 2/3: total %d hits %d, want 4 and 1", r.Total, len(r.Hits))
		}
	}},
	{"updates and deletes follow the database", func(t *testing.T, f *fixture) {
		ctx := context.Background()
		if _, err := f.db.W.Exec(`UPDATE users SET name = 'Bolanle Adeyemi' WHERE id = ?`, f.bola); err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.W.Exec(`DELETE FROM artisan_profiles WHERE user_id = ?`, f.chidi); err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.W.Exec(`UPDATE jobs SET status = 'in_progress' WHERE id = ?`, f.sink); err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.W.Exec(`DELETE FROM jobs WHERE id = ?`, f.wardrobe); err != nil {
			t.Fatal(err)
		}
		if n := mustDrain(t, f.db, f.engine); n != 4 {
			t.Errorf("drained %d rows, want 4", n)
		}
		wantIDs(t, "renamed", artisanIDs(f.artisans(t, ArtisanQuery{Q: "Bolanle"})), []int64{f.bola})
		if r := f.artisans(t, ArtisanQuery{PerPage: 20}); r.Total != 5 || slices.Contains(artisanIDs(r), f.chidi) {
			t.Errorf("after deleting a profile: total %d ids %v", r.Total, artisanIDs(r))
		}
		wantIDs(t, "open jobs", sorted(jobIDs(f.jobs(t, JobQuery{Status: "open"}))), sorted([]int64{f.rewire, f.heater}))
		for index, want := range map[Index]int{Artisans: 5, Jobs: 4} {
			if n, err := f.engine.Count(ctx, index); err != nil || n != want {
				t.Errorf("Count(%s) = %d, %v; want %d", index, n, err, want)
			}
		}
	}},
	{"suggest", func(t *testing.T, f *fixture) {
		s, err := f.engine.Suggest(context.Background(), "plumb", 8)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(s, Suggestion{Text: "plumbing", Kind: "skill"}) {
			t.Errorf("suggest(plumb) = %v, want the skill plumbing", s)
		}
		s, err = f.engine.Suggest(context.Background(), "rewi", 8)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(s, Suggestion{Text: "Rewire three bedroom flat", Kind: "job", ID: f.rewire}) {
			t.Errorf("suggest(rewi) = %v, want the rewire job", s)
		}
	}},
	{"rebuild swaps in a full copy", func(t *testing.T, f *fixture) {
		ctx := context.Background()
		var calls, lastDone, lastTotal int
		if err := Reindex(ctx, f.db, f.engine, func(done, total int) { calls++; lastDone, lastTotal = done, total }); err != nil {
			t.Fatal(err)
		}
		if calls < 2 || lastDone != 11 || lastTotal != 11 {
			t.Errorf("progress: %d calls, last %d/%d; want >=2 calls ending 11/11", calls, lastDone, lastTotal)
		}
		for index, want := range map[Index]int{Artisans: 6, Jobs: 5} {
			if n, err := f.engine.Count(ctx, index); err != nil || n != want {
				t.Errorf("Count(%s) = %d, %v; want %d", index, n, err, want)
			}
		}
		wantIDs(t, "search after rebuild", artisanIDs(f.artisans(t, ArtisanQuery{Point: &lagos, RadiusKm: 25, Sort: SortDistance})), []int64{f.ada, f.bola, f.chidi})
		// Setup again is a no-op: nothing stale.
		if stale, err := f.engine.Setup(ctx); err != nil || len(stale) != 0 {
			t.Errorf("second Setup = %v, %v; want nothing stale", stale, err)
		}
	}},
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
