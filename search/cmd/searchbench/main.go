// Command searchbench measures search end to end and writes the figures to a file
// (make bench → bench/search.txt):
//
//   - search latency p50/p99 through the host's HTTP handler (a real fasthttp server
//     on loopback, geo + text + filter + facets) beside the same query sent straight
//     to Meilisearch with the same client library: the host's overhead as a ratio;
//   - the embedded engine on the same queries;
//   - reindex throughput (documents/s) for both engines;
//   - outbox lag (write commit → engine confirmed) under a steady write load.
//
// It starts its own Meilisearch (tools/bin/meilisearch, or -meili-url) and a fresh
// database in a temporary directory.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/mysharpjob/sharpjob/api"
	"github.com/mysharpjob/sharpjob/search"
	"github.com/mysharpjob/sharpjob/search/synth"
	"github.com/mysharpjob/sharpjob/store"
)

var (
	artisans   = flag.Int("artisans", 100000, "artisans to generate")
	jobs       = flag.Int("jobs", 50000, "jobs to generate")
	queries    = flag.Int("queries", 1000, "measured queries per path")
	embeddedQ  = flag.Int("embedded-queries", 300, "measured queries against the embedded engine (0 skips it)")
	writeRate  = flag.Int("write-rate", 50, "writes per second for the outbox lag test")
	writeFor   = flag.Duration("write-for", 20*time.Second, "duration of the outbox lag test")
	out        = flag.String("out", "bench/search.txt", "results file")
	meiliBin   = flag.String("meili", "tools/bin/meilisearch", "meilisearch binary (ignored with -meili-url)")
	meiliURL   = flag.String("meili-url", "", "use this running Meilisearch instead of starting one")
	meiliKey   = flag.String("meili-key", "searchbench-master-key-0123456789", "master key")
	keepTmpDir = flag.Bool("keep", false, "keep the temporary directory")
)

