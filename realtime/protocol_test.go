package realtime

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func TestConnectionEstablished(t *testing.T) {
	s := mustServer(t, testConfig(), Options{})
	c := mustDialRaw(t, "ws://"+s.addr+"/app/"+testKey+"?protocol=7")
	f := c.expect("pusher:connection_established")
	var est map[string]any
	if err := json.Unmarshal([]byte(f.str()), &est); err != nil {
		t.Fatalf("data must be a JSON string holding an object: %s", f.Data)
	}
	if id, _ := est["socket_id"].(string); !socketIDRe.MatchString(id) {
		t.Errorf("socket_id %q is not N.N", est["socket_id"])
	}
	if est["activity_timeout"] != float64(120) {
		t.Errorf("activity_timeout = %v, want 120", est["activity_timeout"])
	}
}

func TestConnectRefusals(t *testing.T) {
	cfg := testConfig()
	cfg.Apps[0].MaxConnections = 1
	s := mustServer(t, cfg, Options{})
	for _, tc := range []struct {
		name, query, key string
		code             int
	}{
		{"unknown app", "protocol=7", "nope", CodeAppNotFound},
		{"no protocol", "", testKey, CodeNoProtocol},
		{"bad protocol", "protocol=x", testKey, CodeInvalidVersion},
		{"old protocol", "protocol=3", testKey, CodeUnsupportedProto},
		{"future protocol", "protocol=8", testKey, CodeUnsupportedProto},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustDialRaw(t, "ws://"+s.addr+"/app/"+tc.key+"?"+tc.query)
			f := c.expect("pusher:error")
			var e struct{ Code int }
			_ = json.Unmarshal(f.Data, &e)
			if e.Code != tc.code {
				t.Errorf("error code %d, want %d", e.Code, tc.code)
			}
			if code := c.expectClose(); code != tc.code {
				t.Errorf("close code %d, want %d", code, tc.code)
			}
		})
	}
	t.Run("over capacity", func(t *testing.T) {
		_ = mustDial(t, s.addr, testKey)
		c := mustDialRaw(t, "ws://"+s.addr+"/app/"+testKey+"?protocol=7")
		if code := c.expectClose(); code != CodeOverCapacity {
			t.Errorf("close code %d, want %d", code, CodeOverCapacity)
		}
	})
}

func TestPingPong(t *testing.T) {
	s := mustServer(t, testConfig(), Options{})
	c := mustDial(t, s.addr, testKey)
	c.send(`{"event":"pusher:ping","data":{}}`)
	c.expect("pusher:pong")
}

func TestActivityTimeout(t *testing.T) {
	cfg := testConfig()
	cfg.ActivityTimeout = 200 * time.Millisecond
	cfg.PongTimeout = 300 * time.Millisecond
	s := mustServer(t, cfg, Options{})

	// A client that answers stays.
	good := mustDial(t, s.addr, testKey)
	for i := 0; i < 3; i++ {
		good.expect("pusher:ping")
		good.send(`{"event":"pusher:pong","data":{}}`)
	}
	// A client that does not is closed with 4201.
	bad := mustDial(t, s.addr, testKey)
	bad.expect("pusher:ping")
	if code := bad.expectClose(); code != CodePongNotReceived {
		t.Fatalf("close code %d, want 4201", code)
	}
}

func TestUnsubscribedTimeout(t *testing.T) {
	cfg := testConfig()
	cfg.UnsubscribedTimeout = 300 * time.Millisecond
	s := mustServer(t, cfg, Options{})
	sub := mustDial(t, s.addr, testKey)
	sub.subscribe("news")
	idle := mustDial(t, s.addr, testKey)
	if code := idle.expectClose(); code != CodeClosedInactivity {
		t.Fatalf("close code %d, want 4202", code)
	}
	sub.send(`{"event":"pusher:ping","data":{}}`)
	sub.expect("pusher:pong")
}

