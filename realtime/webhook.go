package realtime

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// WebhookEvent is one event in a webhook request body.
type WebhookEvent struct {
	Name     string `json:"name"`
	Channel  string `json:"channel"`
	Event    string `json:"event,omitempty"`
	Data     string `json:"data,omitempty"`
	SocketID string `json:"socket_id,omitempty"`
	UserID   string `json:"user_id,omitempty"`
}

// webhooks batches events per app for Config.WebhookBatchWindow and posts
// {"time_ms":..,"events":[..]} signed with X-Pusher-Key / X-Pusher-Signature
// (hex HMAC-SHA256 of the body with the app secret), retrying failures with
// exponential back-off. channel_vacated and member_removed wait
// Config.WebhookDelay and are dropped when the channel or member is back.
type webhooks struct {
	s       *Server
	client  *http.Client
	mu      sync.Mutex
	batches map[string][]WebhookEvent // app id → waiting events
	delayed map[string]*time.Timer    // app|kind|channel|user → pending delayed event
	wg      sync.WaitGroup
	stop    chan struct{}
	stopped bool
}

func newWebhooks(s *Server) *webhooks {
	return &webhooks{s: s, client: &http.Client{Timeout: 10 * time.Second},
		batches: map[string][]WebhookEvent{}, delayed: map[string]*time.Timer{}, stop: make(chan struct{})}
}

func (w *webhooks) urls(a *appState) []string {
	if len(a.app.WebhookURLs) == 0 {
		return w.s.cfg.WebhookURLs
	}
	return append(append([]string(nil), w.s.cfg.WebhookURLs...), a.app.WebhookURLs...)
}

func (w *webhooks) add(a *appState, e WebhookEvent) {
	if len(w.urls(a)) == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	first := len(w.batches[a.app.ID]) == 0
	w.batches[a.app.ID] = append(w.batches[a.app.ID], e)
	if first {
		w.wg.Add(1)
		time.AfterFunc(w.s.cfg.WebhookBatchWindow, func() { defer w.wg.Done(); w.flush(a) })
	}
}

func (w *webhooks) flush(a *appState) {
	w.mu.Lock()
	events := w.batches[a.app.ID]
	delete(w.batches, a.app.ID)
	w.mu.Unlock()
	if len(events) == 0 {
		return
	}
	body, _ := json.Marshal(map[string]any{"time_ms": time.Now().UnixMilli(), "events": events})
	sig := hmacHex(a.app.Secret, string(body))
	for _, u := range w.urls(a) {
		w.post(a, u, body, sig)
	}
}

func (w *webhooks) post(a *appState, url string, body []byte, sig string) {
	backoff := 100 * time.Millisecond
	for attempt := 0; attempt <= w.s.cfg.WebhookRetries; attempt++ {
		if attempt > 0 {
			select {
			case <-time.After(backoff):
			case <-w.stop:
				return
			}
			backoff *= 2
		}
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Pusher-Key", a.app.Key)
		req.Header.Set("X-Pusher-Signature", sig)
		resp, err := w.client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode >= 200 && resp.StatusCode < 300 {
				return
			}
		}
		w.s.log.Debug("realtime: webhook failed", "url", url, "attempt", attempt, "err", err)
	}
	w.s.log.Warn("realtime: webhook dropped after retries", "url", url, "app", a.app.ID)
}

// cancelDelayed stops a pending delayed event and reports whether one was pending.
func (w *webhooks) cancelDelayed(key string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	t, ok := w.delayed[key]
	if ok && t.Stop() {
		delete(w.delayed, key)
		w.wg.Done()
		return true
	}
	return false
}

func (w *webhooks) addDelayed(a *appState, key string, e WebhookEvent, still func(context.Context) bool) {
	if len(w.urls(a)) == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	if old, ok := w.delayed[key]; ok && old.Stop() {
		w.wg.Done()
	}
	w.wg.Add(1)
	var t *time.Timer
	t = time.AfterFunc(w.s.cfg.WebhookDelay, func() {
		defer w.wg.Done()
		w.mu.Lock()
		if w.delayed[key] == t { // not replaced meanwhile
			delete(w.delayed, key)
		}
		w.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ok := still(ctx)
		cancel()
		if ok {
			w.add(a, e)
		}
	})
	w.delayed[key] = t
}

func (w *webhooks) occupied(a *appState, ch string) {
	// A vacate still pending here means the channel never looked empty.
	if w.cancelDelayed(a.app.ID + "|v|" + ch) {
		return
	}
	w.add(a, WebhookEvent{Name: "channel_occupied", Channel: ch})
}

func (w *webhooks) vacated(a *appState, ch string) {
	w.addDelayed(a, a.app.ID+"|v|"+ch, WebhookEvent{Name: "channel_vacated", Channel: ch}, func(ctx context.Context) bool {
		info, err := w.s.store.Info(ctx, a.app.ID, ch)
		return err == nil && info.Subscriptions == 0
	})
}

func (w *webhooks) memberAdded(a *appState, ch, user string) {
	if w.cancelDelayed(a.app.ID + "|m|" + ch + "|" + user) {
		return
	}
	w.add(a, WebhookEvent{Name: "member_added", Channel: ch, UserID: user})
}

func (w *webhooks) memberRemoved(a *appState, ch, user string) {
	w.addDelayed(a, a.app.ID+"|m|"+ch+"|"+user, WebhookEvent{Name: "member_removed", Channel: ch, UserID: user}, func(ctx context.Context) bool {
		ms, err := w.s.store.Members(ctx, a.app.ID, ch)
		return err == nil && !hasUser(ms, user)
	})
}

func (w *webhooks) cacheMiss(a *appState, ch string) {
	w.add(a, WebhookEvent{Name: "cache_miss", Channel: ch})
}

func (w *webhooks) clientEvent(a *appState, ch, event, data, socketID, userID string) {
	w.add(a, WebhookEvent{Name: "client_event", Channel: ch, Event: event, Data: data, SocketID: socketID, UserID: userID})
}

// close waits, within ctx, for pending batches, delayed events and retries,
// then stops retrying.
func (w *webhooks) close(ctx context.Context) {
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	w.mu.Lock()
	w.stopped = true
	close(w.stop)
	w.mu.Unlock()
}
