package realtime

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"
)

// conn is one WebSocket. Reads happen in the goroutine fasthttp hands over
// on hijack (handle); writes in writeLoop, started only while frames wait.
type conn struct {
	s    *Server
	a    *appState
	ws   *websocket.Conn
	id   string
	at   int64        // connected, unix ns
	seen atomic.Int64 // last frame received, unix ns
	ping atomic.Int64 // pusher:ping sent at, unix ns; 0 when none is due

	mu      sync.Mutex // guards queue, writing, closing
	queue   []outFrame
	writing bool
	closing bool

	// guarded by a.mu
	subs   map[string]string // channel → presence user id ("" otherwise)
	userID string            // signed-in user
	watch  []string          // the signed-in user's watchlist

	// reader goroutine only
	tokens   float64
	refilled int64
}

type outFrame struct {
	pm        *websocket.PreparedMessage
	b         []byte
	closeCode int
	closeMsg  string
}

// send queues a frame; a socket whose queue overflows is dropped.
func (c *conn) send(f outFrame) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	if len(c.queue) >= c.s.cfg.MaxSendQueue {
		c.closing = true
		c.mu.Unlock()
		c.s.log.Debug("realtime: slow socket dropped", "socket_id", c.id)
		_ = c.ws.NetConn().Close()
		return
	}
	c.queue = append(c.queue, f)
	if f.closeCode != 0 {
		c.closing = true
	}
	if !c.writing {
		c.writing = true
		go c.writeLoop()
	}
	c.mu.Unlock()
}

func (c *conn) sendBytes(b []byte) { c.send(outFrame{b: b}) }

// inlineWriteTimeout bounds a fan-out write done in the publisher's
// goroutine; a socket that cannot take a frame within it is dropped.
const inlineWriteTimeout = time.Second

// sendNow writes pm in the caller's goroutine when nothing is queued for the
// socket (the common case: no goroutine, no queue), else queues it.
func (c *conn) sendNow(pm *websocket.PreparedMessage) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	if c.writing {
		c.mu.Unlock()
		c.send(outFrame{pm: pm})
		return
	}
	c.writing = true
	c.mu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(inlineWriteTimeout))
	if err := c.ws.WritePreparedMessage(pm); err != nil {
		c.mu.Lock()
		c.closing = true
		c.queue = nil
		c.writing = false
		c.mu.Unlock()
		_ = c.ws.NetConn().Close()
		return
	}
	c.mu.Lock()
	if len(c.queue) == 0 {
		c.writing = false
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	go c.writeLoop() // frames queued meanwhile
}

// closeWith sends pusher:error with code, then a close frame with the same code.
func (c *conn) closeWith(code int, msg string) {
	c.send(outFrame{b: errorFrame(code, msg)})
	c.send(outFrame{closeCode: code, closeMsg: msg})
}

func (c *conn) writeLoop() {
	for {
		c.mu.Lock()
		if len(c.queue) == 0 {
			c.writing = false
			c.queue = nil
			c.mu.Unlock()
			return
		}
		q := c.queue
		c.queue = nil
		c.mu.Unlock()
		for i, f := range q {
			deadline := time.Now().Add(10 * time.Second)
			_ = c.ws.SetWriteDeadline(deadline)
			var err error
			switch {
			case f.pm != nil:
				err = c.ws.WritePreparedMessage(f.pm)
			case f.closeCode != 0:
				err = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(f.closeCode, f.closeMsg), deadline)
				// Wait briefly for the client's close frame, then the reader ends.
				_ = c.ws.SetReadDeadline(time.Now().Add(2 * time.Second))
			default:
				err = c.ws.WriteMessage(websocket.TextMessage, f.b)
			}
			q[i] = outFrame{}
			if err != nil {
				c.mu.Lock()
				c.closing = true
				c.queue = nil
				c.writing = false
				c.mu.Unlock()
				_ = c.ws.NetConn().Close()
				return
			}
		}
	}
}

