// Package host is the edge host: a fasthttp server that authenticates each request,
// answers the host-native endpoints (identity, health, metrics, and the mounts other
// packages add: search, broadcasting auth) and routes everything else under /api to
// the Wasm plugins by their manifests.
package host

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/mysharpjob/sharpjob/api"
	"github.com/mysharpjob/sharpjob/host/plugin"
	"github.com/mysharpjob/sharpjob/plugins/sdk/wire"
	"github.com/mysharpjob/sharpjob/store"
)

// Mount is a host-native handler another package contributes (search, broadcasting
// auth). Routes are reserved: no plugin may claim them. Handle reports whether it
// served the request.
type Mount struct {
	Name   string
	Routes []plugin.Route
	Handle func(ctx *fasthttp.RequestCtx, p api.Principal) bool
}

// Server is the edge host.
type Server struct {
	cfg      Config
	db       *store.DB
	identity *Identity
	throttle *Throttle
	plugins  *plugin.Registry
	mounts   []Mount
	log      *slog.Logger
	health   []func() (string, any) // extra /healthz sections

	srv      *fasthttp.Server
	started  time.Time
	reqSeq   atomic.Uint64
	reqBase  string
	requests atomic.Int64
}

// identityRoutes are the host's own routes.
var identityRoutes = []plugin.Route{
	{Method: "POST", Path: "/api/auth/register"},
	{Method: "POST", Path: "/api/auth/login"},
	{Method: "POST", Path: "/api/auth/logout"},
	{Method: "GET", Path: "/api/auth/me"},
}

// ReservedRoutes lists every host-native route, for the plugin registry.
func ReservedRoutes(mounts ...Mount) []plugin.Route {
	out := append([]plugin.Route(nil), identityRoutes...)
	for _, m := range mounts {
		out = append(out, m.Routes...)
	}
	return out
}

// NewServer wires the host. The registry must have been made with ReservedRoutes(mounts...).
func NewServer(cfg Config, db *store.DB, reg *plugin.Registry, log *slog.Logger, mounts ...Mount) *Server {
	throttle := NewThrottle(max(cfg.LoginAttempts, 1), time.Minute)
	var seed [4]byte
	_, _ = rand.Read(seed[:])
	s := &Server{cfg: cfg, db: db, throttle: throttle, identity: NewIdentity(db, cfg.BcryptCost, cfg.TokenCacheTTL, throttle),
		plugins: reg, mounts: mounts, log: log, started: time.Now(), reqBase: hex.EncodeToString(seed[:])}
	s.srv = &fasthttp.Server{
		Handler:               s.Handle,
		Name:                  "sharpjob",
		NoDefaultServerHeader: true,
		MaxRequestBodySize:    cfg.MaxBodyBytes,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           2 * time.Minute,
		CloseOnShutdown:       true,
		Logger:                fasthttpLogger{log},
	}
	return s
}

// Identity exposes the identity service (CLI, broadcasting auth).
func (s *Server) Identity() *Identity { return s.identity }

// AddHealth adds a section to /healthz; f returns its key and value.
func (s *Server) AddHealth(f func() (string, any)) { s.health = append(s.health, f) }

// Serve serves on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.srv.Serve(ln) }

// Shutdown stops accepting, lets requests in flight finish (up to ctx), then returns.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.ShutdownWithContext(ctx) }

type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Warn("fasthttp", "msg", fmt.Sprintf(format, args...))
}