func TestPublicChannel(t *testing.T) {
	s := mustServer(t, testConfig(), Options{})
	a, b := mustDial(t, s.addr, testKey), mustDial(t, s.addr, testKey)
	f := a.subscribe("news")
	if f.Channel != "news" || f.str() != "{}" {
		t.Errorf("subscription_succeeded = %+v", f)
	}
	b.subscribe("news")
	mustPublish(t, s, "news", "story", `{"id":1}`)
	for _, c := range []*client{a, b} {
		f := c.expect("story")
		if f.Channel != "news" {
			t.Errorf("channel %q", f.Channel)
		}
		var s string
		if err := json.Unmarshal(f.Data, &s); err != nil || s != `{"id":1}` {
			t.Errorf("data must be the string as published, got %s", f.Data)
		}
	}
	// exclusion
	if err := s.Publisher(testID).Publish(t.Context(), Event{Channels: []string{"news"}, Name: "x", Data: "1", SocketID: a.socketID}); err != nil {
		t.Fatal(err)
	}
	b.expect("x")
	a.expectNone(200 * time.Millisecond)
	// unsubscribe
	a.send(`{"event":"pusher:unsubscribe","data":{"channel":"news"}}`)
	b.send(`{"event":"pusher:ping","data":{}}`)
	b.expect("pusher:pong")
	eventually(t, "one subscriber left", func() bool {
		ci, _ := s.store.Info(t.Context(), testID, "news")
		return ci.Subscriptions == 1
	})
	mustPublish(t, s, "news", "y", "2")
	b.expect("y")
	a.expectNone(200 * time.Millisecond)
}

func TestPrivateChannelAuth(t *testing.T) {
	s := mustServer(t, testConfig(), Options{})
	c := mustDial(t, s.addr, testKey)
	c.send(`{"event":"pusher:subscribe","data":{"channel":"private-a","auth":"%s:deadbeef"}}`, testKey)
	f := c.expect("pusher:subscription_error")
	if f.Channel != "private-a" || !strings.Contains(string(f.Data), `"status":401`) {
		t.Errorf("subscription_error = %s %s", f.Channel, f.Data)
	}
	// signed for another socket
	c.send(`{"event":"pusher:subscribe","data":{"channel":"private-a","auth":%q}}`, SignChannel(testKey, testSecret, "1.2", "private-a", ""))
	c.expect("pusher:subscription_error")
	// wrong key
	c.send(`{"event":"pusher:subscribe","data":{"channel":"private-a","auth":%q}}`, SignChannel("other", testSecret, c.socketID, "private-a", ""))
	c.expect("pusher:subscription_error")
	c.subscribe("private-a")
	mustPublish(t, s, "private-a", "secret", "s")
	c.expect("secret")
}

func TestInvalidChannelNames(t *testing.T) {
	s := mustServer(t, testConfig(), Options{})
	c := mustDial(t, s.addr, testKey)
	for _, ch := range []string{"", "a b", "ü", strings.Repeat("a", 165), "#server-to-user-1", "a/b"} {
		c.send(`{"event":"pusher:subscribe","data":{"channel":%q}}`, ch)
		f := c.expect("pusher:subscription_error")
		if f.Channel != ch {
			t.Errorf("%q: error for channel %q", ch, f.Channel)
		}
	}
	c.subscribe(strings.Repeat("a", 164))
	c.subscribe("a-b_c=d@e,f.g;h")
}

