package realtime

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mysharpjob/sharpjob/internal/testenv"
)

// authEndpoint mimics the host's POST /broadcasting/auth and
// /broadcasting/user-auth with the seed's rules: Bearer user-N is user N;
// private-user.{id} only for that user; presence for anyone, with the user
// as channel_data; private-encrypted-* with the shared secret.
func authEndpoint(tb testing.TB, masterKey []byte) string {
	mux := http.NewServeMux()
	user := func(r *http.Request) string {
		return strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer user-")
	}
	mux.HandleFunc("POST /broadcasting/auth", func(w http.ResponseWriter, r *http.Request) {
		id := user(r)
		sock, ch := r.FormValue("socket_id"), r.FormValue("channel_name")
		if id == "" || sock == "" || ch == "" {
			http.Error(w, "bad", 400)
			return
		}
		res := map[string]string{}
		switch {
		case strings.HasPrefix(ch, "private-user."):
			if ch != "private-user."+id {
				http.Error(w, `{"message":"This action is unauthorized."}`, 403)
				return
			}
			res["auth"] = SignChannel(testKey, testSecret, sock, ch, "")
		case strings.HasPrefix(ch, "presence-"):
			cd, _ := json.Marshal(map[string]any{"user_id": id, "user_info": map[string]string{"name": "User " + id}})
			res["auth"] = SignChannel(testKey, testSecret, sock, ch, string(cd))
			res["channel_data"] = string(cd)
		case strings.HasPrefix(ch, "private-encrypted-"):
			res["auth"] = SignChannel(testKey, testSecret, sock, ch, "")
			sum := sha256.Sum256(append([]byte(ch), masterKey...))
			res["shared_secret"] = base64.StdEncoding.EncodeToString(sum[:])
		default:
			res["auth"] = SignChannel(testKey, testSecret, sock, ch, "")
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(res)
	})
	mux.HandleFunc("POST /broadcasting/user-auth", func(w http.ResponseWriter, r *http.Request) {
		id := user(r)
		u := map[string]any{"id": id, "user_info": map[string]string{"name": "User " + id}}
		if id == "1" {
			u["watchlist"] = []string{"3"}
		}
		ud, _ := json.Marshal(u)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"auth": SignUser(testKey, testSecret, r.FormValue("socket_id"), string(ud)), "user_data": string(ud)})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// runNode runs a script from testdata with the JS clients on NODE_PATH.
func runNode(t *testing.T, script string, env ...string) string {
	t.Helper()
	mods := testenv.NodeModules(t)
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Missing(t, "node not installed")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", script))
	cmd.Env = append(os.Environ(), append(env, "NODE_PATH="+mods)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, out)
	}
	return string(out)
}

func TestConformanceJSClients(t *testing.T) {
	t.Run("one node", func(t *testing.T) {
		s := mustServer(t, testConfig(), Options{})
		conformance(t, s, s)
	})
	t.Run("two nodes over Redis", func(t *testing.T) {
		b, st := redisBackend(t)
		n1 := mustServer(t, testConfig(), Options{Broker: b, Store: st})
		n2 := mustServer(t, testConfig(), Options{Broker: b, Store: st})
		conformance(t, n1, n2)
	})
}

// conformance runs testdata/conformance.cjs: the server SDK and client a on
// node a, clients b, d and Echo on node b.
func conformance(t *testing.T, a, b *testServer) {
	master := []byte("0123456789abcdef0123456789abcdef")
	auth := authEndpoint(t, master)
	_, port, _ := net.SplitHostPort(a.addr)
	_, portB, _ := net.SplitHostPort(b.addr)
	out := runNode(t, "conformance.cjs",
		"WS_PORT="+port, "WS_PORT_B="+portB, "AUTH_URL="+auth, "APP_ID="+testID, "APP_KEY="+testKey, "APP_SECRET="+testSecret,
		"ENC_KEY="+base64.StdEncoding.EncodeToString(master))
	if !strings.Contains(out, "ALL OK") {
		t.Fatalf("conformance run did not finish:\n%s", out)
	}
	if n := strings.Count(out, "CHECK "); n < 25 {
		t.Errorf("only %d checks passed:\n%s", n, out)
	}
	t.Log(fmt.Sprint(strings.Count(out, "CHECK "), " checks passed with pusher-js, laravel-echo and the Node pusher SDK"))
}
