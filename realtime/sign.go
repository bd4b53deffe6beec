package realtime

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strconv"
	"strings"
	"time"
)

// SignChannel returns the "key:signature" auth string for a private,
// private-encrypted or presence channel subscription (channelData is empty
// except for presence channels), as POST /broadcasting/auth answers it.
func SignChannel(key, secret, socketID, channel, channelData string) string {
	s := socketID + ":" + channel
	if channelData != "" {
		s += ":" + channelData
	}
	return key + ":" + hmacHex(secret, s)
}

// SignUser returns the "key:signature" auth string for pusher:signin, as
// POST /broadcasting/user-auth answers it.
func SignUser(key, secret, socketID, userData string) string {
	return key + ":" + hmacHex(secret, socketID+"::user::"+userData)
}

func hmacHex(secret, s string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(s))
	return hex.EncodeToString(m.Sum(nil))
}

// checkAuth compares a client-supplied "key:signature" with the expected one
// in constant time.
func checkAuth(app *App, auth, toSign string) bool {
	key, sig, ok := strings.Cut(auth, ":")
	if !ok || key != app.Key {
		return false
	}
	want := hmacHex(app.Secret, toSign)
	return hmac.Equal([]byte(sig), []byte(want))
}

// apiAuthError is an HTTP API authentication failure (401).
type apiAuthError struct{ msg string }

func (e apiAuthError) Error() string { return e.msg }

// verifyAPIRequest checks a signed HTTP API request as the Pusher HTTP API
// reference describes: auth_key names the app, auth_timestamp is within
// 600 s of now, auth_version is 1.0, body_md5 matches a non-empty body, and
// auth_signature is the hex HMAC-SHA256 of "METHOD\nPATH\nQUERY", QUERY being
// every parameter but auth_signature, keys lower-cased and sorted, joined as
// key=value with &, values not escaped.
func verifyAPIRequest(app *App, method, path string, query [][2]string, body []byte, now time.Time) error {
	var sig string
	params := make([][2]string, 0, len(query))
	got := map[string]string{}
	for _, kv := range query {
		k := strings.ToLower(kv[0])
		if k == "auth_signature" {
			sig = kv[1]
			continue
		}
		params = append(params, [2]string{k, kv[1]})
		got[k] = kv[1]
	}
	if got["auth_key"] == "" || sig == "" || got["auth_timestamp"] == "" {
		return apiAuthError{"missing auth_key, auth_timestamp or auth_signature"}
	}
	if got["auth_key"] != app.Key {
		return apiAuthError{"unknown auth_key"}
	}
	if v, ok := got["auth_version"]; ok && v != "1.0" {
		return apiAuthError{"unsupported auth_version"}
	}
	ts, err := strconv.ParseInt(got["auth_timestamp"], 10, 64)
	if err != nil {
		return apiAuthError{"invalid auth_timestamp"}
	}
	if d := now.Unix() - ts; d > 600 || d < -600 {
		return apiAuthError{"timestamp expired: given " + got["auth_timestamp"] + ", now " + strconv.FormatInt(now.Unix(), 10)}
	}
	if len(body) > 0 {
		sum := md5.Sum(body)
		if !hmac.Equal([]byte(got["body_md5"]), []byte(hex.EncodeToString(sum[:]))) {
			return apiAuthError{"body_md5 does not match the body"}
		}
	} else if v, ok := got["body_md5"]; ok && v != "d41d8cd98f00b204e9800998ecf8427e" {
		return apiAuthError{"body_md5 does not match the empty body"}
	}
	sort.SliceStable(params, func(i, j int) bool { return params[i][0] < params[j][0] })
	var b strings.Builder
	b.WriteString(method)
	b.WriteByte('\n')
	b.WriteString(path)
	b.WriteByte('\n')
	for i, kv := range params {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(kv[0])
		b.WriteByte('=')
		b.WriteString(kv[1])
	}
	want := hmacHex(app.Secret, b.String())
	if !hmac.Equal([]byte(strings.ToLower(sig)), []byte(want)) {
		return apiAuthError{"invalid signature: expected HMAC SHA256 hex digest of " + strconv.Quote(b.String())}
	}
	return nil
}