// checkActivity is called by the sweeper.
func (c *conn) checkActivity(now int64) {
	cfg := &c.s.cfg
	seen := c.seen.Load()
	if p := c.ping.Load(); p != 0 {
		if now-p > int64(cfg.PongTimeout) {
			c.ping.Store(0)
			c.closeWith(CodePongNotReceived, "Pong reply not received")
		}
		return
	}
	if now-seen > int64(cfg.ActivityTimeout) {
		c.ping.Store(now)
		c.sendBytes(pingFrame)
		return
	}
	if cfg.UnsubscribedTimeout > 0 && now-c.at > int64(cfg.UnsubscribedTimeout) {
		c.a.mu.RLock()
		idle := len(c.subs) == 0 && c.userID == ""
		c.a.mu.RUnlock()
		if idle {
			c.closeWith(CodeClosedInactivity, "Closed after inactivity")
		}
	}
}

// serveWS upgrades /app/{key} and runs the socket.
func (s *Server) serveWS(ctx *fasthttp.RequestCtx, key string, detach bool) {
	a := s.byKey[key]
	code, msg := 0, ""
	proto := string(ctx.QueryArgs().Peek("protocol"))
	switch {
	case a == nil:
		code, msg = CodeAppNotFound, "App key "+key+" not in this cluster"
	case a.app.Disabled:
		code, msg = CodeAppDisabled, "Application disabled"
	case s.closing.Load():
		code, msg = CodeReconnect, "Server shutting down"
	case proto == "":
		code, msg = CodeNoProtocol, "No protocol version supplied"
	default:
		if n, err := strconv.Atoi(proto); err != nil {
			code, msg = CodeInvalidVersion, "Invalid version string format"
		} else if n < 5 || n > 7 {
			code, msg = CodeUnsupportedProto, "Unsupported protocol version"
		}
	}
	if code == 0 && a.app.MaxConnections > 0 && a.count.Load() >= int64(a.app.MaxConnections) {
		code, msg = CodeOverCapacity, "Over capacity"
	}
	if !websocket.FastHTTPIsWebSocketUpgrade(ctx) {
		ctx.Error("expected a WebSocket upgrade", fasthttp.StatusUpgradeRequired)
		return
	}
	// Copy what the handshake needs: ctx must not be used after Hijack.
	req := &http.Request{Method: http.MethodGet, Header: http.Header{}, Host: string(ctx.Host())}
	ctx.Request.Header.VisitAll(func(k, v []byte) { req.Header.Add(string(k), string(v)) })
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(hc net.Conn) {
		// Detached, take the raw socket so fasthttp's request reader is not
		// kept for the socket's lifetime (KeepHijackedConns is set, and this
		// handler returns at once). Otherwise fasthttp closes the connection
		// when this handler returns, so the socket runs here.
		raw := hc
		if u, ok := hc.(interface{ UnsafeConn() net.Conn }); ok && detach {
			raw = u.UnsafeConn()
		}
		ws, err := s.upgrader.Upgrade(&hijackWriter{conn: raw, h: http.Header{}}, req, nil)
		if err != nil {
			s.log.Debug("realtime: upgrade", "err", err)
			_ = raw.Close()
			return
		}
		switch {
		case code != 0 && detach:
			go refuse(ws, code, msg)
		case code != 0:
			refuse(ws, code, msg)
		case detach:
			go s.runConn(a, ws)
		default:
			s.runConn(a, ws)
		}
	})
}

// refuse sends pusher:error and closes with code.
func refuse(ws *websocket.Conn, code int, msg string) {
	_ = ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_ = ws.WriteMessage(websocket.TextMessage, errorFrame(code, msg))
	_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, msg), time.Now().Add(5*time.Second))
	_ = ws.SetReadDeadline(time.Now().Add(2 * time.Second))
	for i := 0; i < 8; i++ { // wait for the close reply, bounded
		if _, _, err := ws.NextReader(); err != nil {
			break
		}
	}
	_ = ws.Close()
}

// hijackWriter lets the net/http Upgrader run on a socket fasthttp handed
// over: Hijack returns the raw connection (nothing is buffered: the client
// waits for the 101 before sending frames), errors are written as plain
// HTTP responses.
type hijackWriter struct {
	conn   net.Conn
	h      http.Header
	status int
}

func (w *hijackWriter) Header() http.Header { return w.h }
func (w *hijackWriter) WriteHeader(code int) {
	w.status = code
}
func (w *hijackWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = w.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	head := fmt.Sprintf("HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", w.status, http.StatusText(w.status), len(b))
	if _, err := w.conn.Write([]byte(head)); err != nil {
		return 0, err
	}
	return w.conn.Write(b)
}
func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.conn, bufio.NewReadWriter(bufio.NewReaderSize(w.conn, 16), bufio.NewWriterSize(w.conn, 16)), nil
}

