package realtime

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func FuzzParseClientFrame(f *testing.F) {
	for _, s := range []string{
		`{"event":"pusher:subscribe","data":{"channel":"presence-a","auth":"k:s","channel_data":"{\"user_id\":1}"}}`,
		`{"event":"pusher:ping","data":{}}`,
		`{"event":"client-x","channel":"private-a","data":"{\"a\":1}"}`,
		`{"event":"pusher:signin","data":"{\"auth\":\"k:s\",\"user_data\":\"{}\"}"}`,
		`{}`, `[]`, `"x"`, ``, `{"event":`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := parseClientFrame(b)
		if err != nil {
			return
		}
		if fr.Event == "" || len(fr.Event) > maxEventNameLen {
			t.Fatalf("accepted event name %q", fr.Event)
		}
		var sd subscribeData
		if decodeData(fr.Data, &sd) == nil {
			_ = validChannelName(sd.Channel)
		}
		_ = dataString(fr.Data)
		// Frames we build from what we parsed must be valid JSON.
		out := rawEventFrame(fr.Event, fr.Channel, fr.Data, "u")
		if _, err := parseClientFrame(out); err != nil && fr.Event != "" {
			t.Fatalf("re-encoded frame %q does not parse: %v", out, err)
		}
	})
}

func FuzzParseAPIPath(f *testing.F) {
	for _, s := range []string{"/apps/1/events", "/apps/1/batch_events", "/apps/1/channels", "/apps/1/channels/presence-a",
		"/apps/1/channels/presence-a/users", "/apps/1/users/42/terminate_connections", "/apps//events", "/apps/1/channels//users", "/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		r, ok := parseAPIPath(p)
		if !ok {
			return
		}
		if r.appID == "" || strings.Contains(r.appID, "/") {
			t.Fatalf("app id %q from %q", r.appID, p)
		}
		switch r.kind {
		case "events", "batch_events", "channels":
		case "channel", "users":
			if r.channel == "" || strings.Contains(r.channel, "/") {
				t.Fatalf("channel %q from %q", r.channel, p)
			}
		case "terminate":
			if r.userID == "" || strings.Contains(r.userID, "/") {
				t.Fatalf("user %q from %q", r.userID, p)
			}
		default:
			t.Fatalf("kind %q from %q", r.kind, p)
		}
	})
}

func FuzzParseEventsBody(f *testing.F) {
	f.Add([]byte(`{"name":"e","channels":["a","b"],"data":"{\"x\":1}","socket_id":"1.2","info":"subscription_count"}`))
	f.Add([]byte(`{"name":"e","channel":"a","data":{"x":1}}`))
	f.Add([]byte(`{"name":"","channels":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, _, err := parseEventsBody(b, 10240)
		if err != nil {
			return
		}
		if len(ev.Channels) == 0 || len(ev.Channels) > 100 || len(ev.Data) > 10240 || !validEventName(ev.Name) {
			t.Fatalf("accepted invalid event %+v", ev)
		}
		for _, c := range ev.Channels {
			if !validChannelName(c) {
				t.Fatalf("accepted channel %q", c)
			}
		}
	})
}

// FuzzVerifyAPIRequest signs arbitrary requests as the Pusher reference
// describes and checks that verification accepts them, and rejects them once
// the body or a parameter changes.
func FuzzVerifyAPIRequest(f *testing.F) {
	f.Add("POST", "/apps/1/events", "filter_by_prefix", "presence-", []byte(`{"name":"e"}`), byte(1))
	f.Add("GET", "/apps/1/channels", "info", "user_count", []byte(nil), byte(0))
	app := &App{ID: "1", Key: "k", Secret: "s"}
	f.Fuzz(func(t *testing.T, method, path, pk, pv string, body []byte, flip byte) {
		pk = strings.ToLower(pk)
		if pk == "" || strings.HasPrefix(pk, "auth_") || pk == "body_md5" || strings.ContainsAny(pk+pv, "&=") {
			return
		}
		now := time.Unix(1700000000, 0)
		q := [][2]string{{"auth_key", "k"}, {"auth_timestamp", strconv.FormatInt(now.Unix(), 10)}, {"auth_version", "1.0"}, {pk, pv}}
		if len(body) > 0 {
			sum := md5.Sum(body)
			q = append(q, [2]string{"body_md5", hex.EncodeToString(sum[:])})
		}
		sorted := append([][2]string(nil), q...)
		sort.SliceStable(sorted, func(i, j int) bool { return sorted[i][0] < sorted[j][0] })
		var parts []string
		for _, kv := range sorted {
			parts = append(parts, kv[0]+"="+kv[1])
		}
		sig := hmacHex("s", method+"\n"+path+"\n"+strings.Join(parts, "&"))
		signed := append(append([][2]string(nil), q...), [2]string{"auth_signature", sig})
		if err := verifyAPIRequest(app, method, path, signed, body, now); err != nil {
			t.Fatalf("correctly signed request refused: %v", err)
		}
		if len(body) > 0 {
			tampered := append([]byte(nil), body...)
			tampered[int(flip)%len(tampered)] ^= 0x01
			if verifyAPIRequest(app, method, path, signed, tampered, now) == nil {
				t.Fatal("tampered body accepted")
			}
		}
		other := append([][2]string(nil), signed...)
		other[3][1] = pv + "x"
		if verifyAPIRequest(app, method, path, other, body, now) == nil {
			t.Fatal("tampered parameter accepted")
		}
		if verifyAPIRequest(app, method, path, signed, body, now.Add(601*time.Second)) == nil {
			t.Fatal("expired timestamp accepted")
		}
	})
}

// FuzzAppendJSONString checks the hand-written string encoder against encoding/json.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", `q"uo\te`, "\n\r\t\x00\x1f", "\u2028\u2029é", "\xff\xfe", "<&>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(enc, &back); err != nil {
			t.Fatalf("%q encodes to invalid JSON %q: %v", s, enc, err)
		}
		want := s
		if !utf8.ValidString(s) {
			var ref string // encoding/json replaces each invalid byte
			q, _ := json.Marshal(s)
			_ = json.Unmarshal(q, &ref)
			want = ref
		}
		if back != want {
			t.Fatalf("round trip %q -> %q -> %q", s, enc, back)
		}
	})
}