// Handle is the host's request handler.
func (s *Server) Handle(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	s.requests.Add(1)
	rid := s.requestID(ctx)
	ctx.Response.Header.Set("X-Request-Id", rid)
	s.cors(ctx)
	var pluginID string
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("handler panic", "request_id", rid, "panic", fmt.Sprint(r))
			api.Error(ctx, 500, "Server Error")
		}
		if s.cfg.AccessLog {
			s.log.Info("request", "request_id", rid, "method", string(ctx.Method()), "path", string(ctx.Path()),
				"status", ctx.Response.StatusCode(), "duration_ms", float64(time.Since(start).Microseconds())/1000, "plugin", pluginID)
		}
	}()
	if ctx.IsOptions() {
		ctx.SetStatusCode(fasthttp.StatusNoContent)
		return
	}
	path := string(ctx.Path())
	switch path {
	case "/healthz":
		s.healthz(ctx)
		return
	case "/metrics":
		s.metrics(ctx)
		return
	}
	p, ok := s.principal(ctx)
	if !ok {
		return
	}
	if s.identityRoute(ctx, path, p) {
		return
	}
	for _, m := range s.mounts {
		if m.Handle(ctx, p) {
			return
		}
	}
	pluginID = s.dispatch(ctx, path, p, rid)
}

func (s *Server) requestID(ctx *fasthttp.RequestCtx) string {
	if in := ctx.Request.Header.Peek("X-Request-Id"); len(in) > 0 && len(in) <= 64 && safeID(in) {
		return string(in)
	}
	return s.reqBase + "-" + strconv.FormatUint(s.reqSeq.Add(1), 36)
}

