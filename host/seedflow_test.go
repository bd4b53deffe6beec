package host_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
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

// committedCheck wraps the realtime publisher and records, at the moment each
// message.sent is published, whether the message row is already committed.
type committedCheck struct {
	pub realtime.Publisher
	db  *store.DB

	mu        sync.Mutex
	published []string // "channel event committed=bool"
}

func (c *committedCheck) Broadcast(ctx context.Context, channels []string, event string, data []byte) error {
	var payload struct {
		Message struct{ ID int64 } `json:"message"`
	}
	json.Unmarshal(data, &payload)
	var n int
	// A read on another connection sees only committed rows.
	c.db.R.QueryRow(`SELECT count(*) FROM messages WHERE id = ?`, payload.Message.ID).Scan(&n)
	c.mu.Lock()
	c.published = append(c.published, fmt.Sprintf("%s %s committed=%v", strings.Join(channels, ","), event, n == 1))
	c.mu.Unlock()
	return c.pub.Publish(ctx, realtime.Event{Channels: channels, Name: event, Data: string(data)})
}

// TestSeedFlowWithLaravelEcho is the seed's message flow end to end: two users of the
// frontend's laravel-echo + pusher-js authorise through /broadcasting/auth, one posts
// POST /api/messages to the Wasm messages plugin, and both receive message.sent with
// the full message and sender, from the realtime core in the same process.
func TestSeedFlowWithLaravelEcho(t *testing.T) {
	nodeModules := testenv.NodeModules(t)
	if _, err := exec.LookPath("node"); err != nil {
		testenv.Missing(t, "node not installed")
	}
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{URL: "file:" + filepath.Join(t.TempDir(), "t.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	app := realtime.App{ID: "mysharpjob", Key: "mysharpjob-key", Secret: "mysharpjob-secret"}
	rt, err := realtime.NewServer(realtime.Config{Apps: []realtime.App{app}}, log)
	if err != nil {
		t.Fatal(err)
	}
	wsLn, _ := net.Listen("tcp", "127.0.0.1:0")
	go rt.Serve(wsLn)
	defer rt.Shutdown(ctx)

	check := &committedCheck{pub: rt.Publisher(app.ID), db: db}
	env := &plugin.Env{DB: db, Guard: plugin.NewGuard(db), Bus: check, Logger: log, CacheDir: filepath.Join(testenv.Root(), ".cache", "wazero")}
	mounts := []host.Mount{host.NewBroadcastAuth(db, app, nil).Mount()}
	reg := plugin.NewRegistry(env, host.ReservedRoutes(mounts...))
	if _, err := reg.LoadDir(ctx, builtPlugins(t)); err != nil {
		t.Fatal(err)
	}
	defer reg.Close(ctx)
	srv := host.NewServer(host.Config{BcryptCost: 4, TokenCacheTTL: time.Second, LoginAttempts: 5, MaxBodyBytes: 1 << 20, CORSOrigins: []string{"*"}}, db, reg, log, mounts...)
	httpLn, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(httpLn)
	defer srv.Shutdown(ctx)
	h := &harness{url: "http://" + httpLn.Addr().String(), db: db, http: httpClient()}

	tokenA, idA := h.register(t, "Ada Obi", "ada@example.ng", "client")
	tokenB, idB := h.register(t, "Tunde Bello", "tunde@example.ng", "artisan")

	cmd := exec.Command("node", filepath.Join(testenv.Root(), "host", "testdata", "seedflow.cjs"))
	cmd.Env = append(cmd.Environ(), "NODE_PATH="+nodeModules, "WS_PORT="+strconv.Itoa(wsLn.Addr().(*net.TCPAddr).Port),
		"API_URL="+h.url, "APP_KEY="+app.Key, "TOKEN_A="+tokenA, "TOKEN_B="+tokenB,
		"USER_A="+strconv.FormatInt(idA, 10), "USER_B="+strconv.FormatInt(idB, 10))
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func(what string) string {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("node exited while waiting for %s", what)
			}
			return l
		case <-time.After(15 * time.Second):
			t.Fatalf("timed out waiting for %s", what)
		}
		return ""
	}
	var refused bool
	for l := next("READY"); l != "READY"; l = next("READY") {
		if strings.Contains(l, `"error":403`) && strings.Contains(l, fmt.Sprintf("user.%d", idB)) {
			refused = true
			continue
		}
		t.Fatalf("before READY: %s", l)
	}

	r := h.do(t, "POST", "/api/messages", tokenA, map[string]any{"recipient_id": idB, "content": "Can you come on Monday?", "message_type": "text"})
	if r.status != 201 || r.header.Get("X-Plugin") != "messages@1.0.0" {
		t.Fatalf("send: %d %s", r.status, r.raw)
	}
	got := map[string]map[string]any{}
	for len(got) < 2 {
		l := next("message.sent")
		if strings.Contains(l, `"error":403`) {
			refused = true
			continue
		}
		var ev struct {
			Who, Channel string
			Data         map[string]any
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.Data == nil {
			t.Fatalf("unexpected line from node: %s", l)
		}
		got[ev.Who] = ev.Data
	}
	for who, data := range got {
		msg := data["message"].(map[string]any)
		sender := msg["sender"].(map[string]any)
		if msg["content"] != "Can you come on Monday?" || int64(msg["recipient_id"].(float64)) != idB || sender["name"] != "Ada Obi" {
			t.Fatalf("%s received %v", who, data)
		}
		if _, leaked := sender["email"]; leaked {
			t.Fatalf("%s received the sender's email: %v", who, sender)
		}
	}
	if !refused {
		t.Fatal("user A was never refused user B's channel")
	}
	check.mu.Lock()
	defer check.mu.Unlock()
	want := fmt.Sprintf("private-user.%d,private-user.%d message.sent committed=true", idA, idB)
	if len(check.published) != 1 || check.published[0] != want {
		t.Fatalf("published %q, want %q", check.published, want)
	}
	var stored sql.NullString
	db.R.QueryRow(`SELECT content FROM messages`).Scan(&stored)
	if stored.String != "Can you come on Monday?" {
		t.Fatalf("stored %v", stored)
	}
}
