package realtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"github.com/mysharpjob/sharpjob/internal/testenv"
	"github.com/redis/go-redis/v9"
)

// backend builds a broker and a store shared by the nodes of one cluster.
type backend struct {
	name  string
	build func(tb testing.TB) (Broker, PresenceStore)
}

func randPrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "sjtest:" + hex.EncodeToString(b[:])
}

func redisBackend(tb testing.TB) (Broker, PresenceStore) {
	o, err := redis.ParseURL(testenv.RedisURL(tb))
	if err != nil {
		tb.Fatal(err)
	}
	rdb := redis.NewClient(o)
	prefix := randPrefix()
	tb.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+":*", 1000).Iterator()
		for i := 0; i < 10000 && iter.Next(ctx); i++ {
			rdb.Del(ctx, iter.Val())
		}
		rdb.Close()
	})
	return NewRedisBroker(rdb, prefix), NewRedisStore(rdb, prefix)
}

var backends = []backend{
	{"memory", func(tb testing.TB) (Broker, PresenceStore) { return NewMemoryBroker(), NewMemoryStore() }},
	{"redis", redisBackend},
}

// TestContract runs one suite against every Broker and PresenceStore.
func TestContract(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Run("broker", func(t *testing.T) { testBrokerContract(t, be) })
			t.Run("store", func(t *testing.T) { testStoreContract(t, be) })
			t.Run("reap", func(t *testing.T) { testReapContract(t, be) })
		})
	}
}

