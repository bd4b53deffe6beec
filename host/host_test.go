package host_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mysharpjob/sharpjob/host"
	"github.com/mysharpjob/sharpjob/host/plugin"
	"github.com/mysharpjob/sharpjob/internal/testenv"
	"github.com/mysharpjob/sharpjob/realtime"
	"github.com/mysharpjob/sharpjob/store"
)

var (
	buildOnce sync.Once
	pluginDir string
)

func builtPlugins(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		pluginDir = filepath.Join(testenv.Root(), ".cache", "host-test-plugins")
		testenv.BuildPlugin(t, "./plugins/jobs/wasm", "plugins/jobs/manifest.json", pluginDir)
		testenv.BuildPlugin(t, "./plugins/messages/wasm", "plugins/messages/manifest.json", pluginDir)
		testenv.BuildPlugin(t, "./plugins/profiles/wasm", "plugins/profiles/manifest.json", pluginDir)
	})
	return pluginDir
}

type bus struct {
	mu     sync.Mutex
	events []string
}

func (b *bus) Broadcast(_ context.Context, channels []string, event string, data []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.events = append(b.events, strings.Join(channels, ",")+" "+event)
	return nil
}

func (b *bus) list() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.events...)
}

type harness struct {
	url  string
	db   *store.DB
	reg  *plugin.Registry
	env  *plugin.Env
	bus  *bus
	srv  *host.Server
	dir  string
	http *http.Client
}

// start runs a host over the given database URL (a file or a sqld) with the jobs plugin.
func start(t *testing.T, dbURL string) *harness {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range []string{"jobs.wasm", "jobs.json", "messages.wasm", "messages.json", "profiles.wasm", "profiles.json"} {
		b, err := os.ReadFile(filepath.Join(builtPlugins(t), f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, f), b, 0o644)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := host.Config{BcryptCost: 4, TokenCacheTTL: time.Second, LoginAttempts: 3, MaxBodyBytes: 1 << 20, CORSOrigins: []string{"*"}, PluginDir: dir}
	b := &bus{}
	env := &plugin.Env{DB: db, Guard: plugin.NewGuard(db), Bus: b, Logger: log, CacheDir: filepath.Join(testenv.Root(), ".cache", "wazero")}
	app := realtime.App{ID: "app", Key: "app-key", Secret: "app-secret"}
	mounts := []host.Mount{host.NewBroadcastAuth(db, app, nil).Mount()}
	reg := plugin.NewRegistry(env, host.ReservedRoutes(mounts...))
	if _, err := reg.LoadDir(ctx, dir); err != nil {
		t.Fatal(err)
	}
	srv := host.NewServer(cfg, db, reg, log, mounts...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Shutdown(context.Background())
		reg.Close(context.Background())
	})
	return &harness{url: "http://" + ln.Addr().String(), db: db, reg: reg, env: env, bus: b, srv: srv, dir: dir, http: httpClient()}
}

func httpClient() *http.Client { return &http.Client{Timeout: 10 * time.Second} }

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (h *harness) do(t *testing.T, method, path, token string, body any) response {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		r = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, h.url+path, r)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := h.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := response{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	json.Unmarshal(raw, &out.body)
	return out
}

func (h *harness) register(t *testing.T, name, email, role string) (string, int64) {
	t.Helper()
	r := h.do(t, "POST", "/api/auth/register", "", map[string]any{"name": name, "email": email, "password": "correct horse", "password_confirmation": "correct horse", "role": role})
	if r.status != 201 {
		t.Fatalf("register %s: %d %s", email, r.status, r.raw)
	}
	return r.body["token"].(string), int64(r.body["user"].(map[string]any)["id"].(float64))
}

func validJob() map[string]any {
	return map[string]any{"title": "Fix my kitchen sink", "description": "The kitchen sink has leaked for a week now.", "category": "Plumbing",
		"skills": []string{"plumbing", "Pipe fitting", "plumbing"}, "budget": 2500000, "currency": "NGN", "lat": 6.5244, "lng": 3.3792, "address": "Yaba, Lagos"}
}

// dataModes runs f against an embedded file and against a real sqld.
func dataModes(t *testing.T, f func(t *testing.T, h *harness)) {
	t.Run("embedded", func(t *testing.T) { f(t, start(t, "file:"+filepath.Join(t.TempDir(), "t.db"))) })
	t.Run("sqld", func(t *testing.T) { f(t, start(t, testenv.StartSQLD(t).URL)) })
}