func (s *Server) runConn(a *appState, ws *websocket.Conn) {
	now := time.Now().UnixNano()
	c := &conn{s: s, a: a, ws: ws, id: s.newSocketID(), at: now, tokens: float64(a.app.MaxClientEventsPerSecond), refilled: now}
	c.seen.Store(now)
	ws.SetReadLimit(int64(a.app.MaxEventBytes) + 4096)
	ws.SetPongHandler(func(string) error { c.seen.Store(time.Now().UnixNano()); c.ping.Store(0); return nil })
	a.count.Add(1)
	a.mu.Lock()
	a.sockets[c.id] = c
	a.mu.Unlock()

	est, _ := json.Marshal(map[string]any{"socket_id": c.id, "activity_timeout": int(s.cfg.ActivityTimeout / time.Second)})
	c.sendBytes(eventFrame("pusher:connection_established", "", string(est), ""))

	for {
		mt, r, err := ws.NextReader()
		if err != nil {
			break
		}
		if mt != websocket.TextMessage {
			continue
		}
		b, err := io.ReadAll(r)
		if err != nil {
			break
		}
		c.seen.Store(time.Now().UnixNano())
		c.ping.Store(0)
		c.handle(b)
	}
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	_ = ws.Close()
	// A write in flight fails fast now; wait for it, because without
	// KeepHijackedConns fasthttp recycles the connection once this returns.
	for i := 0; i < 2000; i++ {
		c.mu.Lock()
		w := c.writing
		c.mu.Unlock()
		if !w {
			break
		}
		time.Sleep(time.Millisecond)
	}
	s.disconnect(c)
}

// disconnect removes a closed socket from every channel.
func (s *Server) disconnect(c *conn) {
	a := c.a
	a.mu.Lock()
	delete(a.sockets, c.id)
	userID := c.userID
	if userID != "" {
		if m := a.users[userID]; m != nil {
			delete(m, c)
			if len(m) == 0 {
				delete(a.users, userID)
			}
		}
		s.setWatchlist(a, c, nil)
	}
	chans := make([]string, 0, len(c.subs))
	for ch := range c.subs {
		chans = append(chans, ch)
	}
	a.mu.Unlock()
	for _, ch := range chans {
		s.unsubscribe(c, ch)
	}
	if userID != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.userOffline(ctx, a, c, userID)
		cancel()
	}
	a.count.Add(-1)
}

// handle processes one client frame.
func (c *conn) handle(b []byte) {
	if !utf8.Valid(b) {
		c.sendBytes(errorFrame(0, "Invalid message format: not UTF-8"))
		return
	}
	f, err := parseClientFrame(b)
	if err != nil {
		c.sendBytes(errorFrame(0, "Invalid message format"))
		return
	}
	switch {
	case f.Event == "pusher:ping":
		c.sendBytes(pongFrame)
	case f.Event == "pusher:pong":
	case f.Event == "pusher:subscribe":
		var d subscribeData
		if decodeData(f.Data, &d) != nil {
			c.sendBytes(errorFrame(0, "Invalid subscribe data"))
			return
		}
		c.s.subscribe(c, d)
	case f.Event == "pusher:unsubscribe":
		var d subscribeData
		if decodeData(f.Data, &d) != nil {
			c.sendBytes(errorFrame(0, "Invalid unsubscribe data"))
			return
		}
		c.s.unsubscribe(c, d.Channel)
	case f.Event == "pusher:signin":
		var d signinData
		if decodeData(f.Data, &d) != nil {
			c.closeWith(CodeUnauthorized, "Invalid signin data")
			return
		}
		c.s.signin(c, d)
	case strings.HasPrefix(f.Event, "client-"):
		c.s.clientEvent(c, f)
	default:
		c.sendBytes(errorFrame(0, "Unsupported event: "+f.Event))
	}
}

