// Command rtbench measures the realtime core end to end on loopback and
// writes the figures to a text file:
//
//	go run ./realtime/cmd/rtbench -out bench/realtime.txt
//
// (a) idle connections: holds -idle sockets (15 000) against a server
// running as a subprocess, client source addresses spread over 127.0.0.0/8,
// and reports the server's heap and RSS per connection;
// (b) fan-out: one event to -fanout subscribers (10 000) of one channel,
// published through the HTTP API: p50/p99 delivery latency and deliveries/s;
// (c) two nodes over Redis (-redis, default redis://127.0.0.1:6379/0):
// publish on node A, deliver on node B.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/mysharpjob/sharpjob/realtime"
	pusher "github.com/pusher/pusher-http-go/v5"
)

const (
	appID, appKey, appSecret = "bench", "bench-key", "bench-secret"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "server" {
		serve(os.Args[2:])
		return
	}
	out := flag.String("out", "bench/realtime.txt", "results file")
	idle := flag.Int("idle", 15000, "idle connections to hold")
	fanout := flag.Int("fanout", 10000, "subscribers for the fan-out test")
	events := flag.Int("events", 30, "events in the fan-out latency run")
	burst := flag.Int("burst", 50, "events in the fan-out throughput burst")
	redisURL := flag.String("redis", "redis://127.0.0.1:6379/0", "Redis for the two-node run; empty skips it")
	flag.Parse()
	raiseNoFile()

	var rep strings.Builder
	w := func(format string, args ...any) {
		fmt.Fprintf(&rep, format, args...)
		fmt.Printf(format, args...)
	}
	w("# SharpJob realtime benchmark\n# %s, %s %s/%s, %d CPUs, GOMAXPROCS %d\n# command: go run ./realtime/cmd/rtbench -out %s\n\n",
		time.Now().UTC().Format(time.RFC3339), runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), *out)

	floor := rawWriteFloor(5000)
	w("## kernel floor on this machine\n")
	w("raw loopback TCP write, 100 B: %s per write (5000 sockets, no WebSocket, no Go server code)\n", floor)
	w("=> writing one frame to 10 000 sockets costs at least %s of CPU\n\n", (floor * 10000).Round(time.Millisecond))

	// (a) + (b) against one server subprocess.
	srv := startServer("", "")
	defer srv.stop()
	base := srv.stats()
	start := time.Now()
	conns := dialMany(srv.wsAddr, *idle)
	dialTime := time.Since(start)
	time.Sleep(2 * time.Second)
	held := srv.stats()
	n := float64(len(conns))
	w("## (a) idle connections\n")
	w("connections held:            %d (dialled in %s, %.0f/s; source addresses 127.0.0.2-127.0.0.251)\n", len(conns), dialTime.Round(time.Millisecond), n/dialTime.Seconds())
	w("server goroutines:           %d (baseline %d)\n", held.Goroutines, base.Goroutines)
	w("server heap in use / conn:   %.0f B\n", float64(held.HeapInuse-base.HeapInuse)/n)
	w("server stacks / conn:        %.0f B\n", float64(held.StackInuse-base.StackInuse)/n)
	w("server heap+stacks / conn:   %.2f KiB\n", float64(held.HeapInuse+held.StackInuse-base.HeapInuse-base.StackInuse)/n/1024)
	w("server RSS / conn:           %.2f KiB (RSS %d MiB, baseline %d MiB)\n\n", float64(held.RSS-base.RSS)/n/1024, held.RSS>>20, base.RSS>>20)

	// (b) fan-out to subscribers of one channel, among the idle sockets.
	subs := conns
	if len(subs) > *fanout {
		subs = subs[:*fanout]
	}
	for _, c := range conns[len(subs):] {
		c.ws.Close()
	}
	lat, deliveries, rate := fanoutRun(srv.wsAddr, subs, "bench-fanout", *events, *burst)
	fo := srv.fanouts(len(subs))
	w("## (b) fan-out: one event to %d subscribers of one channel (published through the HTTP API)\n", len(subs))
	w("events:                      %d, 250 ms apart\n", *events)
	w("deliveries:                  %d of %d\n", len(lat), *events*len(subs))
	w("delivery latency p50:        %s\n", pct(lat, 50))
	w("delivery latency p90:        %s\n", pct(lat, 90))
	w("delivery latency p99:        %s\n", pct(lat, 99))
	w("delivery latency max:        %s\n", pct(lat, 100))
	w("server write time per event: p50 %s  p99 %s  (first to last socket write, %d events incl. the burst)\n", pct(fo, 50), pct(fo, 99), len(fo))
	w("sustained burst:             %d events back to back -> %d deliveries at %.0f deliveries/s\n\n", *burst, deliveries, rate)
	for _, c := range subs {
		c.ws.Close()
	}
	srv.stop()

	// (c) two nodes over Redis.
	if *redisURL != "" {
		prefix := "rtbench:" + strconv.FormatInt(time.Now().UnixNano(), 36)
		a := startServer(*redisURL, prefix)
		b := startServer(*redisURL, prefix)
		subsB := dialMany(b.wsAddr, 1001)
		// A socket whose read deadline fired is unusable afterwards: one set per run.
		lat1, _, _ := fanoutRunVia(a.wsAddr, subsB[:1], "bench-one", 200, 0, 20*time.Millisecond)
		latN, delN, rateN := fanoutRunVia(a.wsAddr, subsB[1:], "bench-many", 30, 50, 100*time.Millisecond)
		w("## (c) two nodes over Redis pub/sub: publish on node A (HTTP API), deliver on node B\n")
		w("1 subscriber, 200 events:    p50 %s  p99 %s  max %s\n", pct(lat1, 50), pct(lat1, 99), pct(lat1, 100))
		w("1000 subscribers, 30 events: p50 %s  p99 %s  max %s\n", pct(latN, 50), pct(latN, 99), pct(latN, 100))
		w("1000 subscribers, burst 50:  %d deliveries at %.0f deliveries/s\n\n", delN, rateN)
		for _, c := range subsB {
			c.ws.Close()
		}
		a.stop()
		b.stop()
	}
	w("Latency is measured from just before the HTTP publish to the frame's arrival in the\n" +
		"subscriber's read goroutine; client, server (and other work) share the same 2 cores,\n" +
		"so fan-out latency is bounded below by the kernel floor above plus the client's reads.\n")
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		fatal(err)
	}
	if err := os.WriteFile(*out, []byte(rep.String()), 0o644); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "rtbench:", err)
	os.Exit(1)
}