func TestJobsEndToEnd(t *testing.T) {
	dataModes(t, func(t *testing.T, h *harness) {
		client, clientID := h.register(t, "Ada Obi", "ada@example.ng", "client")
		artisan, _ := h.register(t, "Tunde Bello", "tunde@example.ng", "artisan")
		other, _ := h.register(t, "Ngozi Eze", "ngozi@example.ng", "client")

		if r := h.do(t, "POST", "/api/jobs", "", validJob()); r.status != 401 || r.body["message"] != "Unauthenticated." {
			t.Fatalf("no token: %d %s", r.status, r.raw)
		}
		if r := h.do(t, "POST", "/api/jobs", "99|notarealtokenatallnotreal", validJob()); r.status != 401 {
			t.Fatalf("forged token: %d %s", r.status, r.raw)
		}
		if r := h.do(t, "POST", "/api/jobs", artisan, validJob()); r.status != 403 {
			t.Fatalf("artisan posting: %d %s", r.status, r.raw)
		}
		bad := map[string]any{"title": "Fix", "budget": 12.5, "skills": "plumbing", "lat": 91, "currency": "XYZ", "colour": "red"}
		r := h.do(t, "POST", "/api/jobs", client, bad)
		if r.status != 422 {
			t.Fatalf("invalid body: %d %s", r.status, r.raw)
		}
		errs := r.body["errors"].(map[string]any)
		for _, field := range []string{"title", "description", "category", "skills", "budget", "currency", "lat", "lng", "colour"} {
			if errs[field] == nil {
				t.Errorf("no error for %s in %s", field, r.raw)
			}
		}
		if r := h.do(t, "POST", "/api/jobs", client, "{not json"); r.status != 400 {
			t.Fatalf("malformed JSON: %d %s", r.status, r.raw)
		}
		var n int
		h.db.R.QueryRow(`SELECT count(*) FROM jobs`).Scan(&n)
		if n != 0 {
			t.Fatalf("%d jobs stored after rejected requests", n)
		}

		r = h.do(t, "POST", "/api/jobs", client, validJob())
		if r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.raw)
		}
		if got := r.header.Get("X-Plugin"); got != "jobs@1.0.0" {
			t.Fatalf("X-Plugin = %q", got)
		}
		job := r.body["data"].(map[string]any)
		id := int64(job["id"].(float64))
		if job["category"] != "plumbing" || len(job["skills"].([]any)) != 2 || job["budget"].(float64) != 2500000 ||
			int64(job["client_id"].(float64)) != clientID || job["status"] != "open" {
			t.Fatalf("created job: %s", r.raw)
		}

		if r := h.do(t, "GET", fmt.Sprintf("/api/jobs/%d", id), "", nil); r.status != 200 || r.body["data"].(map[string]any)["title"] != "Fix my kitchen sink" {
			t.Fatalf("show: %d %s", r.status, r.raw)
		}
		if r := h.do(t, "GET", "/api/jobs/999999", "", nil); r.status != 404 {
			t.Fatalf("show missing: %d", r.status)
		}
		for i := 0; i < 4; i++ {
			j := validJob()
			j["title"] = fmt.Sprintf("Tile the bathroom %d", i)
			j["category"] = "tiling"
			if r := h.do(t, "POST", "/api/jobs", other, j); r.status != 201 {
				t.Fatalf("create %d: %d %s", i, r.status, r.raw)
			}
		}
		r = h.do(t, "GET", "/api/jobs?per_page=2&page=2&category=tiling", "", nil)
		meta := r.body["meta"].(map[string]any)
		if r.status != 200 || meta["total"].(float64) != 4 || meta["last_page"].(float64) != 2 || len(r.body["data"].([]any)) != 2 {
			t.Fatalf("list: %d %s", r.status, r.raw)
		}
		if next := r.body["links"].(map[string]any)["next"]; next != nil {
			t.Fatalf("last page has next link %v", next)
		}
		if r := h.do(t, "GET", "/api/jobs?per_page=500&status=nope", "", nil); r.status != 422 || r.body["errors"].(map[string]any)["per_page"] == nil {
			t.Fatalf("bad list params: %d %s", r.status, r.raw)
		}

		path := fmt.Sprintf("/api/jobs/%d", id)
		if r := h.do(t, "PATCH", path, other, map[string]any{"title": "Mine now, thanks"}); r.status != 403 {
			t.Fatalf("patch by stranger: %d %s", r.status, r.raw)
		}
		if r := h.do(t, "PATCH", path, client, map[string]any{"budget": -5}); r.status != 422 {
			t.Fatalf("patch invalid: %d %s", r.status, r.raw)
		}
		if r := h.do(t, "PATCH", path, client, map[string]any{"budget": 3000000, "lat": 7.0}); r.status != 422 || r.body["errors"].(map[string]any)["lng"] == nil {
			t.Fatalf("patch lat without lng: %d %s", r.status, r.raw)
		}
		r = h.do(t, "PATCH", path, client, map[string]any{"budget": 3000000, "status": "cancelled"})
		if r.status != 200 || r.body["data"].(map[string]any)["budget"].(float64) != 3000000 || r.body["data"].(map[string]any)["status"] != "cancelled" {
			t.Fatalf("patch: %d %s", r.status, r.raw)
		}
		events := h.bus.list()
		if len(events) != 1 || events[0] != fmt.Sprintf("private-job.%d,private-user.%d job.updated", id, clientID) {
			t.Fatalf("broadcasts after the status change: %q", events)
		}
		if r := h.do(t, "DELETE", path, client, nil); r.status != 409 {
			t.Fatalf("delete a cancelled job: %d %s", r.status, r.raw)
		}
		r = h.do(t, "GET", "/api/jobs?category=tiling&per_page=1", "", nil)
		otherJob := int64(r.body["data"].([]any)[0].(map[string]any)["id"].(float64))
		if r := h.do(t, "DELETE", fmt.Sprintf("/api/jobs/%d", otherJob), client, nil); r.status != 403 {
			t.Fatalf("delete someone else's job: %d", r.status)
		}
		if r := h.do(t, "DELETE", fmt.Sprintf("/api/jobs/%d", otherJob), other, nil); r.status != 200 {
			t.Fatalf("delete: %d %s", r.status, r.raw)
		}
		if r := h.do(t, "GET", fmt.Sprintf("/api/jobs/%d", otherJob), "", nil); r.status != 404 {
			t.Fatalf("deleted job still served: %d", r.status)
		}
		if r := h.do(t, "PUT", path, client, nil); r.status != 405 {
			t.Fatalf("PUT on a PATCH route: %d", r.status)
		}
	})
}

