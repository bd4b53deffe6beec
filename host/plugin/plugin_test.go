package plugin_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mysharpjob/sharpjob/host/plugin"
	"github.com/mysharpjob/sharpjob/internal/testenv"
	"github.com/mysharpjob/sharpjob/plugins/sdk/wire"
	"github.com/mysharpjob/sharpjob/store"
)

type recordingBus struct {
	mu     sync.Mutex
	events []string
}

func (b *recordingBus) Broadcast(_ context.Context, channels []string, event string, data []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.events = append(b.events, strings.Join(channels, ",")+" "+event+" "+string(data))
	return nil
}

var (
	buildOnce sync.Once
	pluginDir string
)

// plugins builds the evil test guest and the jobs plugin once per test binary.
func plugins(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		pluginDir = filepath.Join(testenv.Root(), ".cache", "test-plugins")
		testenv.BuildPlugin(t, "./host/plugin/testdata/evil", "host/plugin/testdata/evil/manifest.json", pluginDir)
		testenv.BuildPlugin(t, "./plugins/jobs/wasm", "plugins/jobs/manifest.json", pluginDir)
	})
	return pluginDir
}

func newEnv(t *testing.T) (*plugin.Env, *recordingBus) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{URL: "file:" + filepath.Join(t.TempDir(), "t.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.W.Exec(`INSERT INTO users(id,name,email,password_hash,role) VALUES (1,'Ada','ada@x.ng','$2a$secret','client')`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.W.Exec(`INSERT INTO jobs(client_id,title,description,category,budget,lat,lng) VALUES (1,'Fix sink','Kitchen sink leaks badly','plumbing',5000,6.5,3.4)`); err != nil {
		t.Fatal(err)
	}
	bus := &recordingBus{}
	env := &plugin.Env{DB: db, Guard: plugin.NewGuard(db), Bus: bus, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		CacheDir: filepath.Join(testenv.Root(), ".cache", "wazero"),
		Config: func(k string) (string, bool) {
			return map[string]string{"EVIL_GRANTED": "yes", "PAYSTACK_SECRET_KEY": "sk_live_x"}[k], true
		}}
	return env, bus
}

