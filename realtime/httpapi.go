package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// apiError is an HTTP API failure with its status.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(msg string) error { return &apiError{fasthttp.StatusBadRequest, msg} }

var socketIDRe = regexp.MustCompile(`^\d+\.\d+$`)

// apiRoute is a parsed /apps/{id}/... path.
type apiRoute struct {
	appID   string
	kind    string // events, batch_events, channels, channel, users, terminate
	channel string
	userID  string
}

// parseAPIPath parses a decoded request path.
func parseAPIPath(path string) (apiRoute, bool) {
	rest, ok := strings.CutPrefix(path, "/apps/")
	if !ok {
		return apiRoute{}, false
	}
	id, rest, ok := strings.Cut(rest, "/")
	if !ok || id == "" {
		return apiRoute{}, false
	}
	r := apiRoute{appID: id}
	switch {
	case rest == "events" || rest == "batch_events" || rest == "channels":
		r.kind = rest
	case strings.HasPrefix(rest, "channels/"):
		name := rest[len("channels/"):]
		if n, ok := strings.CutSuffix(name, "/users"); ok {
			r.kind, r.channel = "users", n
		} else {
			r.kind, r.channel = "channel", name
		}
		if r.channel == "" || strings.Contains(r.channel, "/") {
			return apiRoute{}, false
		}
	case strings.HasPrefix(rest, "users/") && strings.HasSuffix(rest, "/terminate_connections"):
		r.kind = "terminate"
		r.userID = strings.TrimSuffix(strings.TrimPrefix(rest, "users/"), "/terminate_connections")
		if r.userID == "" || strings.Contains(r.userID, "/") {
			return apiRoute{}, false
		}
	default:
		return apiRoute{}, false
	}
	return r, true
}

func (s *Server) serveAPI(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	r, ok := parseAPIPath(path)
	if !ok {
		apiFail(ctx, &apiError{fasthttp.StatusNotFound, "Not found"})
		return
	}
	a := s.apps[r.appID]
	if a == nil {
		apiFail(ctx, &apiError{fasthttp.StatusNotFound, "Unknown app " + r.appID})
		return
	}
	method := string(ctx.Method())
	want := fasthttp.MethodGet
	if r.kind == "events" || r.kind == "batch_events" || r.kind == "terminate" {
		want = fasthttp.MethodPost
	}
	if method != want {
		apiFail(ctx, &apiError{fasthttp.StatusMethodNotAllowed, "Method not allowed"})
		return
	}
	var query [][2]string
	ctx.QueryArgs().VisitAll(func(k, v []byte) { query = append(query, [2]string{string(k), string(v)}) })
	body := ctx.PostBody()
	if err := verifyAPIRequest(&a.app, method, path, query, body, time.Now()); err != nil {
		apiFail(ctx, &apiError{fasthttp.StatusUnauthorized, err.Error()})
		return
	}
	if a.app.Disabled {
		apiFail(ctx, &apiError{fasthttp.StatusForbidden, "Forbidden: application disabled"})
		return
	}
	rctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	var res any
	var err error
	q := ctx.QueryArgs()
	switch r.kind {
	case "events":
		res, err = s.apiEvents(rctx, a, body)
	case "batch_events":
		res, err = s.apiBatch(rctx, a, body)
	case "channels":
		res, err = s.apiChannels(rctx, a, string(q.Peek("filter_by_prefix")), string(q.Peek("info")))
	case "channel":
		res, err = s.apiChannel(rctx, a, r.channel, string(q.Peek("info")))
	case "users":
		res, err = s.apiUsers(rctx, a, r.channel)
	case "terminate":
		err = s.publish(rctx, a, Message{Kind: "terminate", UserID: r.userID})
		res = struct{}{}
	}
	if err != nil {
		apiFail(ctx, err)
		return
	}
	b, _ := json.Marshal(res)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

func apiFail(ctx *fasthttp.RequestCtx, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{fasthttp.StatusInternalServerError, "Internal error"}
	}
	ctx.SetStatusCode(ae.status)
	ctx.SetContentType("text/plain; charset=utf-8")
	ctx.SetBodyString(ae.msg + "\n")
}

