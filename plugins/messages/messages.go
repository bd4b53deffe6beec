// Package messages is the conversations plugin: direct messages between two users,
// stored first and then broadcast as message.sent on both users' private channels,
// exactly as the Laravel backend's MessageSent event did. Read receipts, attachments
// uploads and notifications arrive in later versions on the same router.
package messages

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/mysharpjob/sharpjob/plugins/sdk"
)

// Routes is the plugin's router.
func Routes() *sdk.Router {
	rt := sdk.NewRouter()
	rt.Handle("POST", "/api/messages", send)
	rt.Handle("GET", "/api/conversations", conversations)
	rt.Handle("GET", "/api/conversations/{user_id}/messages", thread)
	return rt
}

// messageJSON renders a message (alias m) with its sender (alias s).
const messageJSON = `json_object(
	'id', m.id, 'conversation_id', m.conversation_id, 'sender_id', m.sender_id, 'recipient_id', m.recipient_id,
	'content', m.content, 'message_type', m.message_type, 'attachment_url', m.attachment_url,
	'read_at', m.read_at, 'created_at', m.created_at,
	'sender', json_object('id', s.id, 'name', s.name, 'avatar_url', s.avatar_url, 'role', s.role))`

func serverError(err error) sdk.Response { return sdk.ServerError(fmt.Errorf("messages: %w", err)) }

func pair(a, b int64) (int64, int64) {
	if a < b {
		return a, b
	}
	return b, a
}

func send(r *sdk.Request) sdk.Response {
	me := r.User()
	if me.ID == 0 {
		return sdk.Unauthenticated()
	}
	f, resp, ok := sdk.ParseFields(r)
	if !ok {
		return resp
	}
	f.Unknown("recipient_id", "content", "message_type", "attachment_url", "job_id")
	recipient, hasRecipient := f.Int("recipient_id", sdk.Required, 1, 1<<53)
	kind, hasKind := f.OneOf("message_type", sdk.Sometimes, "text", "image", "file")
	if !hasKind {
		kind = "text"
	}
	content, _ := f.String("content", sdk.Required, 1, 5000)
	attachment, hasAttachment := f.String("attachment_url", sdk.Sometimes, 1, 2048)
	if (kind == "image" || kind == "file") && !hasAttachment && f.Errors()["attachment_url"] == nil {
		f.Errors().Add("attachment_url", "The attachment url field is required when message type is "+kind+".")
	}
	jobID, hasJob := f.Int("job_id", sdk.Sometimes, 1, 1<<53)
	if hasRecipient && recipient == me.ID {
		f.Errors().Add("recipient_id", "You cannot send a message to yourself.")
	}
	if hasRecipient && f.Errors()["recipient_id"] == nil {
		res, err := sdk.Query(`SELECT 1 FROM users WHERE id = ?`, recipient)
		if err != nil {
			return serverError(err)
		}
		if res.Len() == 0 {
			f.Errors().Add("recipient_id", "The selected recipient id is invalid.")
		}
	}
	if hasJob {
		res, err := sdk.Query(`SELECT 1 FROM jobs WHERE id = ?`, jobID)
		if err != nil {
			return serverError(err)
		}
		if res.Len() == 0 {
			f.Errors().Add("job_id", "The selected job id is invalid.")
		}
	}
	if !f.Valid() {
		return f.Invalid()
	}
	one, two := pair(me.ID, recipient)
	var job, url any
	if hasJob {
		job = jobID
	}
	if hasAttachment {
		url = attachment
	}
	// One transaction: the conversation exists and is touched, the message is stored.
	results, err := sdk.Batch(
		sdk.Stmt{SQL: `INSERT INTO conversations (user_one_id, user_two_id, job_id, last_message_at)
			VALUES (?, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
			ON CONFLICT (user_one_id, user_two_id) DO UPDATE SET last_message_at = excluded.last_message_at,
				job_id = coalesce(excluded.job_id, conversations.job_id)`, Args: []any{one, two, job}},
		sdk.Stmt{SQL: `INSERT INTO messages (conversation_id, sender_id, recipient_id, content, message_type, attachment_url)
			VALUES ((SELECT id FROM conversations WHERE user_one_id = ? AND user_two_id = ?), ?, ?, ?, ?, ?) RETURNING id`,
			Args: []any{one, two, me.ID, recipient, content, kind, url}},
	)
	if err != nil {
		return serverError(err)
	}
	id := results[1].Int(0, 0)
	// Committed: now render and broadcast it.
	res, err := sdk.Query(`SELECT `+messageJSON+` FROM messages m JOIN users s ON s.id = m.sender_id WHERE m.id = ?`, id)
	if err != nil || res.Len() == 0 {
		return serverError(errors.Join(err, errors.New("stored message not found")))
	}
	msg := res.Bytes(0, 0)
	channels := []string{"private-user." + strconv.FormatInt(me.ID, 10), "private-user." + strconv.FormatInt(recipient, 10)}
	if err := sdk.Broadcast(channels, "message.sent", map[string]json.RawMessage{"message": msg}); err != nil {
		// The message is stored and the sender gets it in the response; the realtime
		// path degrades alone.
		sdk.Log(sdk.LevelWarn, "messages: broadcast message.sent: "+err.Error())
	}
	body := make([]byte, 0, len(msg)+9)
	body = append(append(append(body, `{"data":`...), msg...), '}')
	return sdk.RawJSON(201, body)
}