func raiseNoFile() {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err == nil && l.Cur < l.Max {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}

// rawWriteFloor measures the cost of one small write on a loopback TCP
// socket, the lower bound of any fan-out here.
func rawWriteFloor(n int) time.Duration {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, n)
	go func() {
		for i := 0; i < n; i++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			acc <- c
		}
	}()
	var cl, sv []net.Conn
	defer func() {
		for _, c := range append(cl, sv...) {
			c.Close()
		}
	}()
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			fatal(err)
		}
		cl = append(cl, c)
		sv = append(sv, <-acc)
	}
	msg := make([]byte, 100)
	best := time.Hour
	for r := 0; r < 3; r++ {
		t := time.Now()
		for _, c := range sv {
			_, _ = c.Write(msg)
		}
		best = min(best, time.Since(t)/time.Duration(n))
	}
	return best
}

// ---- server subprocess ----

type stats struct {
	HeapInuse, StackInuse, RSS uint64
	Goroutines                 int
}

type serverProc struct {
	cmd       *exec.Cmd
	wsAddr    string
	statsAddr string
}

func startServer(redisURL, prefix string) *serverProc {
	exe, err := os.Executable()
	if err != nil {
		fatal(err)
	}
	ws, st := freePort(), freePort()
	cmd := exec.Command(exe, "server", "-addr", ws, "-stats", st, "-redis", redisURL, "-prefix", prefix)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		fatal(err)
	}
	p := &serverProc{cmd: cmd, wsAddr: ws, statsAddr: st}
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", ws); err == nil {
			c.Close()
			return p
		}
		time.Sleep(50 * time.Millisecond)
	}
	fatal(fmt.Errorf("server did not start on %s", ws))
	return nil
}

func (p *serverProc) stop() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
		}
		p.cmd.Process = nil
	}
}