// apiEvent is the body of POST /events and one item of batch_events.
type apiEvent struct {
	Name     string          `json:"name"`
	Data     json.RawMessage `json:"data"`
	Channels []string        `json:"channels"`
	Channel  string          `json:"channel"`
	SocketID string          `json:"socket_id"`
	Info     string          `json:"info"`
}

// parseEventsBody decodes and validates POST /events.
func parseEventsBody(body []byte, maxData int) (Event, string, error) {
	var e apiEvent
	if err := json.Unmarshal(body, &e); err != nil {
		return Event{}, "", badRequest("Invalid JSON body: " + err.Error())
	}
	if e.Channel != "" {
		e.Channels = append(e.Channels, e.Channel)
	}
	ev := Event{Channels: e.Channels, Name: e.Name, Data: dataString(e.Data), SocketID: e.SocketID}
	if err := ev.validate(maxData, 100); err != nil {
		return Event{}, "", err
	}
	return ev, e.Info, nil
}

// validate checks an event as the HTTP API does: 400 for bad names, channel
// counts or socket ids, 413 for data over maxData bytes.
func (e *Event) validate(maxData, maxChannels int) error {
	if !validEventName(e.Name) || reservedEventName(e.Name) {
		return badRequest("Invalid event name")
	}
	if len(e.Channels) == 0 {
		return badRequest("Missing channels")
	}
	if len(e.Channels) > maxChannels {
		return badRequest("Too many channels")
	}
	for _, ch := range e.Channels {
		if !validChannelName(ch) {
			return badRequest("Invalid channel name " + ch)
		}
	}
	if e.SocketID != "" && !socketIDRe.MatchString(e.SocketID) {
		return badRequest("Invalid socket_id")
	}
	if len(e.Data) > maxData {
		return &apiError{fasthttp.StatusRequestEntityTooLarge, "Event data too large"}
	}
	return nil
}

func (s *Server) apiEvents(ctx context.Context, a *appState, body []byte) (any, error) {
	ev, info, err := parseEventsBody(body, a.app.MaxEventBytes)
	if err != nil {
		return nil, err
	}
	if err := s.publishEvent(ctx, a, ev); err != nil {
		return nil, err
	}
	if info == "" {
		return struct{}{}, nil
	}
	out := map[string]any{}
	for _, ch := range ev.Channels {
		m, err := s.infoAttrs(ctx, a, ch, info)
		if err != nil {
			return nil, err
		}
		out[ch] = m
	}
	return map[string]any{"channels": out}, nil
}