func TestPresenceChannel(t *testing.T) {
	s := mustServer(t, testConfig(), Options{})
	a, b, b2 := mustDial(t, s.addr, testKey), mustDial(t, s.addr, testKey), mustDial(t, s.addr, testKey)
	f := a.subscribePresence("presence-room", "1", `{"name":"Ann"}`)
	var pd struct {
		Presence struct {
			IDs   []string                   `json:"ids"`
			Hash  map[string]json.RawMessage `json:"hash"`
			Count int                        `json:"count"`
		} `json:"presence"`
	}
	if err := json.Unmarshal([]byte(f.str()), &pd); err != nil || pd.Presence.Count != 1 || pd.Presence.IDs[0] != "1" || string(pd.Presence.Hash["1"]) != `{"name":"Ann"}` {
		t.Fatalf("presence data %s (%v)", f.Data, err)
	}
	b.subscribePresence("presence-room", "2", `{"name":"Bob"}`)
	added := a.expect("pusher_internal:member_added")
	if !strings.Contains(added.str(), `"user_id":"2"`) || !strings.Contains(added.str(), `"Bob"`) {
		t.Errorf("member_added %s", added.Data)
	}
	// The same user on a second socket: one member, no second member_added.
	f = b2.subscribePresence("presence-room", "2", `{"name":"Bob"}`)
	if !strings.Contains(f.str(), `"count":2`) {
		t.Errorf("count after second socket of user 2: %s", f.Data)
	}
	a.expectNone(200 * time.Millisecond)
	ci, _ := s.store.Info(t.Context(), testID, "presence-room")
	if ci.Users != 2 || ci.Subscriptions != 3 {
		t.Errorf("info %+v, want 2 users, 3 subscriptions", ci)
	}
	// Closing one of user 2's sockets removes nobody; closing the last does.
	b2.ws.Close()
	a.expectNone(300 * time.Millisecond)
	b.ws.Close()
	removed := a.expect("pusher_internal:member_removed")
	if removed.str() != `{"user_id":"2"}` {
		t.Errorf("member_removed %s", removed.Data)
	}
	// Numeric user ids are accepted and become strings.
	c := mustDial(t, s.addr, testKey)
	cd := `{"user_id":42}`
	c.send(`{"event":"pusher:subscribe","data":{"channel":"presence-room","auth":%q,"channel_data":%q}}`, SignChannel(testKey, testSecret, c.socketID, "presence-room", cd), cd)
	f = c.expect("pusher_internal:subscription_succeeded")
	if !strings.Contains(f.str(), `"42"`) {
		t.Errorf("numeric user id: %s", f.Data)
	}
	// Tampered channel_data fails.
	d := mustDial(t, s.addr, testKey)
	d.send(`{"event":"pusher:subscribe","data":{"channel":"presence-room","auth":%q,"channel_data":%q}}`, SignChannel(testKey, testSecret, d.socketID, "presence-room", cd), `{"user_id":43}`)
	d.expect("pusher:subscription_error")
}

func TestPresenceMemberLimit(t *testing.T) {
	cfg := testConfig()
	cfg.Apps[0].MaxPresenceMembers = 2
	s := mustServer(t, cfg, Options{})
	for i := 1; i <= 2; i++ {
		mustDial(t, s.addr, testKey).subscribePresence("presence-x", fmt.Sprint(i), "null")
	}
	c := mustDial(t, s.addr, testKey)
	cd := `{"user_id":"3"}`
	c.send(`{"event":"pusher:subscribe","data":{"channel":"presence-x","auth":%q,"channel_data":%q}}`, SignChannel(testKey, testSecret, c.socketID, "presence-x", cd), cd)
	f := c.expect("pusher:subscription_error")
	if !strings.Contains(string(f.Data), "LimitReached") {
		t.Errorf("got %s", f.Data)
	}
	// An existing user may add a socket.
	mustDial(t, s.addr, testKey).subscribePresence("presence-x", "1", "null")
}