func TestIdentity(t *testing.T) {
	dataModes(t, func(t *testing.T, h *harness) {
		token, _ := h.register(t, "Ada Obi", "ada@example.ng", "client")
		if !strings.Contains(token, "|") || len(strings.SplitN(token, "|", 2)[1]) != 40 {
			t.Fatalf("token %q is not Sanctum-shaped", token)
		}
		var stored string
		h.db.R.QueryRow(`SELECT token_hash FROM personal_access_tokens`).Scan(&stored)
		if strings.Contains(token, stored) || len(stored) != 64 {
			t.Fatalf("token stored as %q: want a SHA-256 hex of the secret only", stored)
		}
		var hash string
		h.db.R.QueryRow(`SELECT password_hash FROM users`).Scan(&hash)
		if !strings.HasPrefix(hash, "$2a$") {
			t.Fatalf("password stored as %q, want bcrypt", hash)
		}
		r := h.do(t, "POST", "/api/auth/register", "", map[string]any{"name": "A", "email": "ADA@example.ng", "password": "short", "password_confirmation": "other", "role": "admin"})
		errs, _ := r.body["errors"].(map[string]any)
		if r.status != 422 || errs["email"] == nil || errs["password"] == nil || errs["role"] == nil || errs["name"] == nil {
			t.Fatalf("bad registration: %d %s", r.status, r.raw)
		}
		if r := h.do(t, "GET", "/api/auth/me", token, nil); r.status != 200 || r.body["user"].(map[string]any)["email"] != "ada@example.ng" || strings.Contains(r.raw, "password") {
			t.Fatalf("me: %d %s", r.status, r.raw)
		}
		if r := h.do(t, "POST", "/api/auth/login", "", map[string]any{"email": "ada@example.ng", "password": "correct horse"}); r.status != 200 || r.body["token"] == nil {
			t.Fatalf("login: %d %s", r.status, r.raw)
		}
		for i := 0; i < 3; i++ {
			if r := h.do(t, "POST", "/api/auth/login", "", map[string]any{"email": "ada@example.ng", "password": "wrong"}); r.status != 422 {
				t.Fatalf("wrong password %d: %d", i, r.status)
			}
		}
		r = h.do(t, "POST", "/api/auth/login", "", map[string]any{"email": "ada@example.ng", "password": "correct horse"})
		if r.status != 429 || r.header.Get("Retry-After") == "" {
			t.Fatalf("throttled login: %d, Retry-After %q", r.status, r.header.Get("Retry-After"))
		}
		if r := h.do(t, "POST", "/api/auth/logout", token, nil); r.status != 200 {
			t.Fatalf("logout: %d", r.status)
		}
		if r := h.do(t, "GET", "/api/auth/me", token, nil); r.status != 401 {
			t.Fatalf("revoked token still works: %d", r.status)
		}
	})
}

