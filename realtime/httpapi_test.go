package realtime

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	pusher "github.com/pusher/pusher-http-go/v5"
)

func sdk(s *testServer) *pusher.Client {
	return &pusher.Client{AppID: testID, Key: testKey, Secret: testSecret, Host: s.addr,
		HTTPClient: &http.Client{Timeout: 5 * time.Second}}
}

func TestGoSDKTrigger(t *testing.T) {
	s := mustServer(t, testConfig(), Options{})
	a, b := mustDial(t, s.addr, testKey), mustDial(t, s.addr, testKey)
	a.subscribe("orders")
	b.subscribe("orders")
	b.subscribePresence("presence-team", "u1", `{"n":1}`)
	p := sdk(s)
	if err := p.Trigger("orders", "created", map[string]int{"id": 5}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client{a, b} {
		if f := c.expect("created"); f.str() != `{"id":5}` {
			t.Errorf("data %s", f.Data)
		}
	}
	if err := p.TriggerExclusive("orders", "ex", "x", a.socketID); err != nil {
		t.Fatal(err)
	}
	b.expect("ex")
	a.expectNone(200 * time.Millisecond)

	info := "subscription_count,user_count"
	res, err := p.TriggerMultiWithParams([]string{"orders", "presence-team"}, "multi", "m", pusher.TriggerParams{Info: &info})
	if err == nil {
		t.Fatalf("user_count on a public channel must be refused, got %+v", res)
	}
	info = "user_count,subscription_count"
	res, err = p.TriggerMultiWithParams([]string{"presence-team"}, "multi", "m", pusher.TriggerParams{Info: &info})
	if err != nil {
		t.Fatal(err)
	}
	if it := res.Channels["presence-team"]; it.UserCount == nil || *it.UserCount != 1 || *it.SubscriptionCount != 1 {
		t.Errorf("info %+v", res.Channels)
	}

	// batch
	br, err := p.TriggerBatch([]pusher.Event{{Channel: "orders", Name: "b1", Data: "1"}, {Channel: "orders", Name: "b2", Data: "2"}})
	if err != nil {
		t.Fatal(err)
	}
	_ = br
	if f := a.expect("b1"); f.str() != "1" {
		t.Errorf("b1 %s", f.Data)
	}
	a.expect("b2")

	// send to user
	ud := `{"id":"u9"}`
	a.send(`{"event":"pusher:signin","data":{"auth":%q,"user_data":%q}}`, SignUser(testKey, testSecret, a.socketID, ud), ud)
	a.expect("pusher:signin_success")
	a.subscribe("#server-to-user-u9")
	if err := p.SendToUser("u9", "direct", "hi"); err != nil {
		t.Fatal(err)
	}
	a.expect("direct")

	// too large: the SDK refuses before sending; the server answers 413 to raw requests.
	big := strings.Repeat("x", 10241)
	if err := p.Trigger("orders", "big", big); err == nil {
		t.Error("SDK accepted 10 KB+ data")
	}
	if code := rawPost(t, s, "/apps/"+testID+"/events", fmt.Sprintf(`{"name":"big","channels":["orders"],"data":%q}`, big), nil); code != 413 {
		t.Errorf("big event: %d, want 413", code)
	}
}

func TestGoSDKQueries(t *testing.T) {
	s := mustServer(t, testConfig(), Options{})
	p := sdk(s)
	a, b := mustDial(t, s.addr, testKey), mustDial(t, s.addr, testKey)
	a.subscribe("news")
	b.subscribe("news")
	a.subscribePresence("presence-lobby", "1", "null")
	b.subscribePresence("presence-lobby", "2", "null")
	a.subscribe("private-x")

	list, err := p.Channels(pusher.ChannelsParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Channels) != 3 {
		t.Errorf("channels %v", list.Channels)
	}
	pre := "presence-"
	uc := "user_count"
	list, err = p.Channels(pusher.ChannelsParams{FilterByPrefix: &pre, Info: &uc})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Channels) != 1 || list.Channels["presence-lobby"].UserCount != 2 {
		t.Errorf("presence channels %v", list.Channels)
	}
	if _, err := p.Channels(pusher.ChannelsParams{Info: &uc}); err == nil {
		t.Error("user_count without presence- prefix must be 400")
	}
	info := "subscription_count,user_count"
	ch, err := p.Channel("presence-lobby", pusher.ChannelParams{Info: &info})
	if err != nil {
		t.Fatal(err)
	}
	if !ch.Occupied || ch.UserCount != 2 || ch.SubscriptionCount != 2 {
		t.Errorf("channel %+v", ch)
	}
	sc := "subscription_count"
	ch, err = p.Channel("empty", pusher.ChannelParams{Info: &sc})
	if err != nil || ch.Occupied {
		t.Errorf("empty channel %+v %v", ch, err)
	}
	users, err := p.GetChannelUsers("presence-lobby")
	if err != nil {
		t.Fatal(err)
	}
	if len(users.List) != 2 || users.List[0].ID != "1" || users.List[1].ID != "2" {
		t.Errorf("users %+v", users.List)
	}
	if _, err := p.GetChannelUsers("news"); err == nil {
		t.Error("users of a public channel must be 400")
	}
	// terminate
	ud := `{"id":"2"}`
	b.send(`{"event":"pusher:signin","data":{"auth":%q,"user_data":%q}}`, SignUser(testKey, testSecret, b.socketID, ud), ud)
	b.expect("pusher:signin_success")
	// pusher-http-go v5.1.1 has no terminate call: sign it by hand.
	if code := rawPost(t, s, "/apps/"+testID+"/users/2/terminate_connections", "", nil); code != 200 {
		t.Fatalf("terminate: %d", code)
	}
	if code := b.expectClose(); code != CodeUnauthorized {
		t.Errorf("terminated with %d", code)
	}
	eventually(t, "user 2 gone", func() bool {
		users, err := p.GetChannelUsers("presence-lobby")
		return err == nil && len(users.List) == 1
	})
}