func TestClientEvents(t *testing.T) {
	cfg := testConfig()
	cfg.Apps[0].MaxClientEventsPerSecond = 3
	s := mustServer(t, cfg, Options{})
	a, b := mustDial(t, s.addr, testKey), mustDial(t, s.addr, testKey)
	a.subscribe("private-chat")
	b.subscribe("private-chat")
	a.send(`{"event":"client-typing","channel":"private-chat","data":{"who":"a"}}`)
	f := b.expect("client-typing")
	if string(f.Data) != `{"who":"a"}` || f.UserID != "" {
		t.Errorf("relayed %s user_id %q", f.Data, f.UserID)
	}
	a.expectNone(200 * time.Millisecond) // never echoed

	// Rate limit: the bucket holds 3; the 4th in a burst is rejected with 4301.
	for i := 0; i < 3; i++ {
		a.send(`{"event":"client-n","channel":"private-chat","data":%d}`, i)
	}
	a.send(`{"event":"client-n","channel":"private-chat","data":99}`)
	e := a.expect("pusher:error")
	if !strings.Contains(string(e.Data), "4301") {
		t.Errorf("rate limit error %s", e.Data)
	}
	got := 0
	for i := 0; i < 10; i++ {
		f, err := b.next(300 * time.Millisecond)
		if err != nil {
			break
		}
		if f.Event == "client-n" {
			got++
			if string(f.Data) == "99" {
				t.Error("event over the rate limit was relayed")
			}
		}
	}
	if got < 2 || got > 3 {
		t.Errorf("relayed %d of the burst, want 2-3 (bucket 3, first event used one)", got)
	}

	// Public channel and unsubscribed channel: rejected.
	a.subscribe("pub")
	a.send(`{"event":"client-x","channel":"pub","data":{}}`)
	a.expect("pusher:error")
	time.Sleep(400 * time.Millisecond)
	a.send(`{"event":"client-x","channel":"private-other","data":{}}`)
	a.expect("pusher:error")

	// Presence: user_id is added.
	p1, p2 := mustDial(t, s.addr, testKey), mustDial(t, s.addr, testKey)
	p1.subscribePresence("presence-p", "u1", "null")
	p2.subscribePresence("presence-p", "u2", "null")
	p1.send(`{"event":"client-hi","channel":"presence-p","data":"x"}`)
	f = p2.expect("client-hi")
	if f.UserID != "u1" {
		t.Errorf("user_id %q, want u1", f.UserID)
	}
}

func TestClientEventTooLarge(t *testing.T) {
	cfg := testConfig()
	cfg.Apps[0].MaxEventBytes = 100
	s := mustServer(t, cfg, Options{})
	a, b := mustDial(t, s.addr, testKey), mustDial(t, s.addr, testKey)
	a.subscribe("private-c")
	b.subscribe("private-c")
	a.send(`{"event":"client-big","channel":"private-c","data":%q}`, strings.Repeat("x", 200))
	a.expect("pusher:error")
	b.expectNone(200 * time.Millisecond)
}

func TestSigninAndServerToUser(t *testing.T) {
	s := mustServer(t, testConfig(), Options{})
	c := mustDial(t, s.addr, testKey)
	// Subscribing to a user's channel without signing in fails.
	c.send(`{"event":"pusher:subscribe","data":{"channel":"#server-to-user-7"}}`)
	c.expect("pusher:subscription_error")

	ud := `{"id":"7","user_info":{"name":"Seven"}}`
	c.send(`{"event":"pusher:signin","data":{"auth":%q,"user_data":%q}}`, SignUser(testKey, testSecret, c.socketID, ud), ud)
	f := c.expect("pusher:signin_success")
	if !strings.Contains(f.str(), `Seven`) {
		t.Errorf("signin_success %s", f.Data)
	}
	c.send(`{"event":"pusher:subscribe","data":{"channel":"#server-to-user-8"}}`)
	c.expect("pusher:subscription_error")
	c.subscribe("#server-to-user-7")
	mustPublish(t, s, "#server-to-user-7", "hello", "{}")
	c.expect("hello")

	// A bad signature closes with 4009.
	d := mustDial(t, s.addr, testKey)
	d.send(`{"event":"pusher:signin","data":{"auth":%q,"user_data":%q}}`, SignUser(testKey, testSecret, "1.1", ud), ud)
	if code := d.expectClose(); code != CodeUnauthorized {
		t.Fatalf("close %d, want 4009", code)
	}
}