func conversations(r *sdk.Request) sdk.Response {
	me := r.User()
	if me.ID == 0 {
		return sdk.Unauthenticated()
	}
	errs := sdk.Errors{}
	page, per := sdk.PageParams(r, errs, 20, 100)
	if len(errs) > 0 {
		return sdk.Invalid(errs)
	}
	res, err := sdk.Query(`SELECT json_object(
			'id', c.id, 'job_id', c.job_id, 'last_message_at', c.last_message_at, 'created_at', c.created_at,
			'other_user', json_object('id', o.id, 'name', o.name, 'avatar_url', o.avatar_url, 'role', o.role),
			'last_message', (SELECT json_object('id', m.id, 'sender_id', m.sender_id, 'content', m.content,
				'message_type', m.message_type, 'created_at', m.created_at)
				FROM messages m WHERE m.conversation_id = c.id ORDER BY m.id DESC LIMIT 1),
			'unread_count', (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id AND m.recipient_id = ? AND m.read_at IS NULL)),
			count(*) OVER ()
		FROM conversations c
		JOIN users o ON o.id = CASE WHEN c.user_one_id = ? THEN c.user_two_id ELSE c.user_one_id END
		WHERE c.user_one_id = ? OR c.user_two_id = ?
		ORDER BY c.last_message_at DESC, c.id DESC LIMIT ? OFFSET ?`, me.ID, me.ID, me.ID, me.ID, per, (page-1)*per)
	if err != nil {
		return serverError(err)
	}
	return sdk.RowsPage(r, res, page, per, func() (int, error) {
		c, err := sdk.Query(`SELECT count(*) FROM conversations WHERE user_one_id = ? OR user_two_id = ?`, me.ID, me.ID)
		if err != nil {
			return 0, err
		}
		return int(c.Int(0, 0)), nil
	})
}

func thread(r *sdk.Request) sdk.Response {
	me := r.User()
	if me.ID == 0 {
		return sdk.Unauthenticated()
	}
	other, ok := r.ParamID("user_id")
	if !ok {
		return sdk.NotFound()
	}
	errs := sdk.Errors{}
	page, per := sdk.PageParams(r, errs, 50, 100)
	if len(errs) > 0 {
		return sdk.Invalid(errs)
	}
	exists, err := sdk.Query(`SELECT 1 FROM users WHERE id = ?`, other)
	if err != nil {
		return serverError(err)
	}
	if exists.Len() == 0 {
		return sdk.NotFound()
	}
	one, two := pair(me.ID, other)
	res, err := sdk.Query(`SELECT `+messageJSON+`, count(*) OVER ()
		FROM conversations c JOIN messages m ON m.conversation_id = c.id JOIN users s ON s.id = m.sender_id
		WHERE c.user_one_id = ? AND c.user_two_id = ?
		ORDER BY m.id DESC LIMIT ? OFFSET ?`, one, two, per, (page-1)*per)
	if err != nil {
		return serverError(err)
	}
	return sdk.RowsPage(r, res, page, per, func() (int, error) {
		c, err := sdk.Query(`SELECT count(*) FROM conversations c JOIN messages m ON m.conversation_id = c.id
			WHERE c.user_one_id = ? AND c.user_two_id = ?`, one, two)
		if err != nil {
			return 0, err
		}
		return int(c.Int(0, 0)), nil
	})
}