func testBrokerContract(t *testing.T, be backend) {
	b, _ := be.build(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var mu sync.Mutex
	got := map[string][]Message{}
	for _, node := range []string{"n1", "n2"} {
		if err := b.Subscribe(ctx, func(m Message) {
			mu.Lock()
			got[node] = append(got[node], m)
			mu.Unlock()
		}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 50; i++ {
		if err := b.Publish(ctx, Message{Node: "n1", App: "a", Channel: "c", Event: "e", Data: string(rune('A' + i%26)), Raw: i%2 == 0, Exclude: "1.2", UserID: "u"}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "50 messages on both nodes", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got["n1"]) == 50 && len(got["n2"]) == 50
	})
	mu.Lock()
	defer mu.Unlock()
	for i, m := range got["n2"] {
		if m.Data != string(rune('A'+i%26)) || m.Raw != (i%2 == 0) || m.Exclude != "1.2" || m.UserID != "u" || m.Node != "n1" {
			t.Fatalf("message %d out of order or altered: %+v", i, m)
		}
	}
}

func testStoreContract(t *testing.T, be backend) {
	_, s := be.build(t)
	ctx := t.Context()
	j, err := s.Join(ctx, "a", "presence-r", Member{Node: "n1", SocketID: "1.1", UserID: "u1", UserInfo: []byte(`{"n":1}`)})
	if err != nil || !j.Added || !j.NewUser || j.Subscriptions != 1 || j.Users != 1 {
		t.Fatalf("first join %+v %v", j, err)
	}
	j, _ = s.Join(ctx, "a", "presence-r", Member{Node: "n1", SocketID: "1.1", UserID: "u1"})
	if j.Added || j.NewUser || j.Subscriptions != 1 {
		t.Errorf("repeated join %+v", j)
	}
	// A repeated join under another user id changes nothing (found by TestHammer).
	j, _ = s.Join(ctx, "a", "presence-r", Member{Node: "n1", SocketID: "1.1", UserID: "u9"})
	if j.Added || j.NewUser || j.Users != 1 {
		t.Errorf("repeated join as another user %+v", j)
	}
	j, _ = s.Join(ctx, "a", "presence-r", Member{Node: "n2", SocketID: "2.1", UserID: "u1"})
	if !j.Added || j.NewUser || j.Subscriptions != 2 || j.Users != 1 {
		t.Errorf("same user, other node %+v", j)
	}
	j, _ = s.Join(ctx, "a", "presence-r", Member{Node: "n2", SocketID: "2.2", UserID: "u2"})
	if !j.NewUser || j.Users != 2 || j.Subscriptions != 3 {
		t.Errorf("second user %+v", j)
	}
	if _, err := s.Join(ctx, "a", "news", Member{Node: "n1", SocketID: "1.1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Join(ctx, "b", "news", Member{Node: "n1", SocketID: "9.9"}); err != nil {
		t.Fatal(err)
	}
	ms, err := s.Members(ctx, "a", "presence-r")
	if err != nil || len(ms) != 2 || ms[0].UserID != "u1" || ms[1].UserID != "u2" {
		t.Fatalf("members %+v %v", ms, err)
	}
	chans, err := s.Channels(ctx, "a", "")
	if err != nil || len(chans) != 2 || chans["presence-r"].Users != 2 || chans["news"].Subscriptions != 1 {
		t.Errorf("channels %+v %v", chans, err)
	}
	chans, _ = s.Channels(ctx, "a", "presence-")
	if len(chans) != 1 {
		t.Errorf("prefix filter %+v", chans)
	}
	l, _ := s.Leave(ctx, "a", "presence-r", "n1", "1.1", true)
	if !l.Removed || l.UserGone || l.UserID != "u1" || l.Subscriptions != 2 {
		t.Errorf("leave one of two sockets %+v", l)
	}
	l, _ = s.Leave(ctx, "a", "presence-r", "n1", "1.1", true)
	if l.Removed {
		t.Errorf("double leave %+v", l)
	}
	l, _ = s.Leave(ctx, "a", "presence-r", "n2", "2.1", false)
	if !l.UserGone || l.UserID != "u1" {
		t.Errorf("last socket of u1 %+v", l)
	}
	l, _ = s.Leave(ctx, "a", "presence-r", "n2", "2.2", true)
	if !l.UserGone || l.Subscriptions != 0 {
		t.Errorf("channel vacated %+v", l)
	}
	if ci, _ := s.Info(ctx, "a", "presence-r"); ci.Subscriptions != 0 || ci.Users != 0 {
		t.Errorf("info after vacating %+v", ci)
	}
	chans, _ = s.Channels(ctx, "a", "")
	if len(chans) != 1 {
		t.Errorf("vacated channel still listed: %+v", chans)
	}
	// cache
	if _, ok, _ := s.GetCache(ctx, "a", "cache-x"); ok {
		t.Error("cache hit before set")
	}
	if err := s.SetCache(ctx, "a", "cache-x", []byte(`{"event":"e"}`), time.Minute); err != nil {
		t.Fatal(err)
	}
	if b, ok, _ := s.GetCache(ctx, "a", "cache-x"); !ok || string(b) != `{"event":"e"}` {
		t.Errorf("cache %q %v", b, ok)
	}
	// Concurrent joins: exactly one sees the channel become occupied.
	var wg sync.WaitGroup
	var mu sync.Mutex
	firsts := 0
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.Join(ctx, "a", "race", Member{Node: "n", SocketID: "1." + string(rune('a'+i))})
			if err == nil && r.Subscriptions == 1 {
				mu.Lock()
				firsts++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firsts != 1 {
		t.Errorf("%d joins saw subscriptions == 1, want exactly 1", firsts)
	}
}

func testReapContract(t *testing.T, be backend) {
	_, s := be.build(t)
	ctx := t.Context()
	if err := s.Heartbeat(ctx, "alive", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.Heartbeat(ctx, "dying", 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	_, _ = s.Join(ctx, "a", "presence-r", Member{Node: "alive", SocketID: "1.1", UserID: "u1"})
	_, _ = s.Join(ctx, "a", "presence-r", Member{Node: "dying", SocketID: "2.1", UserID: "u2"})
	_, _ = s.Join(ctx, "a", "solo", Member{Node: "dying", SocketID: "2.1"})
	time.Sleep(120 * time.Millisecond)
	reaped, err := s.Reap(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(reaped) != 2 {
		t.Fatalf("reaped %+v, want the dead node's 2 subscriptions", reaped)
	}
	for _, r := range reaped {
		switch r.Channel {
		case "presence-r":
			if !r.UserGone || r.UserID != "u2" || r.Subscriptions != 1 {
				t.Errorf("presence reap %+v", r)
			}
		case "solo":
			if r.Subscriptions != 0 {
				t.Errorf("solo reap %+v", r)
			}
		default:
			t.Errorf("unexpected %+v", r)
		}
	}
	if again, _ := s.Reap(ctx, ""); len(again) != 0 {
		t.Errorf("second reap %+v", again)
	}
	if ms, _ := s.Members(ctx, "a", "presence-r"); len(ms) != 1 || ms[0].UserID != "u1" {
		t.Errorf("members after reap %+v", ms)
	}
}