func TestCacheChannel(t *testing.T) {
	s := mustServer(t, testConfig(), Options{})
	c := mustDial(t, s.addr, testKey)
	c.subscribe("cache-prices")
	c.expect("pusher:cache_miss")
	mustPublish(t, s, "cache-prices", "price", `{"v":1}`)
	mustPublish(t, s, "cache-prices", "price", `{"v":2}`)
	c.expect("price")
	d := mustDial(t, s.addr, testKey)
	d.subscribe("cache-prices")
	f := d.expect("price")
	if f.str() != `{"v":2}` || f.Channel != "cache-prices" {
		t.Errorf("cached replay %s on %s", f.Data, f.Channel)
	}
}

func TestEncryptedChannelRelaysCiphertext(t *testing.T) {
	s := mustServer(t, testConfig(), Options{})
	c := mustDial(t, s.addr, testKey)
	c.subscribe("private-encrypted-box")
	payload := `{"nonce":"bm9uY2U=","ciphertext":"Y2lwaGVy"}`
	// Server SDKs encrypt before calling the HTTP API; the server relays as is.
	body, _ := json.Marshal(map[string]any{"name": "sealed", "channels": []string{"private-encrypted-box"}, "data": payload})
	if code := rawPost(t, s, "/apps/"+testID+"/events", string(body), nil); code != 200 {
		t.Fatalf("publish: %d", code)
	}
	if f := c.expect("sealed"); f.str() != payload {
		t.Errorf("got %s", f.Data)
	}
}

func TestBadFrames(t *testing.T) {
	s := mustServer(t, testConfig(), Options{})
	c := mustDial(t, s.addr, testKey)
	for _, b := range []string{"not json", "[]", `{"event":1}`, `{}`, `{"event":"pusher:subscribe","data":5}`} {
		c.send("%s", b)
		c.expect("pusher:error")
	}
	c.send(`{"event":"pusher:ping","data":{}}`)
	c.expect("pusher:pong")
}

func TestTerminateAndShutdown(t *testing.T) {
	s := mustServer(t, testConfig(), Options{})
	c := mustDial(t, s.addr, testKey)
	ud := `{"id":"9"}`
	c.send(`{"event":"pusher:signin","data":{"auth":%q,"user_data":%q}}`, SignUser(testKey, testSecret, c.socketID, ud), ud)
	c.expect("pusher:signin_success")
	other := mustDial(t, s.addr, testKey)
	if err := s.publish(t.Context(), s.apps[testID], Message{Kind: "terminate", UserID: "9"}); err != nil {
		t.Fatal(err)
	}
	if code := c.expectClose(); code != CodeUnauthorized {
		t.Errorf("terminated with %d, want 4009", code)
	}
	go func() { _ = s.Shutdown(t.Context()) }()
	if code := other.expectClose(); code != CodeReconnect {
		t.Errorf("shutdown close %d, want 4200", code)
	}
}