func (s *Server) subscribe(c *conn, d subscribeData) {
	a := c.a
	ch := d.Channel
	fail := func(typ, msg string, status int) { c.sendBytes(subscriptionErrorFrame(ch, typ, msg, status)) }
	if !validChannelName(ch) {
		c.sendBytes(errorFrame(0, "Invalid channel name "+strconv.Quote(ch)))
		fail("InvalidChannel", "Invalid channel name", 400)
		return
	}
	var userID string
	var userInfo json.RawMessage
	switch {
	case strings.HasPrefix(ch, serverToUser):
		a.mu.RLock()
		uid := c.userID
		a.mu.RUnlock()
		if uid == "" || ch != serverToUser+uid {
			fail("AuthError", "Subscription to "+ch+" requires signing in as that user", 403)
			return
		}
	case needsAuth(ch):
		toSign := c.id + ":" + ch
		if isPresence(ch) {
			toSign += ":" + d.ChannelData
		}
		if !checkAuth(&a.app, d.Auth, toSign) {
			fail("AuthError", "Invalid signature: expected HMAC SHA256 hex digest of "+toSign, 401)
			return
		}
		if isPresence(ch) {
			var cd struct {
				UserID   json.RawMessage `json:"user_id"`
				UserInfo json.RawMessage `json:"user_info"`
			}
			if json.Unmarshal([]byte(d.ChannelData), &cd) != nil {
				fail("AuthError", "Invalid channel_data", 400)
				return
			}
			userID = jsonID(cd.UserID)
			if userID == "" || len(userID) > maxUserIDLen || strings.ContainsAny(userID, "\n\x00") {
				fail("AuthError", "channel_data must contain a user_id of 1-128 characters", 400)
				return
			}
			if len(cd.UserInfo) > maxUserInfoLen {
				fail("AuthError", "user_info is over 1 KB", 400)
				return
			}
			userInfo = cd.UserInfo
		}
	}
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	if isPresence(ch) {
		info, err := s.store.Info(ctx, a.app.ID, ch)
		if err == nil && info.Users >= a.app.MaxPresenceMembers {
			if ms, _ := s.store.Members(ctx, a.app.ID, ch); !hasUser(ms, userID) {
				fail("LimitReached", "Presence channel is full", 403)
				return
			}
		}
	}
	a.mu.Lock()
	if c.subs == nil {
		c.subs = map[string]string{}
	}
	_, already := c.subs[ch]
	c.subs[ch] = userID
	subs := a.channels[ch]
	if subs == nil {
		subs = map[*conn]struct{}{}
		a.channels[ch] = subs
	}
	subs[c] = struct{}{}
	a.mu.Unlock()

	r, err := s.store.Join(ctx, a.app.ID, ch, Member{Node: s.node, SocketID: c.id, UserID: userID, UserInfo: userInfo})
	if err != nil {
		s.log.Error("realtime: join", "channel", ch, "err", err)
		a.mu.Lock()
		delete(c.subs, ch)
		if subs := a.channels[ch]; subs != nil {
			delete(subs, c)
			if len(subs) == 0 {
				delete(a.channels, ch)
			}
		}
		a.mu.Unlock()
		fail("ServerError", "Subscription failed", 500)
		return
	}
	if r.Added && r.Subscriptions == 1 {
		s.hooks.occupied(a, ch)
	}

	if !isPresence(ch) {
		c.sendBytes(eventFrame("pusher_internal:subscription_succeeded", ch, "{}", ""))
	} else {
		ms, err := s.store.Members(ctx, a.app.ID, ch)
		if err != nil {
			s.log.Error("realtime: members", "channel", ch, "err", err)
		}
		c.sendBytes(eventFrame("pusher_internal:subscription_succeeded", ch, presenceData(ms), ""))
		if r.NewUser && !already {
			added, _ := json.Marshal(struct {
				UserID   string          `json:"user_id"`
				UserInfo json.RawMessage `json:"user_info,omitempty"`
			}{userID, userInfo})
			_ = s.publish(ctx, a, Message{Channel: ch, Event: "pusher_internal:member_added", Data: string(added), Exclude: c.id})
			s.hooks.memberAdded(a, ch, userID)
		}
	}
	if isCache(ch) {
		if frame, ok, _ := s.store.GetCache(ctx, a.app.ID, ch); ok {
			c.sendBytes(frame)
		} else {
			c.sendBytes([]byte(`{"event":"pusher:cache_miss","channel":` + string(appendJSONString(nil, ch)) + `}`))
			s.hooks.cacheMiss(a, ch)
		}
	}
	if r.Added {
		s.subscriptionCount(ctx, a, ch, r.Subscriptions)
	}
}

func hasUser(ms []Member, id string) bool {
	for _, m := range ms {
		if m.UserID == id {
			return true
		}
	}
	return false
}

