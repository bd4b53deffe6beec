package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

const (
	testID     = "app-1"
	testKey    = "key-1"
	testSecret = "secret-1"
)

func testConfig() Config {
	return Config{Apps: []App{{ID: testID, Key: testKey, Secret: testSecret}}}
}

// testServer is a server listening on loopback.
type testServer struct {
	*Server
	addr string
}

func mustServer(tb testing.TB, cfg Config, opt Options) *testServer {
	tb.Helper()
	var logger *slog.Logger
	if os.Getenv("RT_TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s, err := NewServerWith(cfg, logger, opt)
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go func() { _ = s.Serve(ln) }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return &testServer{Server: s, addr: ln.Addr().String()}
}

// frame is a decoded server frame.
type frame struct {
	Event   string          `json:"event"`
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
	UserID  string          `json:"user_id"`
}

// str returns Data as the string it holds (or its JSON text).
func (f frame) str() string { return dataString(f.Data) }

type client struct {
	tb       testing.TB
	ws       *websocket.Conn
	socketID string
	frames   chan frame
	err      error // set before frames is closed
}

func mustDial(tb testing.TB, addr, key string) *client {
	tb.Helper()
	c := mustDialRaw(tb, "ws://"+addr+"/app/"+key+"?protocol=7&client=go&version=1")
	f := c.expect("pusher:connection_established")
	var est struct {
		SocketID        string `json:"socket_id"`
		ActivityTimeout int    `json:"activity_timeout"`
	}
	if err := json.Unmarshal([]byte(f.str()), &est); err != nil || est.SocketID == "" {
		tb.Fatalf("bad connection_established %s: %v", f.Data, err)
	}
	c.socketID = est.SocketID
	return c
}

func mustDialRaw(tb testing.TB, url string) *client {
	tb.Helper()
	d := websocket.Dialer{HandshakeTimeout: 3 * time.Second}
	ws, _, err := d.Dial(url, nil)
	if err != nil {
		tb.Fatalf("dial %s: %v", url, err)
	}
	tb.Cleanup(func() { ws.Close() })
	c := &client{tb: tb, ws: ws, frames: make(chan frame, 1024)}
	go c.readLoop()
	return c
}

// readLoop reads frames until the connection ends (a read deadline would
// break a gorilla connection, so reads never time out here).
func (c *client) readLoop() {
	defer close(c.frames)
	for {
		_, b, err := c.ws.ReadMessage()
		if err != nil {
			c.err = err
			return
		}
		var f frame
		if err := json.Unmarshal(b, &f); err != nil {
			c.err = fmt.Errorf("bad frame %q: %w", b, err)
			return
		}
		c.frames <- f
	}
}

func (c *client) send(format string, args ...any) {
	c.tb.Helper()
	_ = c.ws.SetWriteDeadline(time.Now().Add(3 * time.Second))
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf(format, args...))); err != nil {
		c.tb.Fatalf("send: %v", err)
	}
}

// next reads one frame within d.
func (c *client) next(d time.Duration) (frame, error) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case f, ok := <-c.frames:
		if !ok {
			return frame{}, c.err
		}
		return f, nil
	case <-t.C:
		return frame{}, errTimeout
	}
}

// expect reads frames (at most 50, within 5 s) until one named event.
func (c *client) expect(event string) frame {
	c.tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var seen []string
	for i := 0; i < 50 && time.Now().Before(deadline); i++ {
		f, err := c.next(time.Until(deadline))
		if err != nil {
			c.tb.Fatalf("waiting for %s (saw %v): %v", event, seen, err)
		}
		if f.Event == event {
			return f
		}
		seen = append(seen, f.Event)
	}
	c.tb.Fatalf("no %s (saw %v)", event, seen)
	return frame{}
}

// await reads up to max frames (within 5 s) until one named event; safe
// outside the test goroutine.
func (c *client) await(event string, max int) bool {
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; i < max && time.Now().Before(deadline); i++ {
		f, err := c.next(time.Until(deadline))
		if err != nil {
			return false
		}
		if f.Event == event {
			return true
		}
	}
	return false
}

// expectNone checks no frame other than pings arrives within d.
func (c *client) expectNone(d time.Duration) {
	c.tb.Helper()
	f, err := c.next(d)
	if err == nil {
		c.tb.Fatalf("unexpected frame %s %s %s", f.Event, f.Channel, f.Data)
	}
}

// expectClose reads until the server closes, returning the close code.
func (c *client) expectClose() int {
	c.tb.Helper()
	for i := 0; i < 50; i++ {
		_, err := c.next(5 * time.Second)
		if err != nil {
			if ce, ok := err.(*websocket.CloseError); ok {
				return ce.Code
			}
			c.tb.Fatalf("expected a close frame, got %v", err)
		}
	}
	c.tb.Fatal("no close within 50 frames")
	return 0
}

func (c *client) subscribe(ch string) frame {
	c.tb.Helper()
	var auth string
	if needsAuth(ch) && !isPresence(ch) {
		auth = SignChannel(testKey, testSecret, c.socketID, ch, "")
	}
	c.send(`{"event":"pusher:subscribe","data":{"channel":%q,"auth":%q}}`, ch, auth)
	return c.expect("pusher_internal:subscription_succeeded")
}

func (c *client) subscribePresence(ch, userID, info string) frame {
	c.tb.Helper()
	cd := fmt.Sprintf(`{"user_id":%q,"user_info":%s}`, userID, info)
	auth := SignChannel(testKey, testSecret, c.socketID, ch, cd)
	c.send(`{"event":"pusher:subscribe","data":{"channel":%q,"auth":%q,"channel_data":%q}}`, ch, auth, cd)
	return c.expect("pusher_internal:subscription_succeeded")
}

// eventually polls cond every 20 ms for up to 5 s.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	for i := 0; i < 250; i++ {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatalf("timed out waiting for %s", what)
}

func mustPublish(tb testing.TB, s *testServer, ch, name, data string) {
	tb.Helper()
	if err := s.Publisher(testID).Publish(context.Background(), Event{Channels: []string{ch}, Name: name, Data: data}); err != nil {
		tb.Fatal(err)
	}
}

var errTimeout = errors.New("timeout")
