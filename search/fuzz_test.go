package search

import (
	"encoding/json"
	"testing"
)

// FuzzSearchParams feeds arbitrary query strings to the search endpoints (embedded
// engine): the answer is always 200 or a 422 with field errors, never a 5xx.
func FuzzSearchParams(f *testing.F) {
	for _, seed := range []string{
		"q=plumb&lat=6.5&lng=3.4&radius_km=10&sort=distance",
		"skills[]=plumbing&skills[]=pipe%20fitting&verified=true&min_rating=4.5&max_rate=300000",
		"lat=6.5", "radius_km=1e309&lat=NaN&lng=Inf", "q=%22%2A%29%28+OR+NEAR&sort=price&page=2&per_page=100",
		"category=%22%5C&skills=a,b,,c&budget_min=1&budget_max=0&status=open",
		"q=" + "%E2%80%AE" + "&page=99999999999999999999",
	} {
		f.Add(seed)
	}
	h := fuzzHTTP(f)
	f.Fuzz(func(t *testing.T, raw string) {
		for _, path := range []string{"/api/search/artisans?", "/api/search/jobs?", "/api/search/suggest?"} {
			r := serve(h, "GET", path+raw, guest)
			if !r.handled { // the URI did not parse to one of our paths
				continue
			}
			switch r.status {
			case 200:
			case 422:
				if _, ok := r.body["errors"].(map[string]any); !ok {
					t.Fatalf("%s%s: 422 without errors: %s", path, raw, r.raw)
				}
			default:
				t.Fatalf("%s%s: status %d: %s", path, raw, r.status, r.raw)
			}
			if !json.Valid([]byte(r.raw)) {
				t.Fatalf("%s%s: invalid JSON %q", path, raw, r.raw)
			}
		}
	})
}

// fuzzHTTP builds a small database; the handlers only read it.
func fuzzHTTP(t testing.TB) *HTTP {
	db := mustDB(t)
	mustArtisan(t, db, artisanFixture{Name: "Ada", Skills: []string{"plumbing"}, Categories: []string{"plumbing"}, Lat: ptr(6.5), Lng: ptr(3.4), Rating: 4})
	client := mustUser(t, db, "C", "client")
	mustJob(t, db, jobFixture{Client: client, Title: "Fix sink", Category: "plumbing", Skills: []string{"plumbing"}, Budget: 100, Lat: 6.5, Lng: 3.4})
	e := NewEmbedded(db)
	mustDrain(t, db, e)
	return NewHTTP(e, db, nil)
}