// jsonID turns a JSON string or number into the id string.
func jsonID(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// presenceData is subscription_succeeded's data for a presence channel.
func presenceData(ms []Member) string {
	ids := make([]string, 0, len(ms))
	hash := make(map[string]json.RawMessage, len(ms))
	for _, m := range ms {
		ids = append(ids, m.UserID)
		info := m.UserInfo
		if len(info) == 0 {
			info = json.RawMessage("null")
		}
		hash[m.UserID] = info
	}
	b, _ := json.Marshal(map[string]any{"presence": map[string]any{"ids": ids, "hash": hash, "count": len(ids)}})
	return string(b)
}

func (s *Server) unsubscribe(c *conn, ch string) {
	a := c.a
	a.mu.Lock()
	userID, ok := c.subs[ch]
	if !ok {
		a.mu.Unlock()
		return
	}
	delete(c.subs, ch)
	lastLocal := false
	if subs := a.channels[ch]; subs != nil {
		delete(subs, c)
		if len(subs) == 0 {
			delete(a.channels, ch)
			lastLocal = true
		}
	}
	a.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := s.store.Leave(ctx, a.app.ID, ch, s.node, c.id, lastLocal)
	if err != nil {
		s.log.Error("realtime: leave", "channel", ch, "err", err)
		return
	}
	if r.UserID == "" {
		r.UserID = userID
	}
	s.afterLeave(a, ch, c.id, r)
}

// afterLeave announces what a departure changed.
func (s *Server) afterLeave(a *appState, ch, socketID string, r LeaveResult) {
	if !r.Removed {
		return
	}
	if strings.HasPrefix(ch, onlineChannel) { // a dead node's signed-in socket
		if r.UserGone {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = s.publish(ctx, a, Message{Kind: "watch", UserID: strings.TrimPrefix(ch, onlineChannel), Data: "offline"})
			cancel()
		}
		return
	}
	if r.UserGone && r.UserID != "" {
		data, _ := json.Marshal(map[string]string{"user_id": r.UserID})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = s.publish(ctx, a, Message{Channel: ch, Event: "pusher_internal:member_removed", Data: string(data), Exclude: socketID})
		cancel()
		s.hooks.memberRemoved(a, ch, r.UserID)
	}
	if r.Subscriptions == 0 {
		s.hooks.vacated(a, ch)
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.subscriptionCount(ctx, a, ch, r.Subscriptions)
		cancel()
	}
}

// subscriptionCount tells a channel's subscribers its new subscription count
// when the app asks for it (never for presence channels, which have members).
func (s *Server) subscriptionCount(ctx context.Context, a *appState, ch string, n int) {
	if !a.app.SubscriptionCountEvents || isPresence(ch) || strings.HasPrefix(ch, serverToUser) {
		return
	}
	_ = s.publish(ctx, a, Message{Channel: ch, Event: "pusher_internal:subscription_count", Data: `{"subscription_count":` + strconv.Itoa(n) + `}`})
}

func (s *Server) signin(c *conn, d signinData) {
	a := c.a
	if !checkAuth(&a.app, d.Auth, c.id+"::user::"+d.UserData) {
		c.closeWith(CodeUnauthorized, "Invalid signature for pusher:signin")
		return
	}
	var ud struct {
		ID        json.RawMessage `json:"id"`
		Watchlist []string        `json:"watchlist"`
	}
	if json.Unmarshal([]byte(d.UserData), &ud) != nil {
		c.closeWith(CodeUnauthorized, "user_data must be a JSON object with an id")
		return
	}
	id := jsonID(ud.ID)
	if id == "" || len(id) > maxUserIDLen || strings.ContainsAny(id, "\n\x00") {
		c.closeWith(CodeUnauthorized, "user_data must contain an id of 1-128 characters")
		return
	}
	if len(ud.Watchlist) > maxWatchlist {
		c.closeWith(CodeUnauthorized, "watchlist is over "+strconv.Itoa(maxWatchlist)+" users")
		return
	}
	a.mu.Lock()
	prev := c.userID
	if prev != "" && prev != id {
		if m := a.users[prev]; m != nil {
			delete(m, c)
			if len(m) == 0 {
				delete(a.users, prev)
			}
		}
	}
	c.userID = id
	if a.users[id] == nil {
		a.users[id] = map[*conn]struct{}{}
	}
	a.users[id][c] = struct{}{}
	s.setWatchlist(a, c, ud.Watchlist)
	a.mu.Unlock()
	data, _ := json.Marshal(map[string]string{"user_data": d.UserData})
	c.sendBytes(eventFrame("pusher:signin_success", "", string(data), ""))

	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	if prev != "" && prev != id {
		s.userOffline(ctx, a, c, prev)
	}
	if prev != id {
		r, err := s.store.Join(ctx, a.app.ID, onlineChannel+id, Member{Node: s.node, SocketID: c.id, UserID: id})
		if err != nil {
			s.log.Error("realtime: online", "user", id, "err", err)
		} else if r.NewUser {
			_ = s.publish(ctx, a, Message{Kind: "watch", UserID: id, Data: "online"})
		}
	}
	// The watched users online now.
	var online []string
	for _, w := range ud.Watchlist {
		if ci, err := s.store.Info(ctx, a.app.ID, onlineChannel+w); err == nil && ci.Subscriptions > 0 {
			online = append(online, w)
		}
	}
	if len(online) > 0 {
		c.sendBytes(watchlistFrame("online", online))
	}
}

// onlineChannel prefixes the store entry that counts a signed-in user's
// sockets across nodes (for watchlist online/offline events). Names starting
// with '#' are never listed by the HTTP API.
const onlineChannel = "#online-"

const maxWatchlist = 100

// setWatchlist replaces c's watchlist; a.mu must be held.
func (s *Server) setWatchlist(a *appState, c *conn, list []string) {
	for _, w := range c.watch {
		if m := a.watchers[w]; m != nil {
			delete(m, c)
			if len(m) == 0 {
				delete(a.watchers, w)
			}
		}
	}
	c.watch = list
	for _, w := range list {
		if a.watchers[w] == nil {
			a.watchers[w] = map[*conn]struct{}{}
		}
		a.watchers[w][c] = struct{}{}
	}
}

// userOffline removes a signed-in socket from the user's online count.
func (s *Server) userOffline(ctx context.Context, a *appState, c *conn, id string) {
	r, err := s.store.Leave(ctx, a.app.ID, onlineChannel+id, s.node, c.id, false)
	if err != nil {
		s.log.Error("realtime: offline", "user", id, "err", err)
		return
	}
	if r.UserGone {
		_ = s.publish(ctx, a, Message{Kind: "watch", UserID: id, Data: "offline"})
	}
}

func watchlistFrame(name string, ids []string) []byte {
	data, _ := json.Marshal(map[string]any{"events": []map[string]any{{"name": name, "user_ids": ids}}})
	return eventFrame("pusher_internal:watchlist_events", "", string(data), "")
}

func (s *Server) clientEvent(c *conn, f clientFrame) {
	a := c.a
	ch := f.Channel
	if a.app.ClientEventsDisabled {
		c.sendBytes(errorFrame(0, "Client events are disabled for this app"))
		return
	}
	if !needsAuth(ch) {
		c.sendBytes(errorFrame(0, "Client event rejected - only supported on private and presence channels"))
		return
	}
	if isEncrypted(ch) {
		c.sendBytes(errorFrame(0, "Client event rejected - not supported on encrypted channels"))
		return
	}
	a.mu.RLock()
	userID, subscribed := c.subs[ch]
	a.mu.RUnlock()
	if !subscribed {
		c.sendBytes(errorFrame(0, "Client event rejected - not subscribed to "+ch))
		return
	}
	if len(f.Data) > a.app.MaxEventBytes {
		c.sendBytes(errorFrame(0, "Client event rejected - data over "+strconv.Itoa(a.app.MaxEventBytes)+" bytes"))
		return
	}
	now := time.Now().UnixNano()
	rate := float64(a.app.MaxClientEventsPerSecond)
	c.tokens = min(rate, c.tokens+float64(now-c.refilled)/1e9*rate)
	c.refilled = now
	if c.tokens < 1 {
		c.sendBytes(errorFrame(CodeClientEventRejected, "Client event rejected due to rate limit"))
		return
	}
	c.tokens--
	m := Message{Channel: ch, Event: f.Event, Data: string(f.Data), Raw: true, Exclude: c.id}
	if isPresence(ch) {
		m.UserID = userID
	}
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	_ = s.publish(ctx, a, m)
	cancel()
	s.hooks.clientEvent(a, ch, f.Event, dataString(f.Data), c.id, m.UserID)
}