func main() {
	flag.Parse()
	log.SetFlags(log.Ltime)
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "searchbench")
	check(err)
	if !*keepTmpDir {
		defer os.RemoveAll(dir)
	}
	url := *meiliURL
	if url == "" {
		stop := startMeili(dir)
		defer stop()
		url = "http://" + meiliAddr
	}
	db, err := store.Open(ctx, store.Config{URL: "file:" + filepath.Join(dir, "bench.db")})
	check(err)
	defer db.Close()
	_, err = db.Migrate(ctx)
	check(err)

	var report strings.Builder
	p := func(format string, args ...any) {
		fmt.Fprintf(&report, format+"\n", args...)
		log.Printf(format, args...)
	}
	p("# search benchmark (go run ./search/cmd/searchbench)")
	p("date:      %s", time.Now().UTC().Format(time.RFC3339))
	p("machine:   %d CPUs (GOMAXPROCS %d), %s/%s, %s; shared with other work", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())
	p("data:      %d artisans, %d jobs (search/synth, seed 1, around %d Nigerian cities)", *artisans, *jobs, len(synth.Cities))
	p("database:  embedded libSQL file (%s driver)", store.Driver)
	p("load:      %s at start (other engineers share the machine; p99s move with it)", loadavg())
	p("")

	t0 := time.Now()
	check(synth.Generate(ctx, db, synth.Options{Artisans: *artisans, Jobs: *jobs, Seed: 1}, nil))
	p("seed:      %s", time.Since(t0).Round(time.Millisecond))
	// The seed's outbox rows are covered by the reindexes below.
	_, err = db.W.ExecContext(ctx, `UPDATE search_outbox SET done_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE done_at IS NULL`)
	check(err)
	docs := *artisans + *jobs

	meili := search.NewMeili(search.MeiliConfig{URL: url, Key: *meiliKey, Prefix: "bench_"})
	_, err = meili.Setup(ctx)
	check(err)
	t0 = time.Now()
	check(search.Reindex(ctx, db, meili, nil))
	d := time.Since(t0)
	p("reindex meilisearch: %d docs in %s = %.0f docs/s (fresh indexes filled in batches of %d, then swapped)", docs, d.Round(time.Millisecond), float64(docs)/d.Seconds(), search.ReindexBatch)

	var emb *search.Embedded
	if *embeddedQ > 0 {
		emb = search.NewEmbedded(db)
		_, err = emb.Setup(ctx)
		check(err)
		t0 = time.Now()
		check(search.Reindex(ctx, db, emb, nil))
		d = time.Since(t0)
		p("reindex embedded:    %d docs in %s = %.0f docs/s (one write transaction per index)", docs, d.Round(time.Millisecond), float64(docs)/d.Seconds())
	}
	p("")

	// The query mix: a point near a city, a radius, a trade word, a filter.
	rng := rand.New(rand.NewPCG(42, 43))
	type query struct {
		q   search.ArtisanQuery
		uri string
	}
	var words []string
	for _, skills := range synth.Trades {
		words = append(words, skills...)
	}
	slices.Sort(words)
	mk := func() query {
		c := synth.Cities[rng.IntN(len(synth.Cities))]
		pt := search.Point{Lat: c.Lat + (rng.Float64()-0.5)*0.1, Lng: c.Lng + (rng.Float64()-0.5)*0.1}
		word := strings.Fields(words[rng.IntN(len(words))])[0]
		radius := []float64{5, 10, 25}[rng.IntN(3)]
		minRating := []float64{0, 3.5, 4}[rng.IntN(3)]
		q := search.ArtisanQuery{Q: word, Point: &pt, RadiusKm: radius, MinRating: &minRating, Sort: search.SortRelevance, Page: 1, PerPage: 15, Facets: true}
		uri := fmt.Sprintf("/api/search/artisans?q=%s&lat=%.5f&lng=%.5f&radius_km=%g&min_rating=%g", word, pt.Lat, pt.Lng, radius, minRating)
		return query{q, uri}
	}
	qs := make([]query, *queries+100)
	for i := range qs {
		qs[i] = mk()
	}
	body, _ := meili.ArtisanRequestJSON(qs[0].q)
	p("query:     GET %s", qs[0].uri)
	p("           = Meilisearch POST /indexes/bench_artisans/search %s", body)
	p("           (geo radius + text + rating filter + skills/categories facets, 15 per page, exact total; %d measured, 100 warm-up, one at a time)", *queries)
	p("")

	// The host path: a real fasthttp server on loopback serving search.HTTP.
	h := search.NewHTTP(meili, db, slog.New(slog.DiscardHandler))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if !h.Handle(ctx, api.Principal{}) {
			api.NotFound(ctx)
		}
	}}
	go srv.Serve(ln)
	defer srv.Shutdown()
	client := &fasthttp.Client{}
	base := "http://" + ln.Addr().String()
	viaHost := func(q query) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI(base + q.uri)
		check(client.Do(req, resp))
		if resp.StatusCode() != 200 {
			log.Fatalf("%s: %d %s", q.uri, resp.StatusCode(), resp.Body())
		}
	}
	direct := func(q query) {
		_, err := meili.SearchArtisansDirect(ctx, q.q)
		check(err)
	}
	var eh *search.HTTP
	if emb != nil {
		eh = search.NewHTTP(emb, db, nil)
	}
	runMix := func(title string, qs []query, embN int) {
		// Interleaved, so both paths see the same machine load.
		hostLat, directLat := measure2(qs, viaHost, direct)
		p("%-36s %9s %9s %9s", title, "p50", "p99", "max")
		p("%-36s %9s %9s %9s", "  meilisearch direct (meilisearch-go)", ms(pct(directLat, 50)), ms(pct(directLat, 99)), ms(pct(directLat, 100)))
		p("%-36s %9s %9s %9s", "  through the host (HTTP, meili)", ms(pct(hostLat, 50)), ms(pct(hostLat, 99)), ms(pct(hostLat, 100)))
		p("  host overhead ratio: p50 %.2fx, p99 %.2fx (target: host p99 <= 20 ms)",
			float64(pct(hostLat, 50))/float64(pct(directLat, 50)), float64(pct(hostLat, 99))/float64(pct(directLat, 99)))
		if eh != nil && embN > 0 {
			n := min(embN+100, len(qs))
			embLat := measure(qs[:n], func(q query) {
				var rc fasthttp.RequestCtx
				rc.Request.SetRequestURI(q.uri)
				eh.Handle(&rc, api.Principal{})
				if rc.Response.StatusCode() != 200 {
					log.Fatalf("embedded %s: %d %s", q.uri, rc.Response.StatusCode(), rc.Response.Body())
				}
			})
			p("%-36s %9s %9s %9s", "  embedded engine (handler in-process)", ms(pct(embLat, 50)), ms(pct(embLat, 99)), ms(pct(embLat, 100)))
		}
		p("")
	}
	runMix("geo + text + filter + facets", qs, *embeddedQ)

	// Second mix: "verified artisans near me", no text, nearest first.
	near := make([]query, *queries/3+100)
	for i := range near {
		c := synth.Cities[rng.IntN(len(synth.Cities))]
		pt := search.Point{Lat: c.Lat + (rng.Float64()-0.5)*0.1, Lng: c.Lng + (rng.Float64()-0.5)*0.1}
		q := search.ArtisanQuery{Point: &pt, RadiusKm: 10, Verified: ptr(true), Sort: search.SortDistance, Page: 1, PerPage: 15, Facets: true}
		near[i] = query{q, fmt.Sprintf("/api/search/artisans?lat=%.5f&lng=%.5f&radius_km=10&verified=1&sort=distance", pt.Lat, pt.Lng)}
	}
	p("query:     GET %s", near[0].uri)
	runMix("near me: geo + filter, distance sort", near, *embeddedQ/3)

	// Outbox lag under a steady write load, Syncer with its default settings.
	timed := &timedEngine{Engine: meili}
	syncer := search.NewSyncer(db, timed, nil)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { syncer.Run(runCtx); close(done) }()
	var startID int64
	check(db.R.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM search_outbox`).Scan(&startID))
	tick := time.NewTicker(time.Second / time.Duration(*writeRate))
	end := time.Now().Add(*writeFor)
	writes, maxPending := 0, 0
	var maxIDs struct{ artisan, job int64 }
	check(db.R.QueryRowContext(ctx, `SELECT max(user_id) FROM artisan_profiles`).Scan(&maxIDs.artisan))
	check(db.R.QueryRowContext(ctx, `SELECT max(id) FROM jobs`).Scan(&maxIDs.job))
	for time.Now().Before(end) {
		<-tick.C
		var err error
		if writes%2 == 0 {
			_, err = db.W.ExecContext(ctx, `UPDATE artisan_profiles SET rating = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE user_id = (SELECT user_id FROM artisan_profiles WHERE user_id >= ? LIMIT 1)`,
				float64(rng.IntN(50))/10, rng.Int64N(maxIDs.artisan)+1)
		} else {
			_, err = db.W.ExecContext(ctx, `UPDATE jobs SET budget = budget + 100, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = (SELECT id FROM jobs WHERE id >= ? LIMIT 1)`,
				rng.Int64N(maxIDs.job)+1)
		}
		check(err)
		writes++
		if writes%25 == 0 {
			lag, err := syncer.Lag(ctx)
			check(err)
			maxPending = max(maxPending, lag.Pending)
		}
	}
	tick.Stop()
	deadline := time.Now().Add(time.Minute)
	for {
		lag, err := syncer.Lag(ctx)
		check(err)
		if lag.Pending == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Single writes on an idle outbox, with Notify as a writer in the host would:
	// how long one edit takes to become searchable.
	var idle []time.Duration
	for i := range 8 {
		time.Sleep(1500 * time.Millisecond)
		var before int
		check(db.R.QueryRowContext(ctx, `SELECT count(*) FROM search_outbox WHERE done_at IS NOT NULL`).Scan(&before))
		t := time.Now()
		_, err := db.W.ExecContext(ctx, `UPDATE artisan_profiles SET rating = ? WHERE user_id = (SELECT user_id FROM artisan_profiles WHERE user_id >= ? LIMIT 1)`,
			float64(i%5), rng.Int64N(maxIDs.artisan)+1)
		check(err)
		syncer.Notify()
		for {
			var after int
			check(db.R.QueryRowContext(ctx, `SELECT count(*) FROM search_outbox WHERE done_at IS NOT NULL`).Scan(&after))
			if after > before || time.Since(t) > 30*time.Second {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		idle = append(idle, time.Since(t))
	}
	slices.Sort(idle)
	stop()
	<-done
	rows, err := db.R.QueryContext(ctx, `SELECT created_at, done_at FROM search_outbox WHERE id > ? AND done_at IS NOT NULL`, startID)
	check(err)
	var lags []time.Duration
	for rows.Next() {
		var c, dn string
		check(rows.Scan(&c, &dn))
		tc, err1 := time.Parse(time.RFC3339Nano, c)
		td, err2 := time.Parse(time.RFC3339Nano, dn)
		if err1 == nil && err2 == nil {
			lags = append(lags, td.Sub(tc))
		}
	}
	rows.Close()
	slices.Sort(lags)
	p("outbox lag (commit -> Meilisearch task succeeded), %d writes/s for %s, Syncer poll 200 ms, no Notify:", *writeRate, *writeFor)
	p("  %d writes applied; lag p50 %s, p99 %s, max %s; most rows pending at once: %d",
		len(lags), ms(pct(lags, 50)), ms(pct(lags, 99)), ms(pct(lags, 100)), maxPending)
	slices.Sort(timed.lat)
	p("  engine.Upsert calls (enqueue -> task succeeded): %d, p50 %s, p99 %s", len(timed.lat), ms(pct(timed.lat, 50)), ms(pct(timed.lat, 99)))
	p("outbox lag, one write at a time on an idle outbox, with Notify: p50 %s, max %s (%d writes)", ms(pct(idle, 50)), ms(pct(idle, 100)), len(idle))

	p("")
	p("load:      %s at the end", loadavg())
	check(os.MkdirAll(filepath.Dir(*out), 0o755))
	check(os.WriteFile(*out, []byte(report.String()), 0o644))
	log.Printf("wrote %s", *out)
}

// timedEngine records how long each Upsert takes.
type timedEngine struct {
	search.Engine
	lat []time.Duration
}

func (t *timedEngine) Upsert(ctx context.Context, b search.Batch) error {
	start := time.Now()
	err := t.Engine.Upsert(ctx, b)
	t.lat = append(t.lat, time.Since(start))
	return err
}

// measure2 runs each query through a then b (alternating which goes first).
func measure2[T any](qs []T, a, b func(T)) (latA, latB []time.Duration) {
	for i, q := range qs {
		var da, db time.Duration
		if i%2 == 0 {
			t := time.Now()
			a(q)
			da = time.Since(t)
			t = time.Now()
			b(q)
			db = time.Since(t)
		} else {
			t := time.Now()
			b(q)
			db = time.Since(t)
			t = time.Now()
			a(q)
			da = time.Since(t)
		}
		if i >= 100 { // warm-up
			latA, latB = append(latA, da), append(latB, db)
		}
	}
	slices.Sort(latA)
	slices.Sort(latB)
	return latA, latB
}

func measure[T any](qs []T, run func(T)) []time.Duration {
	for _, q := range qs[:min(100, len(qs))] {
		run(q)
	}
	var lat []time.Duration
	for _, q := range qs[min(100, len(qs)):] {
		t := time.Now()
		run(q)
		lat = append(lat, time.Since(t))
	}
	slices.Sort(lat)
	return lat
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

var meiliAddr string

func startMeili(dir string) func() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	meiliAddr = ln.Addr().String()
	ln.Close()
	logf, err := os.Create(filepath.Join(dir, "meili.log"))
	check(err)
	cmd := exec.Command(*meiliBin, "--db-path", filepath.Join(dir, "ms"), "--http-addr", meiliAddr,
		"--master-key", *meiliKey, "--no-analytics", "--env", "development",
		"--dump-dir", filepath.Join(dir, "dumps"), "--snapshot-dir", filepath.Join(dir, "snapshots"))
	cmd.Stdout, cmd.Stderr = logf, logf
	check(cmd.Start())
	for i := 0; ; i++ {
		resp, err := http.Get("http://" + meiliAddr + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if i > 300 {
			log.Fatalf("meilisearch did not start: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return func() { cmd.Process.Kill(); cmd.Wait() }
}

func ptr[T any](v T) *T { return &v }

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ") + " (1/5/15 min load average)"
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
