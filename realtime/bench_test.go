package realtime

import (
	"strconv"
	"testing"
	"time"
)

func BenchmarkParseClientFrame(b *testing.B) {
	msg := []byte(`{"event":"client-typing","channel":"presence-room.1","data":{"user":"ann","typing":true}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseClientFrame(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEventFrame(b *testing.B) {
	data := `{"id":1,"content":"hello there","sender":{"id":2,"name":"Ann"}}`
	b.ReportAllocs()
	for b.Loop() {
		_ = eventFrame("message.sent", "private-user.1", data, "")
	}
}

func BenchmarkVerifyAPIRequest(b *testing.B) {
	app := &App{ID: "1", Key: "k", Secret: "s"}
	body := []byte(`{"name":"e","channels":["c"],"data":"{}"}`)
	now := time.Now()
	q := [][2]string{{"auth_key", "k"}, {"auth_timestamp", strconv.FormatInt(now.Unix(), 10)}, {"auth_version", "1.0"}, {"body_md5", "x"}, {"auth_signature", "y"}}
	b.ReportAllocs()
	for b.Loop() {
		_ = verifyAPIRequest(app, "POST", "/apps/1/events", q, body, now)
	}
}

// BenchmarkFanout publishes one event to n loopback subscribers and waits
// until every one has read it (client and server in this process).
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			s := mustServer(b, testConfig(), Options{})
			cs := make([]*client, n)
			for i := range cs {
				cs[i] = mustDial(b, s.addr, testKey)
				cs[i].subscribe("bench")
			}
			b.ResetTimer()
			for b.Loop() {
				mustPublish(b, s, "bench", "e", `{"x":1}`)
				for _, c := range cs {
					if _, err := c.next(10 * time.Second); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}