func TestBroadcastingAuth(t *testing.T) {
	h := start(t, "file:"+filepath.Join(t.TempDir(), "t.db"))
	client, clientID := h.register(t, "Ada", "ada@example.ng", "client")
	_, artisanID := h.register(t, "Tunde", "tunde@example.ng", "artisan")
	stranger, _ := h.register(t, "Ngozi", "ngozi@example.ng", "client")
	r := h.do(t, "POST", "/api/jobs", client, validJob())
	jobID := int64(r.body["data"].(map[string]any)["id"].(float64))
	h.db.W.Exec(`UPDATE jobs SET artisan_id = ? WHERE id = ?`, artisanID, jobID)
	artisanToken, _ := h.do(t, "POST", "/api/auth/login", "", map[string]any{"email": "tunde@example.ng", "password": "correct horse"}).body["token"].(string)

	auth := func(token, channel string) response {
		form := url.Values{"socket_id": {"123.456"}, "channel_name": {channel}}
		req, _ := http.NewRequest("POST", h.url+"/broadcasting/auth", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := h.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		out := response{status: resp.StatusCode, raw: string(raw)}
		json.Unmarshal(raw, &out.body)
		return out
	}
	cases := []struct {
		token, channel string
		status         int
	}{
		{client, fmt.Sprintf("private-user.%d", clientID), 200},
		{client, fmt.Sprintf("private-user.%d", artisanID), 403},
		{client, fmt.Sprintf("private-job.%d", jobID), 200},
		{artisanToken, fmt.Sprintf("private-job.%d", jobID), 200},
		{stranger, fmt.Sprintf("private-job.%d", jobID), 403},
		{client, "private-job.999", 403},
		{client, "private-admin", 403},
		{"", fmt.Sprintf("private-user.%d", clientID), 403},
		{client, fmt.Sprintf("presence-job.%d", jobID), 200},
	}
	for _, c := range cases {
		r := auth(c.token, c.channel)
		if r.status != c.status {
			t.Errorf("%s: %d %s, want %d", c.channel, r.status, r.raw, c.status)
		}
	}
	ch := fmt.Sprintf("private-user.%d", clientID)
	r = auth(client, ch)
	if want := realtime.SignChannel("app-key", "app-secret", "123.456", ch, ""); r.body["auth"] != want {
		t.Fatalf("auth = %v, want %s", r.body["auth"], want)
	}
	r = auth(client, fmt.Sprintf("presence-job.%d", jobID))
	data, _ := r.body["channel_data"].(string)
	if !strings.Contains(data, fmt.Sprintf(`"user_id":"%d"`, clientID)) || r.body["auth"] != realtime.SignChannel("app-key", "app-secret", "123.456", fmt.Sprintf("presence-job.%d", jobID), data) {
		t.Fatalf("presence auth: %s", r.raw)
	}
}

// TestHotSwapDropsNoRequest swaps the jobs plugin back and forth while clients hammer
// it: every request must succeed, and the answers must come from both versions.
func TestHotSwapDropsNoRequest(t *testing.T) {
	h := start(t, "file:"+filepath.Join(t.TempDir(), "t.db"))
	client, _ := h.register(t, "Ada", "ada@example.ng", "client")
	id := int64(h.do(t, "POST", "/api/jobs", client, validJob()).body["data"].(map[string]any)["id"].(float64))
	manifest, _ := os.ReadFile(filepath.Join(h.dir, "jobs.json"))
	reloader := host.NewReloader(h.reg, h.env, h.dir, slog.New(slog.NewTextHandler(io.Discard, nil)))

	var (
		mu       sync.Mutex
		failures []string
		versions = map[string]int{}
		wg       sync.WaitGroup
	)
	stop := make(chan struct{})
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := h.http.Get(fmt.Sprintf("%s/api/jobs/%d", h.url, id))
				mu.Lock()
				if err != nil {
					failures = append(failures, err.Error())
				} else {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						failures = append(failures, resp.Status)
					}
					versions[resp.Header.Get("X-Plugin")]++
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < 6; i++ {
		time.Sleep(100 * time.Millisecond)
		v := fmt.Sprintf(`"version": "1.0.%d"`, i+1)
		os.WriteFile(filepath.Join(h.dir, "jobs.json"), bytes.Replace(manifest, []byte(`"version": "1.0.0"`), []byte(v), 1), 0o644)
		swapped, err := reloader.Reload(context.Background())
		if err != nil || len(swapped) != 1 {
			t.Fatalf("reload %d: %v %v", i, swapped, err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d requests failed during hot swaps, e.g. %q", len(failures), failures[0])
	}
	if len(versions) < 3 {
		t.Fatalf("answers came from %v: the swaps did not take", versions)
	}
	os.WriteFile(filepath.Join(h.dir, "jobs.json"), []byte(`{"name": "jobs", "version": "oops"}`), 0o644)
	if _, err := reloader.Reload(context.Background()); err == nil {
		t.Fatal("a broken manifest was swapped in")
	}
	if r := h.do(t, "GET", fmt.Sprintf("/api/jobs/%d", id), "", nil); r.status != 200 || r.header.Get("X-Plugin") != "jobs@1.0.6" {
		t.Fatalf("after a failed reload: %d %s", r.status, r.header.Get("X-Plugin"))
	}
}

func TestHealthzAndCORS(t *testing.T) {
	h := start(t, "file:"+filepath.Join(t.TempDir(), "t.db"))
	r := h.do(t, "GET", "/healthz", "", nil)
	plugins, _ := r.body["plugins"].([]any)
	if r.status != 200 || r.body["status"] != "ok" || len(plugins) != 3 || plugins[0].(map[string]any)["name"] != "jobs" || plugins[0].(map[string]any)["version"] != "1.0.0" ||
		r.body["database"].(map[string]any)["mode"] != "embedded" {
		t.Fatalf("healthz: %d %s", r.status, r.raw)
	}
	req, _ := http.NewRequest("OPTIONS", h.url+"/api/jobs", nil)
	req.Header.Set("Origin", "http://localhost:5173")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := h.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	if r := h.do(t, "GET", "/api/jobs/1", "", nil); r.header.Get("X-Request-Id") == "" {
		t.Fatal("no X-Request-Id")
	}
}

func TestMessages(t *testing.T) {
	dataModes(t, func(t *testing.T, h *harness) {
		a, idA := h.register(t, "Ada Obi", "ada@example.ng", "client")
		b, idB := h.register(t, "Tunde Bello", "tunde@example.ng", "artisan")
		c, _ := h.register(t, "Ngozi Eze", "ngozi@example.ng", "client")
		if r := h.do(t, "POST", "/api/messages", "", map[string]any{"recipient_id": idB, "content": "hi"}); r.status != 401 {
			t.Fatalf("guest send: %d", r.status)
		}
		for _, bad := range []map[string]any{
			{"recipient_id": idA, "content": "me"},
			{"recipient_id": 9999, "content": "nobody"},
			{"recipient_id": idB, "content": ""},
			{"recipient_id": idB, "content": "x", "message_type": "image"},
			{"recipient_id": "two", "content": "x"},
		} {
			if r := h.do(t, "POST", "/api/messages", a, bad); r.status != 422 {
				t.Fatalf("%v: %d %s", bad, r.status, r.raw)
			}
		}
		for i := 0; i < 3; i++ {
			if r := h.do(t, "POST", "/api/messages", a, map[string]any{"recipient_id": idB, "content": fmt.Sprintf("hello %d", i)}); r.status != 201 {
				t.Fatalf("send %d: %d %s", i, r.status, r.raw)
			}
		}
		h.do(t, "POST", "/api/messages", b, map[string]any{"recipient_id": idA, "content": "on my way"})
		h.do(t, "POST", "/api/messages", c, map[string]any{"recipient_id": idA, "content": "are you free?"})
		if n := len(h.bus.list()); n != 5 {
			t.Fatalf("%d broadcasts for 5 messages", n)
		}
		r := h.do(t, "GET", fmt.Sprintf("/api/conversations/%d/messages?per_page=2", idB), a, nil)
		data := r.body["data"].([]any)
		if r.status != 200 || r.body["meta"].(map[string]any)["total"].(float64) != 4 || len(data) != 2 || data[0].(map[string]any)["content"] != "on my way" {
			t.Fatalf("thread: %d %s", r.status, r.raw)
		}
		r = h.do(t, "GET", "/api/conversations", a, nil)
		convs := r.body["data"].([]any)
		if r.status != 200 || len(convs) != 2 {
			t.Fatalf("conversations: %d %s", r.status, r.raw)
		}
		latest := convs[0].(map[string]any)
		if latest["other_user"].(map[string]any)["name"] != "Ngozi Eze" || latest["unread_count"].(float64) != 1 {
			t.Fatalf("latest conversation: %v", latest)
		}
		if r := h.do(t, "GET", fmt.Sprintf("/api/conversations/%d/messages", idB), c, nil); r.status != 200 || len(r.body["data"].([]any)) != 0 {
			t.Fatalf("a third party sees the thread: %s", r.raw)
		}
	})
}

func TestArtisanProfiles(t *testing.T) {
	dataModes(t, func(t *testing.T, h *harness) {
		artisan, id := h.register(t, "Tunde Bello", "tunde@example.ng", "artisan")
		client, _ := h.register(t, "Ada Obi", "ada@example.ng", "client")
		if r := h.do(t, "GET", "/api/profile/artisan", client, nil); r.status != 403 {
			t.Fatalf("client reading an artisan profile: %d", r.status)
		}
		if r := h.do(t, "PUT", "/api/profile/artisan", "", map[string]any{"bio": "x"}); r.status != 401 {
			t.Fatalf("guest update: %d", r.status)
		}
		r := h.do(t, "PUT", "/api/profile/artisan", artisan, map[string]any{"lat": 6.5, "hourly_rate": -1, "availability": "asleep", "skills": []any{}})
		errs, _ := r.body["errors"].(map[string]any)
		if r.status != 422 || errs["lng"] == nil || errs["hourly_rate"] == nil || errs["availability"] == nil || errs["skills"] == nil {
			t.Fatalf("invalid profile: %d %s", r.status, r.raw)
		}
		var outbox int
		h.db.R.QueryRow(`SELECT count(*) FROM search_outbox WHERE index_name = 'artisans'`).Scan(&outbox)
		if outbox != 0 {
			t.Fatalf("a refused update wrote %d outbox rows", outbox)
		}
		r = h.do(t, "PUT", "/api/profile/artisan", artisan, map[string]any{"headline": "Master plumber", "skills": []string{"Plumbing", "pipe fitting"},
			"categories": []string{"plumbing"}, "hourly_rate": 500000, "lat": 6.5244, "lng": 3.3792, "city": "Lagos", "availability": "busy"})
		p, _ := r.body["data"].(map[string]any)
		if r.status != 200 || p["headline"] != "Master plumber" || p["availability"] != "busy" || len(p["skills"].([]any)) != 2 || p["lat"].(float64) != 6.5244 {
			t.Fatalf("update: %d %s", r.status, r.raw)
		}
		r = h.do(t, "PUT", "/api/profile/artisan", artisan, map[string]any{"availability": "available"})
		if p := r.body["data"].(map[string]any); r.status != 200 || p["headline"] != "Master plumber" || p["availability"] != "available" {
			t.Fatalf("partial update lost fields: %s", r.raw)
		}
		h.db.R.QueryRow(`SELECT count(*) FROM search_outbox WHERE index_name = 'artisans' AND doc_id = ?`, id).Scan(&outbox)
		if outbox != 2 {
			t.Fatalf("outbox rows after two profile writes = %d, want 2", outbox)
		}
		r = h.do(t, "GET", fmt.Sprintf("/api/artisans/%d", id), "", nil)
		if r.status != 200 || r.body["data"].(map[string]any)["name"] != "Tunde Bello" || r.body["recent_reviews"] == nil || strings.Contains(r.raw, "email") {
			t.Fatalf("public profile: %d %s", r.status, r.raw)
		}
		if r := h.do(t, "GET", "/api/artisans/999", "", nil); r.status != 404 {
			t.Fatalf("missing artisan: %d", r.status)
		}
	})
}
