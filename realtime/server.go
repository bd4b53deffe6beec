package realtime

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"
)

// Server is a Pusher-protocol server for one or more apps.
type Server struct {
	cfg    Config
	log    *slog.Logger
	node   string
	apps   map[string]*appState // by id
	byKey  map[string]*appState
	broker Broker
	store  PresenceStore
	rdb    redis.UniversalClient
	hooks  *webhooks

	upgrader websocket.Upgrader
	httpSrv  *fasthttp.Server

	ctx      context.Context
	cancel   context.CancelFunc
	closing  atomic.Bool
	socketN  atomic.Uint64
	sockRand uint64
	bg       sync.WaitGroup
	metrics  metrics
}

// appState is one app's sockets and this node's channel subscribers.
type appState struct {
	app      App
	mu       sync.RWMutex
	channels map[string]map[*conn]struct{}
	sockets  map[string]*conn
	users    map[string]map[*conn]struct{} // signed-in user id → sockets
	watchers map[string]map[*conn]struct{} // user id → signed-in sockets watching it
	count    atomic.Int64
}

// Options override the broker and store ConfigFromEnv would choose; tests
// use them to build several nodes over one in-memory cluster.
type Options struct {
	Broker Broker
	Store  PresenceStore
}

// NewServer validates cfg and builds a server. With cfg.RedisURL it
// connects to Redis for the broker and the store; otherwise both are in memory.
func NewServer(cfg Config, logger *slog.Logger) (*Server, error) {
	return NewServerWith(cfg, logger, Options{})
}

// NewServerWith is NewServer with an explicit broker and store.
func NewServerWith(cfg Config, logger *slog.Logger, opt Options) (*Server, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: logger, apps: map[string]*appState{}, byKey: map[string]*appState{},
		broker: opt.Broker, store: opt.Store}
	var rb [8]byte
	_, _ = rand.Read(rb[:])
	s.node = cfg.NodeID
	if s.node == "" {
		s.node = hex.EncodeToString(rb[:])
	}
	s.sockRand = uint64(rb[0])<<24 | uint64(rb[1])<<16 | uint64(rb[2])<<8 | uint64(rb[3])
	for _, a := range cfg.Apps {
		st := &appState{app: a, channels: map[string]map[*conn]struct{}{}, sockets: map[string]*conn{}, users: map[string]map[*conn]struct{}{}, watchers: map[string]map[*conn]struct{}{}}
		s.apps[a.ID] = st
		s.byKey[a.Key] = st
	}
	if (s.broker == nil || s.store == nil) && cfg.RedisURL != "" {
		o, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("realtime: REDIS_URL: %w", err)
		}
		s.rdb = redis.NewClient(o)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = s.rdb.Ping(ctx).Err()
		cancel()
		if err != nil {
			s.rdb.Close()
			return nil, fmt.Errorf("realtime: redis %s: %w", o.Addr, err)
		}
		if s.broker == nil {
			s.broker = NewRedisBroker(s.rdb, cfg.RedisPrefix)
		}
		if s.store == nil {
			s.store = NewRedisStore(s.rdb, cfg.RedisPrefix)
		}
	}
	if s.store == nil {
		s.store = NewMemoryStore()
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if s.broker != nil {
		if err := s.broker.Subscribe(s.ctx, s.fromBroker); err != nil {
			s.cancel()
			return nil, err
		}
	}
	s.hooks = newWebhooks(s)
	s.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   512,
		WriteBufferSize:  4096,
		WriteBufferPool:  &sync.Pool{},
		CheckOrigin:      s.checkOrigin,
	}
	s.httpSrv = &fasthttp.Server{
		Handler:            s.handler(true),
		Name:               "sharpjob-realtime",
		ReadBufferSize:     4096,
		MaxRequestBodySize: 2 << 20,
		ReadTimeout:        30 * time.Second,
		IdleTimeout:        60 * time.Second,
		NoDefaultDate:      true,
		ReduceMemoryUsage:  true,
		// Sockets outlive the hijack handler's writes: we close them ourselves.
		KeepHijackedConns: true,
		Logger:            fasthttpLogger{logger},
	}
	// A node restarted under the same SHARPJOB_NODE_ID first clears what its
	// previous run left behind (it would never be reaped otherwise).
	rctx, rcancel := context.WithTimeout(s.ctx, 10*time.Second)
	if reaped, err := s.store.Reap(rctx, s.node); err != nil {
		s.log.Warn("realtime: clearing previous state of this node", "node", s.node, "err", err)
	} else {
		s.afterReap(reaped)
	}
	rcancel()
	_ = s.store.Heartbeat(s.ctx, s.node, 3*s.cfg.HeartbeatInterval)
	s.bg.Add(2)
	go s.sweep()
	go s.heartbeat()
	return s, nil
}

