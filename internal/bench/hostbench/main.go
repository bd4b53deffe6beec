// Command hostbench measures the edge host's figures (issue 2) and writes them to a
// file: Wasm-served GET /api/jobs/{id} throughput against the same handler linked
// natively into the same host, both driven by wrk over loopback and interleaved so
// the shared machine's noise hits both; cold start to serving with a warm compilation
// cache; memory per warm instance.
//
//	go run ./internal/bench/hostbench -out bench/host.txt
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mysharpjob/sharpjob/host"
	"github.com/mysharpjob/sharpjob/host/plugin"
	"github.com/mysharpjob/sharpjob/plugins/jobs"
	"github.com/mysharpjob/sharpjob/store"
)

var (
	out         = flag.String("out", "bench/host.txt", "results file")
	duration    = flag.Duration("duration", 8*time.Second, "wrk run length")
	rounds      = flag.Int("rounds", 3, "interleaved wrk rounds per side")
	conns       = flag.Int("conns", 16, "wrk connections")
	binary      = flag.String("bin", "bin/sharpjob", "the built binary, for the cold-start figure")
	plugins     = flag.String("plugins", "build/plugins", "built plugins")
	profile     = flag.String("cpuprofile", "", "write a CPU profile of one wrk run here, then stop")
	profileSide = flag.String("profile-side", "wasm", "wasm or native, with -cpuprofile")
)

func main() {
	flag.Parse()
	var report bytes.Buffer
	w := io.MultiWriter(os.Stdout, &report)
	fmt.Fprintf(w, "# hostbench %s  (%s, %d CPUs, %s)\n\n", time.Now().UTC().Format(time.RFC3339), runtime.Version(), runtime.NumCPU(), cpuModel())
	if err := run(w); err != nil {
		fmt.Fprintln(os.Stderr, "hostbench:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, report.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	if m := regexp.MustCompile(`model name\s*:\s*(.*)`).FindSubmatch(b); m != nil {
		return string(m[1])
	}
	return "?"
}

func run(w io.Writer) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "hostbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := store.Open(ctx, store.Config{URL: "file:" + filepath.Join(dir, "bench.db")})
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	if _, err := db.W.Exec(`INSERT INTO users(id,name,email,password_hash,role) VALUES (1,'Ada Obi','ada@example.ng','x','client')`); err != nil {
		return err
	}
	for i := 0; i < 1000; i++ {
		if _, err := db.W.Exec(`INSERT INTO jobs(client_id,title,description,category,skills,budget,lat,lng,address) VALUES (1,?,?,?,?,?,?,?,?)`,
			fmt.Sprintf("Fix kitchen sink %d", i), "The kitchen sink has leaked for a week and needs a plumber.", "plumbing",
			`["plumbing","pipe fitting"]`, 2500000+i, 6.5244, 3.3792, "Yaba, Lagos"); err != nil {
			return err
		}
	}

	// Two hosts, identical but for how the jobs handlers run.
	env := &plugin.Env{DB: db, Guard: plugin.NewGuard(db), Logger: log, CacheDir: filepath.Join(dir, "wazero")}
	wasm, err := plugin.Load(ctx, env, filepath.Join(*plugins, "jobs.wasm"))
	if err != nil {
		return fmt.Errorf("%w (run make build first)", err)
	}
	native, err := plugin.NativeVersion(env, wasm.Manifest, jobs.Routes())
	if err != nil {
		return err
	}
	cfg := host.Config{BcryptCost: 4, TokenCacheTTL: time.Second, LoginAttempts: 5, MaxBodyBytes: 1 << 20, CORSOrigins: []string{"*"}}
	urls := map[string]string{}
	for name, v := range map[string]*plugin.Version{"wasm": wasm, "native": native} {
		reg := plugin.NewRegistry(env, host.ReservedRoutes())
		if err := reg.Swap(ctx, v); err != nil {
			return err
		}
		srv := host.NewServer(cfg, db, reg, log)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		go srv.Serve(ln)
		defer srv.Shutdown(ctx)
		urls[name] = "http://" + ln.Addr().String() + "/api/jobs/500"
		resp, err := http.Get(urls[name])
		if err != nil || resp.StatusCode != 200 {
			return fmt.Errorf("%s host not serving: %v", name, err)
		}
		resp.Body.Close()
	}

	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		_, err = runWrk(urls[*profileSide])
		pprof.StopCPUProfile()
		f.Close()
		return err
	}
	fmt.Fprintf(w, "## GET /api/jobs/{id} through the host over loopback (wrk -t1 -c%d -d%s, %d interleaved rounds each; median)\n\n", *conns, *duration, *rounds)
	results := map[string][]wrkResult{}
	for r := 0; r < *rounds; r++ {
		for _, name := range []string{"native", "wasm"} {
			res, err := runWrk(urls[name])
			if err != nil {
				return err
			}
			results[name] = append(results[name], res)
			fmt.Fprintf(w, "  round %d %-6s %9.0f req/s  p50 %6.2f ms  p99 %6.2f ms\n", r+1, name, res.rps, res.p50, res.p99)
		}
	}
	nat, wa := median(results["native"]), median(results["wasm"])
	fmt.Fprintf(w, "\n  native (same handler linked into the host): %9.0f req/s  p50 %.2f ms  p99 %.2f ms\n", nat.rps, nat.p50, nat.p99)
	fmt.Fprintf(w, "  wasm   (jobs.wasm in wazero):               %9.0f req/s  p50 %.2f ms  p99 %.2f ms\n", wa.rps, wa.p50, wa.p99)
	fmt.Fprintf(w, "  wasm / native throughput: %.0f %%   (target >= 70 %%)\n\n", 100*wa.rps/nat.rps)

	// Memory per warm instance.
	m := wasm.Manifest
	m.Limits.Instances = 16
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rssBefore := rss()
	code, _ := os.ReadFile(filepath.Join(*plugins, "jobs.wasm"))
	v16, err := plugin.Compile(ctx, env, m, code, "jobs.wasm")
	if err != nil {
		return err
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	rssAfter := rss()
	fmt.Fprintf(w, "## Memory per warm instance (jobs plugin, 16 instances)\n\n")
	fmt.Fprintf(w, "  linear memory per instance: %.2f MiB\n", float64(v16.MemoryBytes())/(1<<20))
	fmt.Fprintf(w, "  process RSS growth per instance (compiled code shared): %.2f MiB\n", float64(rssAfter-rssBefore)/16/(1<<20))
	fmt.Fprintf(w, "  Go heap growth per instance: %.2f MiB\n\n", float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/16/(1<<20))
	v16.Close(ctx)

	return coldStart(w, dir)
}