func (s *Server) apiBatch(ctx context.Context, a *appState, body []byte) (any, error) {
	var b struct {
		Batch []apiEvent `json:"batch"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, badRequest("Invalid JSON body: " + err.Error())
	}
	if len(b.Batch) == 0 || len(b.Batch) > 10 {
		return nil, badRequest("Batch must hold 1 to 10 events")
	}
	evs := make([]Event, len(b.Batch))
	anyInfo := false
	for i, e := range b.Batch {
		evs[i] = Event{Channels: []string{e.Channel}, Name: e.Name, Data: dataString(e.Data), SocketID: e.SocketID}
		if e.Channel == "" && len(e.Channels) == 1 {
			evs[i].Channels = e.Channels
		}
		if err := evs[i].validate(a.app.MaxEventBytes, 1); err != nil {
			return nil, err
		}
		anyInfo = anyInfo || e.Info != ""
	}
	for _, ev := range evs {
		if err := s.publishEvent(ctx, a, ev); err != nil {
			return nil, err
		}
	}
	if !anyInfo {
		return struct{}{}, nil
	}
	out := make([]map[string]any, len(evs))
	for i, ev := range evs {
		m, err := s.infoAttrs(ctx, a, ev.Channels[0], b.Batch[i].Info)
		if err != nil {
			return nil, err
		}
		out[i] = m
	}
	return map[string]any{"batch": out}, nil
}

// infoAttrs answers the info=subscription_count,user_count attributes.
func (s *Server) infoAttrs(ctx context.Context, a *appState, ch, info string) (map[string]any, error) {
	m := map[string]any{}
	if info == "" {
		return m, nil
	}
	ci, err := s.store.Info(ctx, a.app.ID, ch)
	if err != nil {
		return nil, err
	}
	for _, attr := range strings.Split(info, ",") {
		switch strings.TrimSpace(attr) {
		case "subscription_count":
			m["subscription_count"] = ci.Subscriptions
		case "user_count":
			if !isPresence(ch) {
				return nil, badRequest("user_count is only available for presence channels")
			}
			m["user_count"] = ci.Users
		case "":
		default:
			return nil, badRequest("Unknown info attribute " + attr)
		}
	}
	return m, nil
}

func (s *Server) apiChannels(ctx context.Context, a *appState, prefix, info string) (any, error) {
	wantUsers := false
	for _, attr := range strings.Split(info, ",") {
		switch strings.TrimSpace(attr) {
		case "user_count":
			if !strings.HasPrefix(prefix, "presence-") {
				return nil, badRequest("user_count requires filter_by_prefix=presence-")
			}
			wantUsers = true
		case "subscription_count", "":
		default:
			return nil, badRequest("Unknown info attribute " + attr)
		}
	}
	chans, err := s.store.Channels(ctx, a.app.ID, prefix)
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, len(chans))
	for name, ci := range chans {
		if strings.HasPrefix(name, "#") { // #server-to-user-*, #online-*
			continue
		}
		m := map[string]any{}
		if wantUsers {
			m["user_count"] = ci.Users
		}
		if strings.Contains(info, "subscription_count") {
			m["subscription_count"] = ci.Subscriptions
		}
		out[name] = m
	}
	return map[string]any{"channels": out}, nil
}

func (s *Server) apiChannel(ctx context.Context, a *appState, ch, info string) (any, error) {
	if !validChannelName(ch) {
		return nil, badRequest("Invalid channel name")
	}
	ci, err := s.store.Info(ctx, a.app.ID, ch)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"occupied": ci.Subscriptions > 0}
	for _, attr := range strings.Split(info, ",") {
		switch strings.TrimSpace(attr) {
		case "subscription_count":
			out["subscription_count"] = ci.Subscriptions
		case "user_count":
			if !isPresence(ch) {
				return nil, badRequest("user_count is only available for presence channels")
			}
			out["user_count"] = ci.Users
		case "cache":
			if !isCache(ch) {
				return nil, badRequest("cache is only available for cache channels")
			}
			if frame, ok, err := s.store.GetCache(ctx, a.app.ID, ch); err == nil && ok {
				var f struct {
					Data string `json:"data"`
				}
				_ = json.Unmarshal(frame, &f)
				out["cache"] = map[string]any{"data": f.Data}
			}
		case "":
		default:
			return nil, badRequest("Unknown info attribute " + attr)
		}
	}
	return out, nil
}

func (s *Server) apiUsers(ctx context.Context, a *appState, ch string) (any, error) {
	if !isPresence(ch) {
		return nil, badRequest("Users are only available for presence channels")
	}
	ms, err := s.store.Members(ctx, a.app.ID, ch)
	if err != nil {
		return nil, err
	}
	users := make([]map[string]string, 0, len(ms))
	for _, m := range ms {
		users = append(users, map[string]string{"id": m.UserID})
	}
	return map[string]any{"users": users}, nil
}

// publishEvent delivers a server event on each of its channels and keeps
// the last one of cache channels.
func (s *Server) publishEvent(ctx context.Context, a *appState, e Event) error {
	for _, ch := range e.Channels {
		if isCache(ch) {
			_ = s.store.SetCache(ctx, a.app.ID, ch, eventFrame(e.Name, ch, e.Data, ""), s.cfg.CacheTTL)
		}
		if err := s.publish(ctx, a, Message{Channel: ch, Event: e.Name, Data: e.Data, Exclude: e.SocketID}); err != nil {
			return err
		}
	}
	return nil
}