type fasthttpLogger struct{ l *slog.Logger }

func (f fasthttpLogger) Printf(format string, args ...any) {
	f.l.Debug(fmt.Sprintf(format, args...))
}

// NodeID is this node's name in the shared store.
func (s *Server) NodeID() string { return s.node }

func (s *Server) checkOrigin(r *http.Request) bool {
	if len(s.cfg.AllowedOrigins) == 0 {
		return true
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	for _, a := range s.cfg.AllowedOrigins {
		if a == "*" || a == o {
			return true
		}
	}
	return false
}

// Handler serves /app/{key} WebSockets, the HTTP API under /apps/{id}/ and
// a health check at / and /up.
//
// It works in any fasthttp.Server; a socket then keeps fasthttp's request
// reader (4 KiB with the default ReadBufferSize) for its lifetime. Serve and
// ListenAndServe avoid that (their server sets KeepHijackedConns).
func (s *Server) Handler() fasthttp.RequestHandler { return s.handler(false) }

// handler serves requests; detach says the fasthttp.Server keeps hijacked
// connections open, so a socket can outlive the hijack handler.
func (s *Server) handler(detach bool) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		p := ctx.Path()
		switch {
		case bytes.HasPrefix(p, []byte("/app/")):
			s.serveWS(ctx, string(p[len("/app/"):]), detach)
		case bytes.HasPrefix(p, []byte("/apps/")):
			s.serveAPI(ctx)
		case string(p) == "/" || string(p) == "/up":
			ctx.SetContentType("text/plain")
			ctx.SetBodyString("OK")
		default:
			ctx.Error("not found", fasthttp.StatusNotFound)
		}
	}
}

// ListenAndServe listens on addr (cfg.Addr when empty) and serves until Shutdown.
func (s *Server) ListenAndServe(addr string) error {
	if addr == "" {
		addr = s.cfg.Addr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(ln)
}

// Serve serves on ln until Shutdown, with TLS when the config has a
// certificate.
func (s *Server) Serve(ln net.Listener) error {
	var err error
	if s.cfg.TLSCertFile != "" {
		err = s.httpSrv.ServeTLS(ln, s.cfg.TLSCertFile, s.cfg.TLSKeyFile)
	} else {
		err = s.httpSrv.Serve(ln)
	}
	if s.closing.Load() {
		return nil
	}
	return err
}

// Shutdown closes every socket with 4200 (clients reconnect, to another node
// if there is one), waits for them to drain, removes this node from the
// shared store and flushes webhooks, within ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	if !s.closing.CompareAndSwap(false, true) {
		return nil
	}
	var all []*conn
	for _, a := range s.apps {
		a.mu.RLock()
		for _, c := range a.sockets {
			all = append(all, c)
		}
		a.mu.RUnlock()
	}
	for _, c := range all {
		c.closeWith(CodeReconnect, "Server shutting down")
	}
	_ = s.httpSrv.ShutdownWithContext(ctx)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
wait:
	for s.connCount() > 0 {
		select {
		case <-ctx.Done():
			break wait
		case <-tick.C:
		}
	}
	s.cancel()
	s.bg.Wait()
	rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	reaped, _ := s.store.Reap(rctx, s.node)
	cancel()
	s.afterReap(reaped)
	s.hooks.close(ctx)
	if s.broker != nil {
		_ = s.broker.Close()
	}
	if s.rdb != nil {
		_ = s.rdb.Close()
	}
	return ctx.Err()
}

