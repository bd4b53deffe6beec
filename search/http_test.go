package search

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/mysharpjob/sharpjob/api"
)

type response struct {
	status  int
	handled bool
	body    map[string]any
	raw     string
}

func serve(h *HTTP, method, uri string, p api.Principal) response {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(uri)
	handled := h.Handle(&ctx, p)
	r := response{status: ctx.Response.StatusCode(), handled: handled, raw: string(ctx.Response.Body())}
	_ = json.Unmarshal(ctx.Response.Body(), &r.body)
	return r
}

func (r response) ids(t *testing.T) []int64 {
	t.Helper()
	data, _ := r.body["data"].([]any)
	ids := make([]int64, 0, len(data))
	for _, d := range data {
		m := d.(map[string]any)
		for _, k := range []string{"artisan", "job"} {
			if inner, ok := m[k].(map[string]any); ok {
				m = inner
			}
		}
		ids = append(ids, int64(m["id"].(float64)))
	}
	return ids
}

func (r response) total() int {
	meta, _ := r.body["meta"].(map[string]any)
	total, ok := meta["total"].(float64)
	if !ok {
		return -1
	}
	return int(total)
}

func (r response) fieldErrors() []string {
	errs, _ := r.body["errors"].(map[string]any)
	var fields []string
	for k := range errs {
		fields = append(fields, k)
	}
	slices.Sort(fields)
	return fields
}

var (
	guest = api.Principal{}
)