// TestHandlerInPlainFastHTTPServer mounts Handler() in a fasthttp.Server
// without KeepHijackedConns, as a host might.
func TestHandlerInPlainFastHTTPServer(t *testing.T) {
	s, err := NewServer(testConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fs := &fasthttp.Server{Handler: s.Handler()}
	go func() { _ = fs.Serve(ln) }()
	t.Cleanup(func() { _ = s.Shutdown(t.Context()); _ = fs.Shutdown() })
	addr := ln.Addr().String()
	a, b := mustDial(t, addr, testKey), mustDial(t, addr, testKey)
	a.subscribe("private-x")
	b.subscribe("private-x")
	time.Sleep(100 * time.Millisecond)
	a.send(`{"event":"client-x","channel":"private-x","data":{}}`)
	b.expect("client-x")
	c := mustDialRaw(t, "ws://"+addr+"/app/nope?protocol=7")
	if code := c.expectClose(); code != CodeAppNotFound {
		t.Errorf("close %d", code)
	}
	// encrypted channels take no client events
	a.subscribe("private-encrypted-y")
	a.send(`{"event":"client-x","channel":"private-encrypted-y","data":{}}`)
	a.expect("pusher:error")
}

func TestInvalidUTF8Rejected(t *testing.T) {
	s := mustServer(t, testConfig(), Options{})
	a, b := mustDial(t, s.addr, testKey), mustDial(t, s.addr, testKey)
	a.subscribe("private-u")
	b.subscribe("private-u")
	a.send("{\"event\":\"client-x\",\"channel\":\"private-u\",\"data\":\"\xff\xfe\"}")
	a.expect("pusher:error")
	b.expectNone(200 * time.Millisecond)
}

// TestSlowSocketDropped: a socket that stops reading is dropped instead of
// holding up the others.
func TestSlowSocketDropped(t *testing.T) {
	cfg := testConfig()
	cfg.MaxSendQueue = 16
	s := mustServer(t, cfg, Options{})
	fast := mustDial(t, s.addr, testKey)
	fast.subscribe("firehose")
	slow := mustDial(t, s.addr, testKey)
	slow.subscribe("firehose")
	// slow's reader stops consuming: its frames channel fills and the TCP buffers behind it.
	payload := strings.Repeat("x", 10000)
	start := time.Now()
	dropped := false
	for i := 0; i < 3000 && time.Since(start) < 20*time.Second; i++ {
		mustPublish(t, s, "firehose", "big", payload)
		if _, err := fast.next(5 * time.Second); err != nil {
			t.Fatalf("fast socket starved at event %d: %v", i, err)
		}
		if i%50 == 0 {
			ci, _ := s.store.Info(t.Context(), testID, "firehose")
			if ci.Subscriptions == 1 {
				dropped = true
				break
			}
		}
	}
	if !dropped {
		t.Fatal("slow socket never dropped")
	}
}

func TestSubscriptionCountEvents(t *testing.T) {
	cfg := testConfig()
	cfg.Apps[0].SubscriptionCountEvents = true
	s := mustServer(t, cfg, Options{})
	a, b := mustDial(t, s.addr, testKey), mustDial(t, s.addr, testKey)
	a.subscribe("news")
	if f := a.expect("pusher_internal:subscription_count"); f.str() != `{"subscription_count":1}` || f.Channel != "news" {
		t.Errorf("count %s on %s", f.Data, f.Channel)
	}
	b.subscribe("news")
	if f := a.expect("pusher_internal:subscription_count"); f.str() != `{"subscription_count":2}` {
		t.Errorf("count %s", f.Data)
	}
	b.ws.Close()
	if f := a.expect("pusher_internal:subscription_count"); f.str() != `{"subscription_count":1}` {
		t.Errorf("count after leave %s", f.Data)
	}
	// presence channels have members instead
	c := mustDial(t, s.addr, testKey)
	c.subscribePresence("presence-p", "1", "null")
	c.expectNone(200 * time.Millisecond)
}

func TestPresenceChannelDataLimits(t *testing.T) {
	s := mustServer(t, testConfig(), Options{})
	c := mustDial(t, s.addr, testKey)
	for _, cd := range []string{
		fmt.Sprintf(`{"user_id":%q}`, strings.Repeat("u", 129)),
		fmt.Sprintf(`{"user_id":"1","user_info":{"bio":%q}}`, strings.Repeat("b", 1100)),
		`{"user_info":{}}`,
	} {
		c.send(`{"event":"pusher:subscribe","data":{"channel":"presence-l","auth":%q,"channel_data":%q}}`, SignChannel(testKey, testSecret, c.socketID, "presence-l", cd), cd)
		c.expect("pusher:subscription_error")
	}
	c.subscribePresence("presence-l", strings.Repeat("u", 128), "null")
}

func TestMetrics(t *testing.T) {
	s := mustServer(t, testConfig(), Options{})
	c := mustDial(t, s.addr, testKey)
	c.subscribe("m")
	mustPublish(t, s, "m", "e", "{}")
	c.expect("e")
	var b strings.Builder
	if err := s.WriteMetrics(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`sharpjob_realtime_connections{app="app-1"} 1`, "sharpjob_realtime_deliveries_total 1", "sharpjob_realtime_fanouts_total 1"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in\n%s", want, b.String())
		}
	}
}