func (s *Server) connCount() int64 {
	var n int64
	for _, a := range s.apps {
		n += a.count.Load()
	}
	return n
}

// sweep pings silent sockets, closes those that do not answer (4201) and
// those that never subscribed (4202). One goroutine for all sockets.
func (s *Server) sweep() {
	defer s.bg.Done()
	every := min(s.cfg.ActivityTimeout, s.cfg.PongTimeout) / 4
	if s.cfg.UnsubscribedTimeout > 0 {
		every = min(every, s.cfg.UnsubscribedTimeout/4)
	}
	every = max(min(every, 5*time.Second), 50*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	var batch []*conn
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now().UnixNano()
		for _, a := range s.apps {
			batch = batch[:0]
			a.mu.RLock()
			for _, c := range a.sockets {
				batch = append(batch, c)
			}
			a.mu.RUnlock()
			for _, c := range batch {
				c.checkActivity(now)
			}
		}
		clear(batch)
	}
}

func (s *Server) heartbeat() {
	defer s.bg.Done()
	t := time.NewTicker(s.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(s.ctx, s.cfg.HeartbeatInterval)
		if err := s.store.Heartbeat(ctx, s.node, 3*s.cfg.HeartbeatInterval); err != nil {
			s.log.Warn("realtime: heartbeat", "err", err)
		}
		reaped, err := s.store.Reap(ctx, "")
		cancel()
		if err != nil {
			s.log.Warn("realtime: reap", "err", err)
		}
		s.afterReap(reaped)
	}
}

// afterReap announces the departures of a dead node's sockets.
func (s *Server) afterReap(reaped []Reaped) {
	for _, r := range reaped {
		a := s.apps[r.App]
		if a == nil {
			continue
		}
		s.afterLeave(a, r.Channel, "", r.LeaveResult)
	}
}

// newSocketID returns a unique "N.N" socket id.
func (s *Server) newSocketID() string {
	n := s.socketN.Add(1)
	return strconv.FormatUint(s.sockRand, 10) + "." + strconv.FormatUint(n, 10)
}

// fromBroker delivers another node's message here.
func (s *Server) fromBroker(m Message) {
	if m.Node == s.node {
		return
	}
	if a := s.apps[m.App]; a != nil {
		s.deliverLocal(a, m)
	}
}

// publish delivers m here and to every other node.
func (s *Server) publish(ctx context.Context, a *appState, m Message) error {
	m.Node, m.App = s.node, a.app.ID
	s.deliverLocal(a, m)
	if s.broker != nil {
		return s.broker.Publish(ctx, m)
	}
	return nil
}

// deliverLocal sends m to this node's subscribers, encoding the frame once.
func (s *Server) deliverLocal(a *appState, m Message) {
	if m.Kind == "watch" {
		a.mu.RLock()
		var cs []*conn
		for c := range a.watchers[m.UserID] {
			cs = append(cs, c)
		}
		a.mu.RUnlock()
		if len(cs) > 0 {
			frame := watchlistFrame(m.Data, []string{m.UserID})
			for _, c := range cs {
				c.sendBytes(frame)
			}
		}
		return
	}
	if m.Kind == "terminate" {
		a.mu.RLock()
		var cs []*conn
		for c := range a.users[m.UserID] {
			cs = append(cs, c)
		}
		a.mu.RUnlock()
		for _, c := range cs {
			c.closeWith(CodeUnauthorized, "Connection terminated by the server")
		}
		return
	}
	a.mu.RLock()
	subs := a.channels[m.Channel]
	if len(subs) == 0 {
		a.mu.RUnlock()
		return
	}
	bp := connSlicePool.Get().(*[]*conn)
	list := (*bp)[:0]
	for c := range subs {
		if c.id != m.Exclude {
			list = append(list, c)
		}
	}
	a.mu.RUnlock()
	var frame []byte
	if m.Raw {
		frame = rawEventFrame(m.Event, m.Channel, []byte(m.Data), m.UserID)
	} else {
		frame = eventFrame(m.Event, m.Channel, m.Data, m.UserID)
	}
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, frame)
	if err == nil {
		t0 := time.Now()
		fanout(list, pm)
		s.metrics.record(len(list), time.Since(t0))
	}
	clear(list)
	*bp = list[:0]
	connSlicePool.Put(bp)
}