// TestHTTP runs the endpoint scenarios against both engines.
func TestHTTP(t *testing.T) {
	for name, setup := range engines() {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, setup(t))
			h := NewHTTP(f.engine, f.db, nil)
			client := api.Principal{UserID: f.client, Role: "client"}
			other := api.Principal{UserID: f.client + 1000, Role: "client"}
			admin := api.Principal{UserID: 999999, Role: "admin"}
			bola := api.Principal{UserID: f.bola, Role: "artisan"}

			invalid := []struct {
				uri    string
				fields []string
			}{
				{"/api/search/artisans?lat=6.5", []string{"lng"}},
				{"/api/search/artisans?lng=3.4", []string{"lat"}},
				{"/api/search/artisans?lat=6.5&lng=3.4&radius_km=0", []string{"radius_km"}},
				{"/api/search/artisans?lat=6.5&lng=3.4&radius_km=501", []string{"radius_km"}},
				{"/api/search/artisans?radius_km=10", []string{"radius_km"}},
				{"/api/search/artisans?lat=91&lng=3.4", []string{"lat"}},
				{"/api/search/artisans?lat=abc&lng=3.4", []string{"lat"}},
				{"/api/search/artisans?sort=cheapest", []string{"sort"}},
				{"/api/search/artisans?sort=distance", []string{"sort"}},
				{"/api/search/artisans?per_page=0", []string{"per_page"}},
				{"/api/search/artisans?per_page=101", []string{"per_page"}},
				{"/api/search/artisans?page=x", []string{"page"}},
				{"/api/search/artisans?min_rating=6", []string{"min_rating"}},
				{"/api/search/artisans?verified=maybe", []string{"verified"}},
				{"/api/search/artisans?max_rate=1.5", []string{"max_rate"}},
				{"/api/search/artisans?lat=6.5&sort=nope", []string{"lng", "sort"}},
				{"/api/search/jobs?budget_min=10&budget_max=5", []string{"budget_max"}},
				{"/api/search/jobs?status=deleted", []string{"status"}},
				{"/api/search/jobs?sort=rating", []string{"sort"}},
				{"/api/search/jobs?budget_min=-1", []string{"budget_min"}},
				{"/api/search/suggest?q=" + strings.Repeat("x", 101), []string{"q"}},
			}
			for _, c := range invalid {
				r := serve(h, "GET", c.uri, guest)
				if r.status != 422 || !slices.Equal(r.fieldErrors(), c.fields) {
					t.Errorf("GET %s = %d %v, want 422 with errors on %v (%s)", c.uri, r.status, r.fieldErrors(), c.fields, r.raw)
				}
				if msg, _ := r.body["message"].(string); msg == "" {
					t.Errorf("GET %s: 422 without a message", c.uri)
				}
			}

			t.Run("artisans page", func(t *testing.T) {
				r := serve(h, "GET", "/api/search/artisans?lat=6.5&lng=3.4&radius_km=25&sort=distance&per_page=2&skills[]=plumbing", guest)
				if r.status != 200 {
					t.Fatalf("status %d: %s", r.status, r.raw)
				}
				wantIDs(t, "page 1", r.ids(t), []int64{f.ada, f.chidi})
				if r.total() != 2 {
					t.Errorf("total = %d, want 2", r.total())
				}
				data := r.body["data"].([]any)
				d := data[1].(map[string]any)["distance_km"].(float64)
				if math.Abs(d-0.2*kmPerDegree) > 0.002 {
					t.Errorf("distance_km = %v, want %.3f", d, 0.2*kmPerDegree)
				}
				facets := r.body["facets"].(map[string]any)["skills"].(map[string]any)
				if facets["plumbing"] != 2.0 || facets["pipe fitting"] != 1.0 {
					t.Errorf("skills facet = %v", facets)
				}
				links := r.body["links"].(map[string]any)
				if first, _ := links["first"].(string); !strings.HasPrefix(first, "/api/search/artisans?") || !strings.Contains(first, "page=1") || strings.Count(first, "page=") != 2 {
					// page= appears once for page, once inside per_page
					t.Errorf("links.first = %q", first)
				}
				r = serve(h, "GET", "/api/search/artisans?per_page=4&page=2&sort=rating", guest)
				wantIDs(t, "page 2", r.ids(t), []int64{f.bola, f.chidi})
				if r.total() != 6 {
					t.Errorf("total = %d, want 6", r.total())
				}
				meta := r.body["meta"].(map[string]any)
				if meta["last_page"] != 2.0 || meta["current_page"] != 2.0 || meta["from"] != 5.0 || meta["to"] != 6.0 {
					t.Errorf("meta = %v", meta)
				}
				r = serve(h, "GET", "/api/search/artisans?q=plumbing&facets=0", guest)
				if _, ok := r.body["facets"]; ok || r.total() != 4 {
					t.Errorf("facets=0: facets present %v, total %d", ok, r.total())
				}
				if d := r.body["data"].([]any)[0].(map[string]any); d["distance_km"] != nil {
					t.Errorf("distance_km present without a point: %v", d["distance_km"])
				}
			})

			t.Run("jobs", func(t *testing.T) {
				r := serve(h, "GET", "/api/search/jobs?lat=6.5&lng=3.4&radius_km=20&sort=distance", guest)
				wantIDs(t, "open near", r.ids(t), []int64{f.sink, f.rewire, f.heater})
				r = serve(h, "GET", "/api/search/jobs?status=completed", guest)
				wantIDs(t, "completed", r.ids(t), []int64{f.fence})
				r = serve(h, "GET", "/api/search/jobs?skills[]=plumbing&skills[]=electrical&budget_min=2000000", guest)
				wantIDs(t, "skills and budget", r.ids(t), []int64{f.heater})
				r = serve(h, "GET", "/api/search/jobs?skills%5B%5D=plumbing&skills%5B%5D=electrical", guest)
				wantIDs(t, "encoded brackets", r.ids(t), []int64{f.heater})
			})

			t.Run("suggest", func(t *testing.T) {
				r := serve(h, "GET", "/api/search/suggest?q=carp", guest)
				if r.status != 200 || !strings.Contains(r.raw, `{"text":"carpentry","type":"skill"}`) {
					t.Errorf("suggest carp = %d %s", r.status, r.raw)
				}
				r = serve(h, "GET", "/api/search/suggest?q=", guest)
				if r.status != 200 || strings.TrimSpace(r.raw) != `{"data":[]}` {
					t.Errorf("empty suggest = %d %q", r.status, r.raw)
				}
			})

			t.Run("job matches", func(t *testing.T) {
				uri := fmt.Sprintf("/api/jobs/%d/matches", f.sink)
				for _, c := range []struct {
					p    api.Principal
					want int
				}{{guest, 401}, {other, 403}, {bola, 403}, {client, 200}, {admin, 200}} {
					if r := serve(h, "GET", uri, c.p); r.status != c.want {
						t.Errorf("%+v: status %d, want %d", c.p, r.status, c.want)
					}
				}
				if r := serve(h, "GET", "/api/jobs/999999/matches", client); r.status != 404 {
					t.Errorf("unknown job: %d", r.status)
				}
				if r := serve(h, "GET", uri+"?limit=0", client); r.status != 422 {
					t.Errorf("limit=0: %d", r.status)
				}
				r := serve(h, "GET", uri, client)
				wantIDs(t, "sink matches", r.ids(t), []int64{f.ada, f.chidi})
				wantScores(t, r, []float64{98.13, 79.86})
				first := r.body["data"].([]any)[0].(map[string]any)
				parts := first["parts"].([]any)
				if len(parts) != 6 || parts[0].(map[string]any)["name"] != "skills" || parts[0].(map[string]any)["points"] != 40.0 {
					t.Errorf("parts = %v", parts)
				}
				sum := 0.0
				for _, p := range parts {
					sum += p.(map[string]any)["points"].(float64)
				}
				if math.Abs(sum-first["score"].(float64)) > 0.05 {
					t.Errorf("parts add up to %.2f, score %.2f", sum, first["score"])
				}
				r = serve(h, "GET", fmt.Sprintf("/api/jobs/%d/matches", f.heater), client)
				wantIDs(t, "heater matches", r.ids(t), []int64{f.ada, f.chidi, f.bola})
				wantScores(t, r, []float64{71.46, 66.53, 61.47})
			})

			t.Run("recommended jobs", func(t *testing.T) {
				uri := "/api/artisans/me/recommended-jobs"
				if r := serve(h, "GET", uri, guest); r.status != 401 {
					t.Errorf("guest: %d", r.status)
				}
				if r := serve(h, "GET", uri, client); r.status != 403 {
					t.Errorf("client: %d", r.status)
				}
				if r := serve(h, "GET", uri, api.Principal{UserID: f.client, Role: "artisan"}); r.status != 404 {
					t.Errorf("artisan without profile: %d", r.status)
				}
				r := serve(h, "GET", uri, bola)
				wantIDs(t, "bola's jobs", r.ids(t), []int64{f.rewire, f.heater})
				wantScores(t, r, []float64{81.47, 61.47})
			})

			t.Run("routing", func(t *testing.T) {
				for _, uri := range []string{"/api/jobs", "/api/jobs/1", "/api/jobs/1/matches/x", "/api/search", "/api/search/artisans/1"} {
					if r := serve(h, "GET", uri, client); r.handled {
						t.Errorf("%s handled", uri)
					}
				}
				if r := serve(h, "POST", "/api/search/artisans", client); !r.handled || r.status != 405 {
					t.Errorf("POST: handled %v status %d", r.handled, r.status)
				}
			})
		})
	}
}

func wantScores(t *testing.T, r response, want []float64) {
	t.Helper()
	data, _ := r.body["data"].([]any)
	var got []float64
	for _, d := range data {
		got = append(got, d.(map[string]any)["score"].(float64))
	}
	if len(got) != len(want) {
		t.Errorf("scores %v, want %v", got, want)
		return
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > 0.011 {
			t.Errorf("scores %v, want %v (hand-computed)", got, want)
			return
		}
	}
}
