package realtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Pusher protocol error codes (Pusher Channels Protocol, "Error codes"):
// 4000–4099 the client must not reconnect, 4100–4199 reconnect after a
// back-off, 4200–4299 reconnect at once, 4300–4399 other errors.
const (
	CodeSSLOnly             = 4000
	CodeAppNotFound         = 4001
	CodeAppDisabled         = 4003
	CodeAppOverQuota        = 4004
	CodePathNotFound        = 4005
	CodeInvalidVersion      = 4006
	CodeUnsupportedProto    = 4007
	CodeNoProtocol          = 4008
	CodeUnauthorized        = 4009
	CodeOverCapacity        = 4100
	CodeReconnect           = 4200
	CodePongNotReceived     = 4201
	CodeClosedInactivity    = 4202
	CodeClientEventRejected = 4301
)

const (
	maxChannelNameLen = 164
	maxEventNameLen   = 200
	maxUserIDLen      = 128
	maxUserInfoLen    = 1024
	serverToUser      = "#server-to-user-"
)

// clientFrame is one message received from a socket.
type clientFrame struct {
	Event   string          `json:"event"`
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
}

// subscribeData is the data of pusher:subscribe.
type subscribeData struct {
	Channel     string `json:"channel"`
	Auth        string `json:"auth"`
	ChannelData string `json:"channel_data"`
}

// signinData is the data of pusher:signin.
type signinData struct {
	Auth     string `json:"auth"`
	UserData string `json:"user_data"`
}

var errBadFrame = errors.New("invalid frame")

// parseClientFrame decodes a text frame. It rejects anything but a JSON
// object with a non-empty string "event".
func parseClientFrame(b []byte) (clientFrame, error) {
	var f clientFrame
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return f, errBadFrame
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return f, errBadFrame
	}
	if f.Event == "" || len(f.Event) > maxEventNameLen {
		return f, errBadFrame
	}
	return f, nil
}

// decodeData decodes frame data that may be an object or a JSON string
// holding an object (some clients send the latter).
func decodeData(raw json.RawMessage, v any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		raw = json.RawMessage(s)
	}
	if len(raw) == 0 || raw[0] != '{' {
		return errBadFrame
	}
	return json.Unmarshal(raw, v)
}

// validChannelName reports whether name follows Pusher's rules: 1–164
// characters from [A-Za-z0-9_\-=@,.;]. #server-to-user- channels are
// allowed separately.
func validChannelName(name string) bool {
	if len(name) == 0 || len(name) > maxChannelNameLen {
		return false
	}
	if strings.HasPrefix(name, serverToUser) && len(name) > len(serverToUser) {
		name = name[len(serverToUser):]
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '_' || c == '-' || c == '=' || c == '@' || c == ',' || c == '.' || c == ';':
		default:
			return false
		}
	}
	return true
}

func validEventName(name string) bool {
	return name != "" && len(name) <= maxEventNameLen
}

// reservedEventName reports names only the server may send.
func reservedEventName(name string) bool {
	return strings.HasPrefix(name, "pusher:") || strings.HasPrefix(name, "pusher_internal:")
}

// channel kinds
func isPresence(ch string) bool {
	return strings.HasPrefix(ch, "presence-") || strings.HasPrefix(ch, "presence-cache-")
}
func isPrivate(ch string) bool { return strings.HasPrefix(ch, "private-") }
func isEncrypted(ch string) bool {
	return strings.HasPrefix(ch, "private-encrypted-")
}
func isCache(ch string) bool {
	return strings.HasPrefix(ch, "cache-") || strings.HasPrefix(ch, "private-cache-") ||
		strings.HasPrefix(ch, "private-encrypted-cache-") || strings.HasPrefix(ch, "presence-cache-")
}
func needsAuth(ch string) bool { return isPrivate(ch) || isPresence(ch) }

// ---- outgoing frames, encoded by hand (one allocation each) ----

// appendJSONString appends s as a JSON string literal.
func appendJSONString(b []byte, s string) []byte {
	if !utf8.ValidString(s) {
		q, _ := json.Marshal(s) // replaces invalid bytes with U+FFFD
		return append(b, q...)
	}
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c != 0xe2 {
			continue
		}
		if c == 0xe2 { // U+2028 / U+2029 break JavaScript string literals
			if i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xa8 || s[i+2] == 0xa9) {
				b = append(b, s[start:i]...)
				b = append(b, `\u202`...)
				b = append(b, hex[s[i+2]&0xf])
				i += 2
				start = i + 1
			}
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// eventFrame encodes {"event":..,"channel":..,"data":"..."} with data as a
// JSON string, plus "user_id" when not empty.
func eventFrame(event, channel, data, userID string) []byte {
	b := make([]byte, 0, len(data)+len(event)+len(channel)+48)
	b = append(b, `{"event":`...)
	b = appendJSONString(b, event)
	if channel != "" {
		b = append(b, `,"channel":`...)
		b = appendJSONString(b, channel)
	}
	b = append(b, `,"data":`...)
	b = appendJSONString(b, data)
	if userID != "" {
		b = append(b, `,"user_id":`...)
		b = appendJSONString(b, userID)
	}
	return append(b, '}')
}

// rawEventFrame is eventFrame with data already JSON (client events are relayed as sent).
func rawEventFrame(event, channel string, data json.RawMessage, userID string) []byte {
	b := make([]byte, 0, len(data)+len(event)+len(channel)+48)
	b = append(b, `{"event":`...)
	b = appendJSONString(b, event)
	b = append(b, `,"channel":`...)
	b = appendJSONString(b, channel)
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	b = append(b, `,"data":`...)
	b = append(b, data...)
	if userID != "" {
		b = append(b, `,"user_id":`...)
		b = appendJSONString(b, userID)
	}
	return append(b, '}')
}

func errorFrame(code int, msg string) []byte {
	b := []byte(`{"event":"pusher:error","data":{"code":`)
	if code == 0 {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, int64(code), 10)
	}
	b = append(b, `,"message":`...)
	b = appendJSONString(b, msg)
	return append(b, "}}"...)
}

func subscriptionErrorFrame(channel, typ, msg string, status int) []byte {
	b := []byte(`{"event":"pusher:subscription_error","channel":`)
	b = appendJSONString(b, channel)
	b = append(b, `,"data":{"type":`...)
	b = appendJSONString(b, typ)
	b = append(b, `,"error":`...)
	b = appendJSONString(b, msg)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	return append(b, "}}"...)
}

var pongFrame = []byte(`{"event":"pusher:pong","data":{}}`)
var pingFrame = []byte(`{"event":"pusher:ping","data":{}}`)

// dataString returns raw as the string Pusher puts in "data": a JSON string
// is unquoted, anything else is kept as its JSON text.
func dataString(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	return string(raw)
}