func (p *serverProc) stats() stats {
	resp, err := http.Get("http://" + p.statsAddr + "/stats")
	if err != nil {
		fatal(err)
	}
	defer resp.Body.Close()
	var s stats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		fatal(err)
	}
	return s
}

// fanouts returns the server's recent fan-out durations to sockets sockets, sorted.
func (p *serverProc) fanouts(sockets int) []time.Duration {
	resp, err := http.Get("http://" + p.statsAddr + "/fanouts")
	if err != nil {
		fatal(err)
	}
	defer resp.Body.Close()
	var all []realtime.FanoutDuration
	if err := json.NewDecoder(resp.Body).Decode(&all); err != nil {
		fatal(err)
	}
	var out []time.Duration
	for _, f := range all {
		if f.Sockets == sockets {
			out = append(out, f.Duration)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func freePort() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// serve is the subprocess: a realtime server plus a stats endpoint.
func serve(args []string) {
	fs := flag.NewFlagSet("server", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:6001", "")
	statsAddr := fs.String("stats", "127.0.0.1:6002", "")
	redisURL := fs.String("redis", "", "")
	prefix := fs.String("prefix", "", "")
	_ = fs.Parse(args)
	raiseNoFile()
	cfg := realtime.Config{Apps: []realtime.App{{ID: appID, Key: appKey, Secret: appSecret, MaxEventBytes: 10240}},
		RedisURL: *redisURL, RedisPrefix: *prefix}
	s, err := realtime.NewServer(cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		fatal(err)
	}
	go func() {
		mux := http.NewServeMux()
		mux.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
			runtime.GC()
			debug.FreeOSMemory()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			_ = json.NewEncoder(w).Encode(stats{HeapInuse: m.HeapInuse, StackInuse: m.StackInuse, RSS: rss(), Goroutines: runtime.NumGoroutine()})
		})
		mux.HandleFunc("/fanouts", func(w http.ResponseWriter, r *http.Request) {
			_ = json.NewEncoder(w).Encode(s.Metrics().Recent)
		})
		_ = http.ListenAndServe(*statsAddr, mux)
	}()
	go func() {
		ch := make(chan os.Signal, 1)
		signalNotify(ch)
		<-ch
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
		os.Exit(0)
	}()
	if err := s.ListenAndServe(*addr); err != nil {
		fatal(err)
	}
}

func rss() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseUint(f[1], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

// ---- clients ----

type benchConn struct {
	ws *websocket.Conn
	id string
}

// dialMany opens n sockets, 16 at a time, from source addresses 127.0.0.2–251.
func dialMany(addr string, n int) []*benchConn {
	out := make([]*benchConn, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Int64
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				src := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%250))}
				d := websocket.Dialer{
					HandshakeTimeout: 10 * time.Second, ReadBufferSize: 1024, WriteBufferSize: 512,
					NetDial: func(network, a string) (net.Conn, error) {
						return (&net.Dialer{LocalAddr: src, Timeout: 10 * time.Second}).Dial(network, a)
					},
				}
				var ws *websocket.Conn
				var err error
				for try := 0; try < 5; try++ {
					ws, _, err = d.Dial("ws://"+addr+"/app/"+appKey+"?protocol=7&client=rtbench&version=1", nil)
					if err == nil {
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
				if err != nil {
					failed.Add(1)
					continue
				}
				_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
				_, b, err := ws.ReadMessage()
				if err != nil {
					failed.Add(1)
					ws.Close()
					continue
				}
				var f struct{ Data string }
				_ = json.Unmarshal(b, &f)
				var est struct {
					SocketID string `json:"socket_id"`
				}
				_ = json.Unmarshal([]byte(f.Data), &est)
				_ = ws.SetReadDeadline(time.Time{})
				out[i] = &benchConn{ws: ws, id: est.SocketID}
			}
		}()
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		fmt.Fprintf(os.Stderr, "rtbench: %d of %d dials failed\n", f, n)
	}
	kept := out[:0]
	for _, c := range out {
		if c != nil {
			kept = append(kept, c)
		}
	}
	return kept
}

