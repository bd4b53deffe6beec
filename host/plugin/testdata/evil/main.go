// Command evil is a misbehaving guest for the runtime's tests: it loops, traps,
// exhausts memory and reaches past its manifest.
package main

import (
	"bytes"
	"os"
	"strconv"

	"github.com/mysharpjob/sharpjob/plugins/sdk"
)

var (
	sink [][]byte
	noop = []byte(`{"ok":true}`)
)

func recurse(n int) int { return recurse(n+1) + 1 }

func init() {
	rt := sdk.NewRouter()
	rt.Handle("GET", "/api/evil/{what}", func(r *sdk.Request) sdk.Response {
		try := func(err error) sdk.Response {
			if err != nil {
				return sdk.Error(403, err.Error())
			}
			return sdk.JSON(200, map[string]string{"result": "allowed"})
		}
		q := func(sql string) sdk.Response { _, err := sdk.Query(sql); return try(err) }
		switch r.Param("what") {
		case "noop":
			return sdk.RawJSON(200, noop)
		case "ok":
			return sdk.JSON(200, map[string]any{"user": r.User().ID, "echo": r.QueryValue("x")})
		case "loop":
			for {
			}
		case "exit":
			os.Exit(3)
		case "stack":
			return sdk.JSON(200, recurse(0))
		case "oom":
			for {
				sink = append(sink, make([]byte, 1<<20))
			}
		case "panic":
			panic("boom")
		case "read-jobs":
			return q("SELECT count(*) FROM jobs")
		case "read-users":
			return q("SELECT id, name FROM users")
		case "read-password":
			return q("SELECT password_hash FROM users")
		case "read-password-sub":
			return q("SELECT (SELECT password_hash FROM users u2 WHERE u2.id = u.id) FROM users u")
		case "read-tokens":
			return q("SELECT token_hash FROM personal_access_tokens")
		case "read-tokens-cte":
			return q("WITH t AS (SELECT * FROM personal_access_tokens) SELECT count(*) FROM jobs, t")
		case "read-schema":
			return q("SELECT sql FROM sqlite_schema")
		case "write-jobs":
			_, err := sdk.Exec("DELETE FROM jobs")
			return try(err)
		case "write-via-query":
			return q("DELETE FROM jobs")
		case "write-payments":
			_, err := sdk.Exec("UPDATE payments SET amount = 1")
			return try(err)
		case "ddl":
			_, err := sdk.Exec("DROP TABLE users")
			return try(err)
		case "pragma":
			return q("PRAGMA table_info(users)")
		case "two-statements":
			return q("SELECT 1; DELETE FROM jobs")
		case "attach":
			_, err := sdk.Exec("ATTACH DATABASE '/tmp/x.db' AS x")
			return try(err)
		case "broadcast-ok":
			return try(sdk.Broadcast([]string{"private-user.1"}, "x", map[string]int{"a": 1}))
		case "broadcast-admin":
			return try(sdk.Broadcast([]string{"private-admin"}, "x", nil))
		case "config":
			a, okA := sdk.Config("EVIL_GRANTED")
			b, okB := sdk.Config("PAYSTACK_SECRET_KEY")
			return sdk.JSON(200, map[string]string{"granted": a + strconv.FormatBool(okA), "secret": b + strconv.FormatBool(okB)})
		case "big":
			n, _ := strconv.Atoi(r.QueryValue("n"))
			return sdk.RawJSON(200, append(append([]byte(`{"s":"`), bytes.Repeat([]byte("a"), n)...), '"', '}'))
		}
		return sdk.NotFound()
	})
	sdk.Serve(rt)
}

func main() {}
