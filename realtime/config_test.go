package realtime

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

func TestConfigFromEnvDefaults(t *testing.T) {
	for _, k := range []string{"PUSHER_APP_ID", "PUSHER_APP_KEY", "PUSHER_APP_SECRET", "PUSHER_APPS_FILE", "PUSHER_WEBHOOK_URLS", "REDIS_URL", "SHARPJOB_WS_ADDR"} {
		t.Setenv(k, "")
	}
	cfg, err := ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.Apps[0]
	if a.ID != "mysharpjob" || a.Key != "mysharpjob-key" || a.Secret != "mysharpjob-secret" {
		t.Errorf("default app %+v", a)
	}
	if a.MaxEventBytes != 10240 || a.MaxClientEventsPerSecond != 10 || cfg.Addr != ":6001" || cfg.ActivityTimeout != 120*time.Second || cfg.RedisURL != "" {
		t.Errorf("defaults %+v %+v", a, cfg)
	}
}

func TestConfigFromEnv(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "apps.json")
	if err := os.WriteFile(f, []byte(`[{"id":"two","key":"k2","secret":"s2","max_connections":5,"max_event_bytes":2048}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PUSHER_APP_ID", "one")
	t.Setenv("PUSHER_APP_KEY", "k1")
	t.Setenv("PUSHER_APP_SECRET", "s1")
	t.Setenv("PUSHER_APPS_FILE", f)
	t.Setenv("PUSHER_WEBHOOK_URLS", " http://127.0.0.1:1/a , http://127.0.0.1:2/b,")
	t.Setenv("SHARPJOB_WS_ADDR", "127.0.0.1:7001")
	t.Setenv("SHARPJOB_WS_ACTIVITY_TIMEOUT", "30s")
	t.Setenv("PUSHER_MAX_EVENT_BYTES", "4096")
	cfg, err := ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Apps) != 2 || cfg.Apps[1].Key != "k2" || cfg.Apps[1].MaxConnections != 5 || cfg.Apps[1].MaxEventBytes != 2048 || cfg.Apps[0].MaxEventBytes != 4096 {
		t.Errorf("apps %+v", cfg.Apps)
	}
	if strings.Join(cfg.WebhookURLs, " ") != "http://127.0.0.1:1/a http://127.0.0.1:2/b" {
		t.Errorf("webhooks %q", cfg.WebhookURLs)
	}
	if cfg.Addr != "127.0.0.1:7001" || cfg.ActivityTimeout != 30*time.Second {
		t.Errorf("addr %q timeout %s", cfg.Addr, cfg.ActivityTimeout)
	}
	if err := os.WriteFile(f, []byte(`[{"id":"one","key":"k9","secret":"s"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ConfigFromEnv(); err == nil {
		t.Error("duplicate app id accepted")
	}
	t.Setenv("PUSHER_APPS_FILE", filepath.Join(dir, "missing.json"))
	if _, err := ConfigFromEnv(); err == nil {
		t.Error("missing apps file accepted")
	}
}

func TestMultipleApps(t *testing.T) {
	cfg := testConfig()
	cfg.Apps = append(cfg.Apps, App{ID: "app-2", Key: "key-2", Secret: "secret-2"})
	s := mustServer(t, cfg, Options{})
	a := mustDial(t, s.addr, testKey)
	b := mustDial(t, s.addr, "key-2")
	a.subscribe("news")
	b.send(`{"event":"pusher:subscribe","data":{"channel":"news"}}`)
	b.expect("pusher_internal:subscription_succeeded")
	if err := s.Publisher("app-2").Publish(context.Background(), Event{Channels: []string{"news"}, Name: "only-2", Data: "x"}); err != nil {
		t.Fatal(err)
	}
	b.expect("only-2")
	a.expectNone(200 * time.Millisecond)
	// app 1's secret does not sign for app 2
	b.send(`{"event":"pusher:subscribe","data":{"channel":"private-z","auth":%q}}`, SignChannel("key-2", testSecret, b.socketID, "private-z", ""))
	b.expect("pusher:subscription_error")
}

func TestPublishers(t *testing.T) {
	s := mustServer(t, testConfig(), Options{})
	c := mustDial(t, s.addr, testKey)
	c.subscribe("private-user.1")
	c.subscribe("private-user.2")
	host, port, _ := net.SplitHostPort(s.addr)
	p, _ := strconv.Atoi(port)
	pubs := map[string]Publisher{
		"in-process": s.Publisher(testID),
		"http":       NewHTTPPublisher(host, p, "http", testID, testKey, testSecret),
	}
	for name, pub := range pubs {
		t.Run(name, func(t *testing.T) {
			err := pub.Publish(t.Context(), Event{Channels: []string{"private-user.1", "private-user.2"}, Name: "message.sent", Data: `{"id":7,"content":"hi"}`})
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 2; i++ {
				f := c.expect("message.sent")
				if f.str() != `{"id":7,"content":"hi"}` {
					t.Errorf("data %s", f.Data)
				}
			}
			err = pub.Publish(t.Context(), Event{Channels: []string{"x"}, Name: "big", Data: strings.Repeat("x", 10241)})
			if err == nil {
				t.Error("oversized event accepted")
			}
			if err := pub.Publish(t.Context(), Event{Name: "none", Data: "{}"}); err == nil {
				t.Error("event without channels accepted")
			}
		})
	}
	var ae *apiError
	err := s.Publisher(testID).Publish(t.Context(), Event{Channels: []string{"x"}, Name: "big", Data: strings.Repeat("x", 10241)})
	if !errors.As(err, &ae) || ae.status != 413 {
		t.Errorf("in-process oversized: %v", err)
	}
	if err := s.Publisher("nope").Publish(t.Context(), Event{Channels: []string{"x"}, Name: "e"}); err == nil {
		t.Error("unknown app accepted")
	}
}

func TestDisabledApp(t *testing.T) {
	cfg := testConfig()
	cfg.Apps[0].Disabled = true
	s := mustServer(t, cfg, Options{})
	c := mustDialRaw(t, "ws://"+s.addr+"/app/"+testKey+"?protocol=7")
	if code := c.expectClose(); code != CodeAppDisabled {
		t.Errorf("close %d, want 4003", code)
	}
	if code := rawPost(t, s, "/apps/"+testID+"/events", `{"name":"e","channels":["c"],"data":"d"}`, nil); code != 403 {
		t.Errorf("HTTP API %d, want 403", code)
	}
}

func TestAllowedOrigins(t *testing.T) {
	t.Setenv("SHARPJOB_WS_ALLOWED_ORIGINS", "https://app.example, http://localhost:5173")
	cfg, err := ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.AllowedOrigins) != 2 {
		t.Fatalf("origins %q", cfg.AllowedOrigins)
	}
	c := testConfig()
	c.AllowedOrigins = cfg.AllowedOrigins
	s := mustServer(t, c, Options{})
	url := "ws://" + s.addr + "/app/" + testKey + "?protocol=7"
	for origin, ok := range map[string]bool{"https://app.example": true, "http://localhost:5173": true, "https://evil.example": false, "": true} {
		h := http.Header{}
		if origin != "" {
			h.Set("Origin", origin)
		}
		ws, resp, err := (&websocket.Dialer{HandshakeTimeout: 3 * time.Second}).Dial(url, h)
		if ok && err != nil {
			t.Errorf("%q refused: %v", origin, err)
		}
		if !ok && (err == nil || resp == nil || resp.StatusCode != 403) {
			t.Errorf("%q accepted (%v)", origin, err)
		}
		if ws != nil {
			ws.Close()
		}
	}
}
