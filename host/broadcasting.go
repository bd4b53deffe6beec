package host

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/mysharpjob/sharpjob/api"
	"github.com/mysharpjob/sharpjob/realtime"
	"github.com/mysharpjob/sharpjob/store"
)

// BroadcastAuth answers POST /broadcasting/auth and /broadcasting/user-auth exactly as
// Laravel does for laravel-echo and pusher-js, with the seed's channel rules:
//
//	private-user.{id}               that user only (also private-encrypted-user.{id})
//	private-job.{id}, presence-job.{id}   the job's client and its hired artisan
//	private-admin                   admins
type BroadcastAuth struct {
	db        *store.DB
	key       string
	secret    string
	masterKey []byte // PUSHER_ENCRYPTION_MASTER_KEY_BASE64, for private-encrypted- channels
}

// NewBroadcastAuth signs with the given app's credentials.
func NewBroadcastAuth(db *store.DB, app realtime.App, encryptionMasterKey []byte) *BroadcastAuth {
	return &BroadcastAuth{db: db, key: app.Key, secret: app.Secret, masterKey: encryptionMasterKey}
}

// Mount returns the host mount serving the two endpoints.
func (b *BroadcastAuth) Mount() Mount {
	return Mount{Name: "broadcasting", Routes: nil, Handle: b.handle}
}

var socketIDRE = regexp.MustCompile(`^\d{1,20}\.\d{1,20}$`)

func (b *BroadcastAuth) handle(ctx *fasthttp.RequestCtx, p api.Principal) bool {
	path := string(ctx.Path())
	if path != "/broadcasting/auth" && path != "/broadcasting/user-auth" {
		return false
	}
	if !ctx.IsPost() {
		api.Error(ctx, fasthttp.StatusMethodNotAllowed, "The "+string(ctx.Method())+" method is not supported for route "+path+".")
		return true
	}
	if !p.Authenticated() {
		api.Error(ctx, fasthttp.StatusForbidden, "Unauthenticated.") // Laravel answers 403 here, and pusher-js only tells 200 from the rest
		return true
	}
	args := ctx.PostArgs()
	if strings.HasPrefix(string(ctx.Request.Header.ContentType()), "application/json") {
		var in map[string]string
		_ = json.Unmarshal(ctx.PostBody(), &in)
		args = &fasthttp.Args{}
		for k, v := range in {
			args.Set(k, v)
		}
	}
	socketID := string(args.Peek("socket_id"))
	errs := api.Errors{}
	if !socketIDRE.MatchString(socketID) {
		errs.Add("socket_id", "The socket id field must be a Pusher socket id (digits.digits).")
	}
	userInfo := map[string]any{"id": p.UserID, "name": p.Name, "role": p.Role}
	if path == "/broadcasting/user-auth" {
		if len(errs) > 0 {
			api.Invalid(ctx, errs)
			return true
		}
		data, _ := json.Marshal(map[string]any{"id": strconv.FormatInt(p.UserID, 10), "user_info": userInfo})
		api.JSON(ctx, 200, map[string]string{"auth": realtime.SignUser(b.key, b.secret, socketID, string(data)), "user_data": string(data)})
		return true
	}
	channel := string(args.Peek("channel_name"))
	if channel == "" {
		errs.Add("channel_name", "The channel name field is required.")
	}
	if len(errs) > 0 {
		api.Invalid(ctx, errs)
		return true
	}
	allowed, err := b.allowed(context.Background(), p, channel)
	if err != nil {
		api.Error(ctx, fasthttp.StatusServiceUnavailable, "Channel authorization is unavailable, try again.")
		return true
	}
	if !allowed {
		api.Forbidden(ctx)
		return true
	}
	resp := map[string]string{}
	channelData := ""
	if strings.HasPrefix(channel, "presence-") {
		d, _ := json.Marshal(map[string]any{"user_id": strconv.FormatInt(p.UserID, 10), "user_info": userInfo})
		channelData = string(d)
		resp["channel_data"] = channelData
	}
	if strings.HasPrefix(channel, "private-encrypted-") {
		if len(b.masterKey) != 32 {
			api.Error(ctx, fasthttp.StatusForbidden, "Encrypted channels are not configured.")
			return true
		}
		resp["shared_secret"] = realtime.SharedSecret(channel, b.masterKey)
	}
	resp["auth"] = realtime.SignChannel(b.key, b.secret, socketID, channel, channelData)
	api.JSON(ctx, 200, resp)
	return true
}

// allowed applies the channel rules.
func (b *BroadcastAuth) allowed(ctx context.Context, p api.Principal, channel string) (bool, error) {
	name := channel
	for _, prefix := range []string{"private-encrypted-", "private-", "presence-"} {
		if rest, ok := strings.CutPrefix(channel, prefix); ok {
			name = rest
			break
		}
	}
	if name == channel {
		return false, nil // public channels need no auth
	}
	kind, idText, _ := strings.Cut(name, ".")
	switch {
	case name == "admin":
		return p.Role == "admin" && !strings.HasPrefix(channel, "presence-"), nil
	case kind == "user":
		id, err := strconv.ParseInt(idText, 10, 64)
		return err == nil && id == p.UserID && !strings.HasPrefix(channel, "presence-"), nil
	case kind == "job":
		id, err := strconv.ParseInt(idText, 10, 64)
		if err != nil || strings.HasPrefix(channel, "private-encrypted-") {
			return false, nil
		}
		var client int64
		var artisan sql.NullInt64
		err = b.db.R.QueryRowContext(ctx, `SELECT client_id, artisan_id FROM jobs WHERE id = ?`, id).Scan(&client, &artisan)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return p.UserID == client || artisan.Valid && p.UserID == artisan.Int64, nil
	}
	return false, nil
}