type wrkResult struct{ rps, p50, p99 float64 }

func median(rs []wrkResult) wrkResult {
	slices.SortFunc(rs, func(a, b wrkResult) int { return int(a.rps - b.rps) })
	return rs[len(rs)/2]
}

var (
	rpsRE = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	latRE = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([\d.]+)(us|ms|s)`)
)

func runWrk(url string) (wrkResult, error) {
	cmd := exec.Command("wrk", "-t1", "-c"+strconv.Itoa(*conns), "-d"+duration.String(), "--latency", url)
	outb, err := cmd.CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %v\n%s", err, outb)
	}
	if strings.Contains(string(outb), "Non-2xx") {
		return wrkResult{}, fmt.Errorf("wrk saw errors:\n%s", outb)
	}
	var r wrkResult
	if m := rpsRE.FindSubmatch(outb); m != nil {
		r.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	}
	for _, m := range latRE.FindAllSubmatch(outb, -1) {
		v, _ := strconv.ParseFloat(string(m[2]), 64)
		switch string(m[3]) {
		case "us":
			v /= 1000
		case "s":
			v *= 1000
		}
		if string(m[1]) == "50" {
			r.p50 = v
		} else {
			r.p99 = v
		}
	}
	return r, nil
}

func rss() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	if m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(b); m != nil {
		n, _ := strconv.ParseInt(string(m[1]), 10, 64)
		return n * 1024
	}
	return 0
}

// coldStart starts the real binary with every plugin and a warm compilation cache,
// and times exec → first 200 from /healthz.
func coldStart(w io.Writer, dir string) error {
	data := filepath.Join(dir, "cold")
	var times []time.Duration
	var logged []string
	for i := 0; i < 6; i++ { // the first run fills the cache
		httpPort, wsPort := freePort(), freePort()
		cmd := exec.Command(*binary, "serve")
		cmd.Env = append(os.Environ(), "SHARPJOB_DATA_DIR="+data, "SHARPJOB_HTTP_ADDR=127.0.0.1:"+strconv.Itoa(httpPort),
			"SHARPJOB_WS_ADDR=127.0.0.1:"+strconv.Itoa(wsPort), "SHARPJOB_PLUGIN_DIR="+*plugins, "SHARPJOB_ACCESS_LOG=false", "MEILI_URL=")
		var logBuf bytes.Buffer
		cmd.Stderr = &logBuf
		start := time.Now()
		if err := cmd.Start(); err != nil {
			return err
		}
		url := fmt.Sprintf("http://127.0.0.1:%d/healthz", httpPort)
		ok := false
		for time.Since(start) < 20*time.Second {
			if resp, err := http.Get(url); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					ok = true
					break
				}
			}
			time.Sleep(2 * time.Millisecond)
		}
		elapsed := time.Since(start)
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		if !ok {
			return fmt.Errorf("cold start %d: not serving after 20s:\n%s", i, logBuf.String())
		}
		if i > 0 {
			times = append(times, elapsed)
			if m := regexp.MustCompile(`"startup_ms":(\d+)`).FindSubmatch(logBuf.Bytes()); m != nil {
				logged = append(logged, string(m[1]))
			}
		} else {
			fmt.Fprintf(w, "## Cold start to serving (bin/sharpjob serve, all plugins in %s)\n\n  first start, empty compilation cache: %s\n", *plugins, elapsed.Round(time.Millisecond))
		}
	}
	slices.Sort(times)
	fmt.Fprintf(w, "  warm compilation cache, exec to first 200 from /healthz: median %s, max %s over %d starts (target <= 0.5 s)\n",
		times[len(times)/2].Round(time.Millisecond), times[len(times)-1].Round(time.Millisecond), len(times))
	fmt.Fprintf(w, "  startup_ms the binary logged: %s\n", strings.Join(logged, ", "))
	return nil
}

func freePort() int {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