func fanoutRun(pubAddr string, subs []*benchConn, channel string, events, burst int) ([]time.Duration, int, float64) {
	return fanoutRunVia(pubAddr, subs, channel, events, burst, 250*time.Millisecond)
}

// fanoutRunVia subscribes subs to channel, publishes events through the HTTP
// API on pubAddr spaced by gap, then a burst, and collects latencies.
func fanoutRunVia(pubAddr string, subs []*benchConn, channel string, events, burst int, gap time.Duration) ([]time.Duration, int, float64) {
	var mu sync.Mutex
	var lat []time.Duration
	var got atomic.Int64
	var subscribed sync.WaitGroup
	var readers sync.WaitGroup
	stop := make(chan struct{})
	for _, c := range subs {
		subscribed.Add(1)
		readers.Add(1)
		go func(c *benchConn) {
			defer readers.Done()
			_ = c.ws.WriteMessage(websocket.TextMessage, []byte(`{"event":"pusher:subscribe","data":{"channel":"`+channel+`"}}`))
			once := false
			local := make([]time.Duration, 0, events)
			defer func() {
				mu.Lock()
				lat = append(lat, local...)
				mu.Unlock()
			}()
			_ = c.ws.SetReadDeadline(time.Now().Add(120 * time.Second))
			for {
				_, b, err := c.ws.ReadMessage()
				if err != nil {
					if !once {
						subscribed.Done()
					}
					return
				}
				now := time.Now()
				if !once && bytes.Contains(b, []byte("subscription_succeeded")) {
					once = true
					subscribed.Done()
					continue
				}
				if i := bytes.Index(b, []byte(`\"t\":`)); i >= 0 {
					j := i + len(`\"t\":`)
					k := j
					for k < len(b) && b[k] >= '0' && b[k] <= '9' {
						k++
					}
					ts, _ := strconv.ParseInt(string(b[j:k]), 10, 64)
					if bytes.Contains(b, []byte(`"lat"`)) {
						local = append(local, now.Sub(time.Unix(0, ts)))
					}
					if got.Add(1) < 0 {
						return
					}
				}
				select {
				case <-stop:
					return
				default:
				}
			}
		}(c)
	}
	waitTimeout(&subscribed, 60*time.Second)
	host, port, _ := net.SplitHostPort(pubAddr)
	p := &pusher.Client{AppID: appID, Key: appKey, Secret: appSecret, Host: host + ":" + port,
		HTTPClient: &http.Client{Timeout: 10 * time.Second}}
	time.Sleep(500 * time.Millisecond)
	for i := 0; i < events; i++ {
		data := fmt.Sprintf(`{"t":%d,"i":%d}`, time.Now().UnixNano(), i)
		if err := p.Trigger(channel, "lat", data); err != nil {
			fmt.Fprintln(os.Stderr, "rtbench: trigger:", err)
		}
		time.Sleep(gap)
	}
	time.Sleep(time.Second)
	rate := 0.0
	deliveries := 0
	if burst > 0 {
		before := got.Load()
		want := before + int64(burst*len(subs))
		start := time.Now()
		for i := 0; i < burst; i++ {
			data := fmt.Sprintf(`{"t":%d,"i":%d}`, time.Now().UnixNano(), i)
			if err := p.Trigger(channel, "burst", data); err != nil {
				fmt.Fprintln(os.Stderr, "rtbench: trigger:", err)
			}
		}
		deadline := time.Now().Add(60 * time.Second)
		for got.Load() < want && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		el := time.Since(start)
		deliveries = int(got.Load() - before)
		rate = float64(deliveries) / el.Seconds()
	}
	close(stop)
	for _, c := range subs {
		_ = c.ws.SetReadDeadline(time.Now())
	}
	waitTimeout(&readers, 30*time.Second)
	for _, c := range subs {
		_ = c.ws.SetReadDeadline(time.Time{})
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat, deliveries, rate
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		fmt.Fprintln(os.Stderr, "rtbench: wait timed out")
	}
}

func pct(sorted []time.Duration, p int) string {
	if len(sorted) == 0 {
		return "n/a"
	}
	i := (len(sorted) - 1) * p / 100
	return sorted[i].Round(10 * time.Microsecond).String()
}
