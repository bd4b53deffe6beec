package realtime

import (
	"context"
	"strings"
	"testing"
	"time"

	pusher "github.com/pusher/pusher-http-go/v5"
)

// TestCluster runs two nodes over each backend (Redis: real pub/sub and Lua).
func TestCluster(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			b, st := be.build(t)
			cfg := testConfig()
			cfg.HeartbeatInterval = 100 * time.Millisecond
			n1 := mustServer(t, cfg, Options{Broker: b, Store: st})
			n2 := mustServer(t, cfg, Options{Broker: b, Store: st})

			// Events published on one node reach subscribers on both.
			a, c := mustDial(t, n1.addr, testKey), mustDial(t, n2.addr, testKey)
			a.subscribe("news")
			c.subscribe("news")
			if err := sdk(n2).Trigger("news", "hello", "x"); err != nil {
				t.Fatal(err)
			}
			a.expect("hello")
			c.expect("hello")
			mustPublish(t, n1, "news", "again", "y")
			c.expect("again")

			// Occupancy and presence are global.
			a.subscribePresence("presence-room", "1", `{"n":"a"}`)
			f := c.subscribePresence("presence-room", "2", `{"n":"c"}`)
			if !strings.Contains(f.str(), `"count":2`) || !strings.Contains(f.str(), `"1"`) {
				t.Errorf("node 2 sees members %s", f.Data)
			}
			if m := a.expect("pusher_internal:member_added"); !strings.Contains(m.str(), `"2"`) {
				t.Errorf("member_added across nodes %s", m.Data)
			}
			info := "subscription_count"
			ch, err := sdk(n1).Channel("news", pusher.ChannelParams{Info: &info})
			if err != nil || ch.SubscriptionCount != 2 {
				t.Errorf("news seen from node 1: %+v %v", ch, err)
			}
			users, err := sdk(n1).GetChannelUsers("presence-room")
			if err != nil || len(users.List) != 2 {
				t.Errorf("users seen from node 1: %+v %v", users, err)
			}

			// Client events cross nodes, with user_id on presence.
			a.send(`{"event":"client-wave","channel":"presence-room","data":{"x":1}}`)
			if f := c.expect("client-wave"); f.UserID != "1" {
				t.Errorf("client event user_id %q", f.UserID)
			}

			// Cache channels are shared.
			mustPublish(t, n1, "cache-last", "v", "42")
			d := mustDial(t, n2.addr, testKey)
			d.subscribe("cache-last")
			if f := d.expect("v"); f.str() != "42" {
				t.Errorf("cache replay on node 2: %s", f.Data)
			}

			// Terminate reaches the node holding the user's socket.
			ud := `{"id":"t1"}`
			c.send(`{"event":"pusher:signin","data":{"auth":%q,"user_data":%q}}`, SignUser(testKey, testSecret, c.socketID, ud), ud)
			c.expect("pusher:signin_success")
			if code := rawPost(t, n1, "/apps/"+testID+"/users/t1/terminate_connections", "", nil); code != 200 {
				t.Fatalf("terminate %d", code)
			}
			if code := c.expectClose(); code != CodeUnauthorized {
				t.Errorf("terminate close %d", code)
			}
			// c's presence membership goes with it.
			if m := a.expect("pusher_internal:member_removed"); m.str() != `{"user_id":"2"}` {
				t.Errorf("member_removed %s", m.Data)
			}

			// A node that dies without shutting down is reaped by the other.
			e := mustDial(t, n2.addr, testKey)
			e.subscribePresence("presence-room", "3", "null")
			a.expect("pusher_internal:member_added")
			n2.cancel() // stops n2's heartbeat and broker subscription: it looks dead
			if m := a.expect("pusher_internal:member_removed"); m.str() != `{"user_id":"3"}` {
				t.Errorf("dead node's member removed: %s", m.Data)
			}
			eventually(t, "dead node's subscriptions gone", func() bool {
				ci, err := st.Info(context.Background(), testID, "presence-room")
				return err == nil && ci.Subscriptions == 1 && ci.Users == 1
			})
		})
	}
}

// TestNodeRestartClearsStaleState: a node restarted under the same id
// removes the members its previous run left behind.
func TestNodeRestartClearsStaleState(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			b, st := be.build(t)
			cfg := testConfig()
			n1 := mustServer(t, cfg, Options{Broker: b, Store: st})
			fixed := cfg
			fixed.NodeID = "fixed-" + randPrefix()[7:]
			n2 := mustServer(t, fixed, Options{Broker: b, Store: st})
			a := mustDial(t, n1.addr, testKey)
			a.subscribePresence("presence-r", "1", "null")
			c := mustDial(t, n2.addr, testKey)
			c.subscribePresence("presence-r", "2", "null")
			a.expect("pusher_internal:member_added")
			n2.cancel() // crash: no heartbeat, no cleanup
			_ = mustServer(t, fixed, Options{Broker: b, Store: st})
			if m := a.expect("pusher_internal:member_removed"); m.str() != `{"user_id":"2"}` {
				t.Errorf("member_removed %s", m.Data)
			}
			if ci, _ := st.Info(t.Context(), testID, "presence-r"); ci.Users != 1 {
				t.Errorf("users after restart %+v", ci)
			}
		})
	}
}

func signin(c *client, userData string) frame {
	c.tb.Helper()
	c.send(`{"event":"pusher:signin","data":{"auth":%q,"user_data":%q}}`, SignUser(testKey, testSecret, c.socketID, userData), userData)
	return c.expect("pusher:signin_success")
}

// TestWatchlist: watchlist online/offline events (pusher:signin user_data
// "watchlist"), across nodes, counted per user however many sockets.
func TestWatchlist(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			b, st := be.build(t)
			n1 := mustServer(t, testConfig(), Options{Broker: b, Store: st})
			n2 := mustServer(t, testConfig(), Options{Broker: b, Store: st})
			w := mustDial(t, n1.addr, testKey)
			signin(w, `{"id":"1","watchlist":["2","3"]}`)
			w.expectNone(200 * time.Millisecond) // nobody online yet

			u2a := mustDial(t, n2.addr, testKey)
			signin(u2a, `{"id":"2"}`)
			f := w.expect("pusher_internal:watchlist_events")
			if f.str() != `{"events":[{"name":"online","user_ids":["2"]}]}` {
				t.Errorf("online %s", f.Data)
			}
			u2b := mustDial(t, n1.addr, testKey)
			signin(u2b, `{"id":"2"}`)
			w.expectNone(200 * time.Millisecond) // a second socket is not news

			// A late watcher learns who is online at sign-in.
			late := mustDial(t, n2.addr, testKey)
			signin(late, `{"id":"9","watchlist":["2","3"]}`)
			if f := late.expect("pusher_internal:watchlist_events"); f.str() != `{"events":[{"name":"online","user_ids":["2"]}]}` {
				t.Errorf("initial %s", f.Data)
			}

			u2a.ws.Close()
			w.expectNone(300 * time.Millisecond)
			u2b.ws.Close()
			if f := w.expect("pusher_internal:watchlist_events"); f.str() != `{"events":[{"name":"offline","user_ids":["2"]}]}` {
				t.Errorf("offline %s", f.Data)
			}
			late.expect("pusher_internal:watchlist_events")
			chans, _ := st.Channels(t.Context(), testID, "")
			if _, ok := chans[onlineChannel+"1"]; !ok {
				t.Errorf("store should count user 1 online: %v", chans)
			}
		})
	}
}
