package realtime

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// TestHammer has many sockets on two nodes subscribe, unsubscribe, whisper
// and disconnect concurrently while events are published, then checks that
// the shared counts come back to exactly zero (nothing drifts or leaks).
func TestHammer(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			b, st := be.build(t)
			n1 := mustServer(t, testConfig(), Options{Broker: b, Store: st})
			n2 := mustServer(t, testConfig(), Options{Broker: b, Store: st})
			nodes := []*testServer{n1, n2}
			channels := []string{"pub-a", "private-b", "presence-c", "presence-d", "cache-e"}
			var wg sync.WaitGroup
			stop := time.Now().Add(1500 * time.Millisecond)
			for w := 0; w < 24; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := rand.New(rand.NewPCG(uint64(w), 7))
					for round := 0; round < 20 && time.Now().Before(stop); round++ {
						c := mustDial(t, nodes[r.IntN(2)].addr, testKey)
						for op := 0; op < 10; op++ {
							ch := channels[r.IntN(len(channels))]
							switch r.IntN(4) {
							case 0, 1:
								if isPresence(ch) {
									cd := fmt.Sprintf(`{"user_id":"u%d"}`, r.IntN(5))
									c.send(`{"event":"pusher:subscribe","data":{"channel":%q,"auth":%q,"channel_data":%q}}`, ch, SignChannel(testKey, testSecret, c.socketID, ch, cd), cd)
								} else {
									c.send(`{"event":"pusher:subscribe","data":{"channel":%q,"auth":%q}}`, ch, SignChannel(testKey, testSecret, c.socketID, ch, ""))
								}
							case 2:
								c.send(`{"event":"pusher:unsubscribe","data":{"channel":%q}}`, ch)
							case 3:
								c.send(`{"event":"client-x","channel":%q,"data":{}}`, ch)
							}
						}
						if r.IntN(2) == 0 {
							c.send(`{"event":"pusher:ping","data":{}}`)
							if !c.await("pusher:pong", 1000) {
								t.Error("no pong")
							}
						}
						c.ws.Close()
					}
				}()
			}
			for i := 0; i < 30 && time.Now().Before(stop); i++ {
				mustPublish(t, nodes[i%2], channels[i%len(channels)], "tick", "{}")
				time.Sleep(20 * time.Millisecond)
			}
			wg.Wait()
			eventually(t, "all sockets gone and every channel vacated", func() bool {
				chans, err := st.Channels(t.Context(), testID, "")
				return err == nil && len(chans) == 0 && n1.connCount() == 0 && n2.connCount() == 0
			})
			for _, ch := range channels {
				if ci, _ := st.Info(t.Context(), testID, ch); ci.Subscriptions != 0 || ci.Users != 0 {
					t.Errorf("%s: %+v left behind", ch, ci)
				}
				for _, n := range nodes {
					n.apps[testID].mu.RLock()
					left := len(n.apps[testID].channels[ch])
					n.apps[testID].mu.RUnlock()
					if left != 0 {
						t.Errorf("%s: %d local subscribers left", ch, left)
					}
				}
			}
		})
	}
}
