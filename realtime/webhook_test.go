package realtime

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	pusher "github.com/pusher/pusher-http-go/v5"
)

// hookSink is a local webhook receiver that verifies signatures with the
// official Go SDK.
type hookSink struct {
	mu     sync.Mutex
	events []pusher.WebhookEvent
	bodies int
	bad    int
	fail   int // answer 500 to this many requests first
	srv    *httptest.Server
}

func newHookSink(t *testing.T) *hookSink {
	h := &hookSink{}
	verifier := &pusher.Client{AppID: testID, Key: testKey, Secret: testSecret}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.fail > 0 {
			h.fail--
			w.WriteHeader(500)
			return
		}
		wh, err := verifier.Webhook(r.Header, body)
		if err != nil {
			h.bad++
			w.WriteHeader(401)
			return
		}
		if wh.TimeMs == 0 {
			h.bad++
		}
		h.bodies++
		h.events = append(h.events, wh.Events...)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookSink) names() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, e := range h.events {
		out = append(out, e.Name+":"+e.Channel+":"+e.UserID)
	}
	return out
}

func (h *hookSink) has(name string) bool {
	for _, n := range h.names() {
		if n == name {
			return true
		}
	}
	return false
}

func TestWebhooks(t *testing.T) {
	h := newHookSink(t)
	h.fail = 1 // the first delivery is retried
	cfg := testConfig()
	cfg.WebhookURLs = []string{h.srv.URL}
	cfg.WebhookDelay = 300 * time.Millisecond
	cfg.WebhookBatchWindow = 30 * time.Millisecond
	s := mustServer(t, cfg, Options{})

	a := mustDial(t, s.addr, testKey)
	a.subscribePresence("presence-r", "1", "null")
	eventually(t, "occupied and member_added", func() bool {
		return h.has("channel_occupied:presence-r:") && h.has("member_added:presence-r:1")
	})
	b := mustDial(t, s.addr, testKey)
	b.subscribePresence("presence-r", "2", "null")
	a.send(`{"event":"client-x","channel":"presence-r","data":{"k":1}}`)
	eventually(t, "client_event", func() bool { return h.has("client_event:presence-r:1") })
	h.mu.Lock()
	for _, e := range h.events {
		if e.Name == "client_event" && (e.Event != "client-x" || e.Data != `{"k":1}` || e.SocketID != a.socketID) {
			t.Errorf("client_event %+v", e)
		}
	}
	h.mu.Unlock()

	// A member who leaves and comes back within the delay produces nothing.
	b.ws.Close()
	time.Sleep(50 * time.Millisecond)
	b2 := mustDial(t, s.addr, testKey)
	b2.subscribePresence("presence-r", "2", "null")
	// A member who leaves for good is reported after the delay.
	a.ws.Close()
	eventually(t, "member_removed for 1", func() bool { return h.has("member_removed:presence-r:1") })
	if h.has("member_removed:presence-r:2") {
		t.Error("member_removed sent for a user who came back within the delay")
	}
	b2.ws.Close()
	eventually(t, "vacated", func() bool { return h.has("channel_vacated:presence-r:") })

	// Cache miss.
	c := mustDial(t, s.addr, testKey)
	c.subscribe("cache-q")
	eventually(t, "cache_miss", func() bool { return h.has("cache_miss:cache-q:") })

	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fail != 0 {
		t.Error("the failing first delivery was not retried")
	}
	if h.bad != 0 {
		t.Errorf("%d webhook requests failed signature verification", h.bad)
	}
	if h.bodies >= len(h.events) {
		t.Logf("bodies %d events %d (batching merges some)", h.bodies, len(h.events))
	}
	occupied := 0
	for _, e := range h.events {
		if e.Name == "channel_occupied" && e.Channel == "presence-r" {
			occupied++
		}
	}
	if occupied != 1 {
		t.Errorf("channel_occupied sent %d times", occupied)
	}
}

func TestWebhookSignatureRejectedWithWrongSecret(t *testing.T) {
	body := []byte(`{"time_ms":1,"events":[]}`)
	sig := hmacHex("wrong", string(body))
	v := &pusher.Client{AppID: testID, Key: testKey, Secret: testSecret}
	hdr := http.Header{"X-Pusher-Key": {testKey}, "X-Pusher-Signature": {sig}}
	if _, err := v.Webhook(hdr, body); err == nil {
		t.Fatal("SDK accepted a webhook signed with the wrong secret")
	}
	hdr.Set("X-Pusher-Signature", hmacHex(testSecret, string(body)))
	if _, err := v.Webhook(hdr, body); err != nil {
		t.Fatalf("SDK rejected our signature scheme: %v", err)
	}
}

// TestWebhookVacatedDroppedOnReturn: a channel emptied and re-occupied within
// the delay produces neither channel_vacated nor a second channel_occupied.
func TestWebhookVacatedDroppedOnReturn(t *testing.T) {
	h := newHookSink(t)
	cfg := testConfig()
	cfg.WebhookURLs = []string{h.srv.URL}
	cfg.WebhookDelay = 400 * time.Millisecond
	cfg.WebhookBatchWindow = 10 * time.Millisecond
	s := mustServer(t, cfg, Options{})
	a := mustDial(t, s.addr, testKey)
	a.subscribe("flappy")
	eventually(t, "occupied", func() bool { return h.has("channel_occupied:flappy:") })
	a.send(`{"event":"pusher:unsubscribe","data":{"channel":"flappy"}}`)
	a.subscribe("flappy")
	time.Sleep(700 * time.Millisecond)
	n := 0
	for _, e := range h.names() {
		if e == "channel_occupied:flappy:" {
			n++
		}
		if e == "channel_vacated:flappy:" {
			t.Error("vacated sent though the channel came back within the delay")
		}
	}
	if n != 1 {
		t.Errorf("channel_occupied sent %d times", n)
	}
	a.send(`{"event":"pusher:unsubscribe","data":{"channel":"flappy"}}`)
	eventually(t, "vacated for good", func() bool { return h.has("channel_vacated:flappy:") })
}