func safeID(b []byte) bool {
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// cors answers browsers on other origins; tokens travel in Authorization, never in
// cookies, so credentials are not allowed.
func (s *Server) cors(ctx *fasthttp.RequestCtx) {
	origin := ctx.Request.Header.Peek("Origin")
	if len(origin) == 0 {
		return
	}
	allowed := ""
	for _, o := range s.cfg.CORSOrigins {
		if o == "*" {
			allowed = "*"
			break
		}
		if o == string(origin) {
			allowed = o
			break
		}
	}
	if allowed == "" {
		return
	}
	h := &ctx.Response.Header
	h.Set("Access-Control-Allow-Origin", allowed)
	if allowed != "*" {
		h.Add("Vary", "Origin")
	}
	h.Set("Access-Control-Expose-Headers", "X-Request-Id, X-Plugin, Retry-After")
	if ctx.IsOptions() {
		h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept, X-Requested-With, X-Socket-Id, X-Request-Id")
		h.Set("Access-Control-Max-Age", "86400")
	}
}

// principal resolves the bearer token. A missing or invalid token is a guest (the
// route decides whether that is a 401); a suspended account is refused here.
func (s *Server) principal(ctx *fasthttp.RequestCtx) (api.Principal, bool) {
	h := ctx.Request.Header.Peek("Authorization")
	if len(h) == 0 {
		return api.Principal{}, true
	}
	p, err := s.identity.Authenticate(context.Background(), string(h))
	switch {
	case err == nil:
		return p, true
	case errors.Is(err, errSuspended):
		api.Error(ctx, fasthttp.StatusForbidden, "Your account is suspended.")
		return p, false
	case errors.Is(err, errBadToken):
		return api.Principal{}, true
	default:
		s.log.Error("authenticate", "err", err)
		api.Error(ctx, fasthttp.StatusServiceUnavailable, "Authentication is unavailable, try again.")
		return p, false
	}
}

func (s *Server) dispatch(ctx *fasthttp.RequestCtx, path string, p api.Principal, rid string) string {
	method := string(ctx.Method())
	for attempt := 0; attempt < 3; attempt++ {
		m, ok, other := s.plugins.Lookup(method, path)
		if !ok {
			if other {
				api.Error(ctx, fasthttp.StatusMethodNotAllowed, "The "+method+" method is not supported for route "+path+".")
			} else {
				api.NotFound(ctx)
			}
			return ""
		}
		req := wire.Request{ID: rid, Method: method, Path: path, Route: m.Route, Query: string(ctx.QueryArgs().QueryString()),
			Params: m.Params, User: wire.Principal{ID: p.UserID, Role: p.Role, Name: p.Name, Email: p.Email}, Body: ctx.PostBody()}
		resp, err := m.Version.Handle(context.Background(), &req)
		if errors.Is(err, plugin.ErrDraining) {
			continue // swapped out between lookup and call: the new table has its successor
		}
		if err != nil {
			s.log.Error("plugin request failed", "request_id", rid, "err", err)
		}
		ctx.Response.Header.Set("X-Plugin", m.Version.Manifest.ID())
		ctx.SetStatusCode(resp.Status)
		if resp.ContentType != "" {
			ctx.SetContentType(resp.ContentType)
		}
		for _, h := range resp.Headers {
			if allowedPluginHeader(h.Name) {
				ctx.Response.Header.Set(h.Name, h.Value)
			}
		}
		ctx.SetBody(resp.Body)
		return m.Version.Manifest.ID()
	}
	api.Error(ctx, fasthttp.StatusServiceUnavailable, "The service is reloading, try again.")
	return ""
}

// allowedPluginHeader keeps plugins from setting headers the host owns.
func allowedPluginHeader(name string) bool {
	switch strings.ToLower(name) {
	case "content-length", "connection", "transfer-encoding", "x-plugin", "x-request-id", "set-cookie",
		"access-control-allow-origin", "access-control-allow-credentials":
		return false
	}
	return true
}

func (s *Server) healthz(ctx *fasthttp.RequestCtx) {
	type pluginInfo struct {
		Name        string `json:"name"`
		Version     string `json:"version"`
		Routes      int    `json:"routes"`
		MemoryBytes uint32 `json:"instance_memory_bytes"`
		Requests    int64  `json:"requests"`
		Failures    int64  `json:"failures"`
		LoadedAt    string `json:"loaded_at"`
	}
	status, code := "ok", 200
	pctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	dbErr := s.db.R.PingContext(pctx)
	dbInfo := map[string]any{"mode": s.db.Mode, "driver": store.Driver, "ok": dbErr == nil}
	if dbErr != nil {
		status, code = "degraded", 503
		dbInfo["error"] = "unreachable"
	}
	var plugins []pluginInfo
	for _, v := range s.plugins.Versions() {
		plugins = append(plugins, pluginInfo{Name: v.Manifest.Name, Version: v.Manifest.Version, Routes: len(v.Manifest.Routes),
			MemoryBytes: v.MemoryBytes(), Requests: v.Requests.Load(), Failures: v.Failures.Load(), LoadedAt: v.LoadedAt.UTC().Format(time.RFC3339)})
	}
	body := map[string]any{"status": status, "database": dbInfo, "plugins": plugins, "uptime_seconds": int(time.Since(s.started).Seconds())}
	for _, h := range s.health {
		k, v := h()
		body[k] = v
	}
	api.JSON(ctx, code, body)
}

func (s *Server) metrics(ctx *fasthttp.RequestCtx) {
	var b strings.Builder
	fmt.Fprintf(&b, "# TYPE sharpjob_http_requests_total counter\nsharpjob_http_requests_total %d\n", s.requests.Load())
	b.WriteString("# TYPE sharpjob_plugin_requests_total counter\n# TYPE sharpjob_plugin_failures_total counter\n# TYPE sharpjob_plugin_instances_discarded_total counter\n")
	for _, v := range s.plugins.Versions() {
		l := fmt.Sprintf(`{plugin=%q,version=%q}`, v.Manifest.Name, v.Manifest.Version)
		fmt.Fprintf(&b, "sharpjob_plugin_requests_total%s %d\nsharpjob_plugin_failures_total%s %d\nsharpjob_plugin_instances_discarded_total%s %d\n",
			l, v.Requests.Load(), l, v.Failures.Load(), l, v.Discarded.Load())
	}
	ctx.SetContentType("text/plain; version=0.0.4")
	ctx.SetBodyString(b.String())
}

// ---- identity endpoints ----

func (s *Server) identityRoute(ctx *fasthttp.RequestCtx, path string, p api.Principal) bool {
	if !strings.HasPrefix(path, "/api/auth/") {
		return false
	}
	method := string(ctx.Method())
	switch {
	case path == "/api/auth/register" && method == "POST":
		s.register(ctx)
	case path == "/api/auth/login" && method == "POST":
		s.login(ctx)
	case path == "/api/auth/logout" && method == "POST":
		if !p.Authenticated() {
			api.Unauthenticated(ctx)
			return true
		}
		if err := s.identity.Revoke(context.Background(), string(ctx.Request.Header.Peek("Authorization"))); err != nil {
			s.log.Error("logout", "err", err)
			api.Error(ctx, 500, "Server Error")
			return true
		}
		api.JSON(ctx, 200, map[string]string{"message": "Logged out."})
	case path == "/api/auth/me" && method == "GET":
		if !p.Authenticated() {
			api.Unauthenticated(ctx)
			return true
		}
		u, err := s.identity.User(context.Background(), p.UserID)
		if err != nil {
			s.log.Error("me", "err", err)
			api.Error(ctx, 500, "Server Error")
			return true
		}
		api.JSON(ctx, 200, map[string]any{"user": u})
	default:
		return false
	}
	return true
}

func decodeObject(ctx *fasthttp.RequestCtx) (map[string]any, bool) {
	var in map[string]any
	if err := json.Unmarshal(ctx.PostBody(), &in); err != nil || in == nil {
		api.Error(ctx, fasthttp.StatusBadRequest, "The request body must be a JSON object.")
		return nil, false
	}
	return in, true
}

func (s *Server) register(ctx *fasthttp.RequestCtx) {
	in, ok := decodeObject(ctx)
	if !ok {
		return
	}
	r, errs := ValidateRegistration(in)
	if len(errs) > 0 && errs["email"] == nil && s.identity.EmailTaken(context.Background(), r.Email) {
		errs.Add("email", "The email has already been taken.") // all errors in one answer, as Laravel's validator gives them
	}
	if len(errs) > 0 {
		api.Invalid(ctx, errs)
		return
	}
	u, err := s.identity.Register(context.Background(), r)
	if errors.Is(err, errEmailTaken) {
		api.Invalid(ctx, api.Errors{"email": {"The email has already been taken."}})
		return
	}
	if err != nil {
		s.log.Error("register", "err", err)
		api.Error(ctx, 500, "Server Error")
		return
	}
	token, err := s.identity.Issue(context.Background(), u.ID, "auth")
	if err != nil {
		s.log.Error("register: issue token", "err", err)
		api.Error(ctx, 500, "Server Error")
		return
	}
	api.JSON(ctx, fasthttp.StatusCreated, map[string]any{"user": u, "token": token})
}

func (s *Server) login(ctx *fasthttp.RequestCtx) {
	in, ok := decodeObject(ctx)
	if !ok {
		return
	}
	email, _ := in["email"].(string)
	password, _ := in["password"].(string)
	errs := api.Errors{}
	if strings.TrimSpace(email) == "" {
		errs.Add("email", "The email field is required.")
	}
	if password == "" {
		errs.Add("password", "The password field is required.")
	}
	if len(errs) > 0 {
		api.Invalid(ctx, errs)
		return
	}
	key := strings.ToLower(strings.TrimSpace(email)) + "|" + ctx.RemoteIP().String()
	if wait, blocked := s.throttle.Blocked(key); blocked {
		secs := int(wait.Seconds()) + 1
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(secs))
		api.Error(ctx, fasthttp.StatusTooManyRequests, "Too many login attempts. Please try again in "+strconv.Itoa(secs)+" seconds.")
		return
	}
	u, err := s.identity.Login(context.Background(), email, password)
	switch {
	case errors.Is(err, errBadCredentials):
		s.throttle.Fail(key)
		api.Invalid(ctx, api.Errors{"email": {"These credentials do not match our records."}})
		return
	case errors.Is(err, errSuspended):
		api.Error(ctx, fasthttp.StatusForbidden, "Your account is suspended.")
		return
	case err != nil:
		s.log.Error("login", "err", err)
		api.Error(ctx, 500, "Server Error")
		return
	}
	s.throttle.Clear(key)
	token, err := s.identity.Issue(context.Background(), u.ID, "auth")
	if err != nil {
		s.log.Error("login: issue token", "err", err)
		api.Error(ctx, 500, "Server Error")
		return
	}
	api.JSON(ctx, 200, map[string]any{"user": u, "token": token})
}
