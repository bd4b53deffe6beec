// Package realtime is SharpJob Edge's Pusher-protocol server: WebSocket protocol
// v7 at /app/{key}, the Pusher HTTP API at /apps/{app_id}/..., webhooks, several
// apps, and horizontal scaling over a Broker (pub/sub) and a PresenceStore
// (shared channel state), each with an in-memory and a Redis implementation.
//
// # Seams for the host
//
//	cfg, err := realtime.ConfigFromEnv()          // PUSHER_APP_ID/KEY/SECRET, PUSHER_APPS_FILE, PUSHER_WEBHOOK_URLS, REDIS_URL, SHARPJOB_WS_ADDR, ...
//	srv, err := realtime.NewServer(cfg, logger)    // validates, connects Redis when REDIS_URL is set
//	go srv.ListenAndServe(cfg.Addr)                // or srv.Serve(listener), or mount srv.Handler() in a fasthttp.Server
//	pub := srv.Publisher(cfg.Apps[0].ID)           // in-process publishing ("sharpjob serve")
//	pub := realtime.NewHTTPPublisher(host, port, "http", id, key, secret) // over the HTTP API ("sharpjob realtime")
//	_ = pub.Publish(ctx, realtime.Event{Channels: []string{"private-user.1"}, Name: "message.sent", Data: `{"id":1}`})
//	auth := realtime.SignChannel(key, secret, socketID, channel, channelData) // POST /broadcasting/auth
//	auth := realtime.SignUser(key, secret, socketID, userData)                // POST /broadcasting/user-auth
//	_ = srv.Shutdown(ctx)                          // every socket closed with 4200, then state drained
//
// # Lifecycle
//
// NewServer → (Serve | Handler) → Shutdown. A connection lives in exactly one
// app; its reads happen in the goroutine fasthttp hands over on hijack, its
// writes in a short-lived goroutine started only while its queue is non-empty,
// so an idle connection owns one goroutine and no write buffer.
//
// # Lock order
//
// appState.mu (channel and socket maps) may be held while taking conn.mu
// (send queue). conn.mu is never held while taking appState.mu. Store and
// broker calls (which may do network I/O) are never made under either lock.
//
// # Delivery across nodes
//
// Every node subscribes to the broker; a publish is delivered locally at once
// and sent to the broker tagged with the node id, and a node ignores its own
// messages coming back. Channel state (subscriptions, presence members, cache
// channel payloads) lives in the PresenceStore, keyed by node and socket, so
// occupancy, user counts and member_added/member_removed are decided by one
// atomic store operation each; a node heartbeats, and the others reap the
// entries of a node whose heartbeat expired.
package realtime