var connSlicePool = sync.Pool{New: func() any { s := make([]*conn, 0, 64); return &s }}

// fanoutShard is the number of sockets one goroutine writes to in a fan-out.
const fanoutShard = 512

// fanout writes one prepared frame (encoded once) to every socket in list:
// inline when a socket has nothing queued, else through its queue. Large
// lists are split across GOMAXPROCS goroutines.
func fanout(list []*conn, pm *websocket.PreparedMessage) {
	if len(list) <= fanoutShard {
		for _, c := range list {
			c.sendNow(pm)
		}
		return
	}
	workers := min(runtime.GOMAXPROCS(0), (len(list)+fanoutShard-1)/fanoutShard)
	per := (len(list) + workers - 1) / workers
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		part := list[min(w*per, len(list)):min((w+1)*per, len(list))]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, c := range part {
				c.sendNow(pm)
			}
		}()
	}
	for _, c := range list[:min(per, len(list))] {
		c.sendNow(pm)
	}
	wg.Wait()
}

var errUnknownApp = errors.New("unknown app")

// Metrics is a snapshot of the server's counters.
type Metrics struct {
	Connections int64            // open sockets, all apps
	Deliveries  uint64           // frames handed to sockets by fan-out
	Fanouts     uint64           // events fanned out on this node
	Recent      []FanoutDuration // the last fan-outs to 100+ sockets, oldest first
}

// FanoutDuration is how long writing one event to Sockets sockets took.
type FanoutDuration struct {
	Sockets  int
	Duration time.Duration
}

type metrics struct {
	deliveries, fanouts atomic.Uint64
	mu                  sync.Mutex
	ring                [256]FanoutDuration
	n                   int
}

func (m *metrics) record(sockets int, d time.Duration) {
	m.deliveries.Add(uint64(sockets))
	m.fanouts.Add(1)
	if sockets < 100 {
		return
	}
	m.mu.Lock()
	m.ring[m.n%len(m.ring)] = FanoutDuration{sockets, d}
	m.n++
	m.mu.Unlock()
}

// Metrics returns the server's counters (for /metrics and benchmarks).
func (s *Server) Metrics() Metrics {
	out := Metrics{Connections: s.connCount(), Deliveries: s.metrics.deliveries.Load(), Fanouts: s.metrics.fanouts.Load()}
	s.metrics.mu.Lock()
	defer s.metrics.mu.Unlock()
	n := min(s.metrics.n, len(s.metrics.ring))
	for i := s.metrics.n - n; i < s.metrics.n; i++ {
		out.Recent = append(out.Recent, s.metrics.ring[i%len(s.metrics.ring)])
	}
	return out
}

// WriteMetrics writes the counters in the Prometheus text format, for the
// host's /metrics.
func (s *Server) WriteMetrics(w io.Writer) error {
	m := s.Metrics()
	var b strings.Builder
	b.WriteString("# HELP sharpjob_realtime_connections Open WebSocket connections on this node.\n# TYPE sharpjob_realtime_connections gauge\n")
	for _, a := range s.cfg.Apps {
		fmt.Fprintf(&b, "sharpjob_realtime_connections{app=%q} %d\n", a.ID, s.apps[a.ID].count.Load())
	}
	fmt.Fprintf(&b, "# HELP sharpjob_realtime_deliveries_total Frames handed to sockets by fan-out.\n# TYPE sharpjob_realtime_deliveries_total counter\nsharpjob_realtime_deliveries_total %d\n", m.Deliveries)
	fmt.Fprintf(&b, "# HELP sharpjob_realtime_fanouts_total Events fanned out on this node.\n# TYPE sharpjob_realtime_fanouts_total counter\nsharpjob_realtime_fanouts_total %d\n", m.Fanouts)
	_, err := io.WriteString(w, b.String())
	return err
}