func loadEvil(t *testing.T, env *plugin.Env) *plugin.Version {
	t.Helper()
	v, err := plugin.Load(context.Background(), env, filepath.Join(plugins(t), "evil.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close(context.Background()) })
	return v
}

func get(t *testing.T, v *plugin.Version, what string) (wire.Response, error) {
	t.Helper()
	req := &wire.Request{Method: "GET", Path: "/api/evil/" + what, Route: "/api/evil/{what}", Params: []wire.Param{{Name: "what", Value: what}}, User: wire.Principal{ID: 9}}
	return v.Handle(context.Background(), req)
}

func TestCapabilitiesAreEnforced(t *testing.T) {
	env, bus := newEnv(t)
	v := loadEvil(t, env)
	cases := []struct {
		what    string
		allowed bool
		reason  string
	}{
		{"read-jobs", true, ""},
		{"read-users", true, ""},
		{"read-password", false, "password_hash"},
		{"read-password-sub", false, "password_hash"},
		{"read-tokens", false, "personal_access_tokens is not in the manifest"},
		{"read-tokens-cte", false, "personal_access_tokens is not in the manifest"},
		{"read-schema", false, "sqlite_schema"},
		{"write-jobs", false, "jobs is read-only"},
		{"write-via-query", false, "read-only"},
		{"write-payments", false, "payments is not in the manifest"},
		{"ddl", false, "DROP statements"},
		{"pragma", false, "PRAGMA statements"},
		{"two-statements", false, "one statement"},
		{"attach", false, "ATTACH statements"},
		{"broadcast-ok", true, ""},
		{"broadcast-admin", false, "private-admin is not in the manifest"},
	}
	for _, c := range cases {
		t.Run(c.what, func(t *testing.T) {
			resp, err := get(t, v, c.what)
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.Status == 200; got != c.allowed {
				t.Fatalf("allowed = %v, want %v (%s)", got, c.allowed, resp.Body)
			}
			if !c.allowed && !strings.Contains(string(resp.Body), c.reason) {
				t.Fatalf("refusal %s does not say %q", resp.Body, c.reason)
			}
		})
	}
	var n int
	env.DB.R.QueryRow(`SELECT count(*) FROM jobs`).Scan(&n)
	if n != 1 {
		t.Fatalf("jobs rows = %d after refused writes, want 1", n)
	}
	if len(bus.events) != 1 || !strings.HasPrefix(bus.events[0], "private-user.1 x ") {
		t.Fatalf("broadcasts = %q, want exactly the allowed one", bus.events)
	}
	resp, _ := get(t, v, "config")
	var cfg map[string]string
	json.Unmarshal(resp.Body, &cfg)
	if cfg["granted"] != "yestrue" || cfg["secret"] != "false" {
		t.Fatalf("config answers %v: want the granted key only", cfg)
	}
}

func TestFaultsFailOnlyTheirOwnRequest(t *testing.T) {
	env, _ := newEnv(t)
	v := loadEvil(t, env)
	for _, c := range []struct {
		what   string
		status int
	}{{"loop", 504}, {"exit", 500}, {"stack", 500}, {"oom", 500}, {"panic", 500}} {
		t.Run(c.what, func(t *testing.T) {
			// A healthy request runs alongside the faulty one and must not notice.
			var wg sync.WaitGroup
			var healthy wire.Response
			var healthyErr error
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(20 * time.Millisecond)
				healthy, healthyErr = get(t, v, "ok")
			}()
			start := time.Now()
			resp, err := get(t, v, c.what)
			wg.Wait()
			if resp.Status != c.status && !((c.what == "stack" || c.what == "oom") && resp.Status >= 500) { // on a loaded machine these may run out the clock before they trap
				t.Fatalf("status %d (%v), want %d", resp.Status, err, c.status)
			}
			if c.status >= 500 && c.what != "panic" && err == nil {
				t.Fatal("a guest fault returned no error for the log")
			}
			if c.what == "loop" && time.Since(start) > 5*time.Second {
				t.Fatalf("looping guest stopped after %s; deadline is 300ms", time.Since(start))
			}
			if healthyErr != nil || healthy.Status != 200 {
				t.Fatalf("concurrent healthy request: %d %v", healthy.Status, healthyErr)
			}
			after, err := get(t, v, "ok")
			if err != nil || after.Status != 200 {
				t.Fatalf("request after the fault: %d %v", after.Status, err)
			}
		})
	}
	if v.Discarded.Load() < 4 {
		t.Fatalf("discarded %d instances, want one per trap", v.Discarded.Load())
	}
}

func TestLargeBodiesCrossTheBoundary(t *testing.T) {
	env, _ := newEnv(t)
	v := loadEvil(t, env)
	for _, n := range []int{0, 100, 70_000, 1 << 20} {
		req := &wire.Request{Method: "GET", Path: "/api/evil/big", Route: "/api/evil/{what}", Query: "n=" + itoa(n),
			Params: []wire.Param{{Name: "what", Value: "big"}}, Body: make([]byte, n)}
		resp, err := v.Handle(context.Background(), req)
		if err != nil || resp.Status != 200 || len(resp.Body) != n+8 {
			t.Fatalf("n=%d: status %d, %d bytes, %v", n, resp.Status, len(resp.Body), err)
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestRouteConflictsAreRefused(t *testing.T) {
	env, _ := newEnv(t)
	v := loadEvil(t, env)
	m := v.Manifest
	m.Name = "evil2"
	clone, err := plugin.Compile(context.Background(), env, m, mustRead(t, v.Path), v.Path)
	if err != nil {
		t.Fatal(err)
	}
	reg := plugin.NewRegistry(env, []plugin.Route{{Method: "POST", Path: "/api/auth/login"}})
	if err := reg.Swap(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	err = reg.Swap(context.Background(), clone)
	if err == nil || !strings.Contains(err.Error(), "conflicts with plugin evil@0.0.1") {
		t.Fatalf("conflicting swap: %v", err)
	}
	if _, ok, _ := reg.Lookup("GET", "/api/evil/ok"); !ok {
		t.Fatal("the refused swap disturbed the live table")
	}
	m.Name, m.Routes = "evil3", []plugin.Route{{Method: "POST", Path: "/api/auth/login"}}
	shadow, err := plugin.Compile(context.Background(), env, m, mustRead(t, v.Path), v.Path)
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Swap(context.Background(), shadow); err == nil || !strings.Contains(err.Error(), "the host") {
		t.Fatalf("shadowing a host route: %v", err)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := readFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