// signedURL signs a request the way the Pusher HTTP API reference describes.
func signedURL(s *testServer, method, path, body string, ts int64, extra map[string]string) string {
	q := map[string]string{"auth_key": testKey, "auth_timestamp": strconv.FormatInt(ts, 10), "auth_version": "1.0"}
	if body != "" {
		sum := md5.Sum([]byte(body))
		q["body_md5"] = hex.EncodeToString(sum[:])
	}
	for k, v := range extra {
		q[k] = v
	}
	var kv [][2]string
	for k, v := range q {
		kv = append(kv, [2]string{k, v})
	}
	// sort
	for i := range kv {
		for j := i + 1; j < len(kv); j++ {
			if kv[j][0] < kv[i][0] {
				kv[i], kv[j] = kv[j], kv[i]
			}
		}
	}
	var parts []string
	for _, p := range kv {
		parts = append(parts, p[0]+"="+p[1])
	}
	qs := strings.Join(parts, "&")
	sig := hmacHex(testSecret, method+"\n"+path+"\n"+qs)
	return "http://" + s.addr + path + "?" + qs + "&auth_signature=" + sig
}

func rawPost(t *testing.T, s *testServer, path, body string, mutate func(u string) string) int {
	t.Helper()
	u := signedURL(s, "POST", path, body, time.Now().Unix(), nil)
	if mutate != nil {
		u = mutate(u)
	}
	resp, err := http.Post(u, "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func TestAPIAuthAndStatuses(t *testing.T) {
	s := mustServer(t, testConfig(), Options{})
	path := "/apps/" + testID + "/events"
	ok := `{"name":"e","channels":["c"],"data":"d"}`
	get := func(u string) int {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		name string
		code int
		do   func() int
	}{
		{"valid", 200, func() int { return rawPost(t, s, path, ok, nil) }},
		{"tampered signature", 401, func() int {
			return rawPost(t, s, path, ok, func(u string) string {
				last := "0"
				if strings.HasSuffix(u, "0") {
					last = "1"
				}
				return u[:len(u)-1] + last
			})
		}},
		{"body changed after signing", 401, func() int {
			u := signedURL(s, "POST", path, ok, time.Now().Unix(), nil)
			resp, err := http.Post(u, "application/json", strings.NewReader(`{"name":"f","channels":["c"],"data":"d"}`))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}},
		{"old timestamp", 401, func() int {
			u := signedURL(s, "POST", path, ok, time.Now().Unix()-601, nil)
			resp, _ := http.Post(u, "application/json", strings.NewReader(ok))
			resp.Body.Close()
			return resp.StatusCode
		}},
		{"timestamp within 600s", 200, func() int {
			u := signedURL(s, "POST", path, ok, time.Now().Unix()-590, nil)
			resp, _ := http.Post(u, "application/json", strings.NewReader(ok))
			resp.Body.Close()
			return resp.StatusCode
		}},
		{"no signature", 401, func() int {
			resp, _ := http.Post("http://"+s.addr+path, "application/json", strings.NewReader(ok))
			resp.Body.Close()
			return resp.StatusCode
		}},
		{"unknown app", 404, func() int { return rawPost(t, s, "/apps/nope/events", ok, nil) }},
		{"bad json", 400, func() int { return rawPost(t, s, path, `{`, nil) }},
		{"no channels", 400, func() int { return rawPost(t, s, path, `{"name":"e","data":"d"}`, nil) }},
		{"101 channels", 400, func() int {
			chs := make([]string, 101)
			for i := range chs {
				chs[i] = fmt.Sprintf("%q", fmt.Sprint("c", i))
			}
			return rawPost(t, s, path, `{"name":"e","data":"d","channels":[`+strings.Join(chs, ",")+`]}`, nil)
		}},
		{"bad socket_id", 400, func() int {
			return rawPost(t, s, path, `{"name":"e","data":"d","channels":["c"],"socket_id":"abc"}`, nil)
		}},
		{"reserved event name", 400, func() int {
			return rawPost(t, s, path, `{"name":"pusher:subscribe","data":"d","channels":["c"]}`, nil)
		}},
		{"bad channel", 400, func() int { return rawPost(t, s, path, `{"name":"e","data":"d","channels":["a b"]}`, nil) }},
		{"exactly 10 KiB", 200, func() int {
			return rawPost(t, s, path, fmt.Sprintf(`{"name":"e","channels":["c"],"data":%q}`, strings.Repeat("x", 10240)), nil)
		}},
		{"11 batch events", 400, func() int {
			ev := `{"name":"e","channel":"c","data":"d"}`
			return rawPost(t, s, "/apps/"+testID+"/batch_events", `{"batch":[`+strings.Repeat(ev+",", 10)+ev+`]}`, nil)
		}},
		{"GET channels signed", 200, func() int {
			return get(signedURL(s, "GET", "/apps/"+testID+"/channels", "", time.Now().Unix(), map[string]string{"filter_by_prefix": "presence-", "info": "user_count"}))
		}},
		{"GET channels with a param not signed", 401, func() int {
			return get(signedURL(s, "GET", "/apps/"+testID+"/channels", "", time.Now().Unix(), nil) + "&filter_by_prefix=x")
		}},
		{"wrong method", 405, func() int {
			return get(signedURL(s, "GET", path, "", time.Now().Unix(), nil))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.do(); got != tc.code {
				t.Errorf("status %d, want %d", got, tc.code)
			}
		})
	}
}
