// Package testenv starts the real servers tests run against: sqld (libSQL server),
// Meilisearch and Redis. The binaries come from ./tools, filled by scripts/tools.sh
// (make tools). When a server is missing a test is skipped, unless
// SHARPJOB_REQUIRE_SERVERS=1 (set by make test and CI), when it fails instead:
// CI never passes by skipping.
package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// Root is the repository root.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Tool returns the path of a binary in tools/bin, or handles its absence.
func Tool(tb testing.TB, name string) string {
	tb.Helper()
	p := filepath.Join(Root(), "tools", "bin", name)
	if _, err := os.Stat(p); err != nil {
		Missing(tb, "%s not installed (run make tools)", name)
	}
	return p
}

// NodeModules returns tools/node_modules, where the JS test clients live.
func NodeModules(tb testing.TB) string {
	tb.Helper()
	p := filepath.Join(Root(), "tools", "node_modules")
	if _, err := os.Stat(filepath.Join(p, ".installed")); err != nil {
		Missing(tb, "node test clients not installed (run make tools)")
	}
	return p
}

// Missing skips the test, or fails it when servers are required.
func Missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if os.Getenv("SHARPJOB_REQUIRE_SERVERS") == "1" {
		tb.Fatalf(format, args...)
	}
	tb.Skipf(format, args...)
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Process is a server started for a test.
type Process struct {
	Cmd  *exec.Cmd
	URL  string
	Port int
	Dir  string
}

// Stop kills the server and waits for it.
func (p *Process) Stop() {
	if p.Cmd.Process != nil {
		_ = p.Cmd.Process.Kill()
		_ = p.Cmd.Wait()
	}
}

// Restart starts the same server again on the same port and data directory.
func (p *Process) Restart(tb testing.TB, ready string) {
	tb.Helper()
	cmd := exec.Command(p.Cmd.Path, p.Cmd.Args[1:]...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = p.Cmd.Dir, p.Cmd.Env, p.Cmd.Stdout, p.Cmd.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	p.Cmd = cmd
	WaitHTTP(tb, p.URL+ready, 30*time.Second)
}

// StartSQLD runs a fresh libSQL server on 127.0.0.1 and returns its http:// URL.
func StartSQLD(tb testing.TB) *Process {
	tb.Helper()
	bin := Tool(tb, "sqld")
	dir := tb.TempDir()
	port := FreePort(tb)
	cmd := exec.Command(bin, "--db-path", filepath.Join(dir, "data.sqld"),
		"--http-listen-addr", "127.0.0.1:"+strconv.Itoa(port), "--no-welcome")
	cmd.Dir = dir
	log, _ := os.Create(filepath.Join(dir, "sqld.log"))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start sqld: %v", err)
	}
	p := &Process{Cmd: cmd, URL: fmt.Sprintf("http://127.0.0.1:%d", port), Port: port, Dir: dir}
	tb.Cleanup(p.Stop)
	WaitHTTP(tb, p.URL+"/health", 30*time.Second)
	return p
}

// MeiliKey is the master key of every Meilisearch a test starts.
const MeiliKey = "sharpjob-test-master-key-0123456789"

// StartMeili runs a fresh Meilisearch on 127.0.0.1 with MeiliKey.
func StartMeili(tb testing.TB) *Process {
	tb.Helper()
	bin := Tool(tb, "meilisearch")
	dir := tb.TempDir()
	port := FreePort(tb)
	cmd := exec.Command(bin, "--db-path", filepath.Join(dir, "ms"), "--http-addr", "127.0.0.1:"+strconv.Itoa(port),
		"--master-key", MeiliKey, "--no-analytics", "--env", "development",
		"--dump-dir", filepath.Join(dir, "dumps"), "--snapshot-dir", filepath.Join(dir, "snapshots"),
		"--max-indexing-threads", "1")
	cmd.Dir = dir
	log, _ := os.Create(filepath.Join(dir, "meili.log"))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start meilisearch: %v", err)
	}
	p := &Process{Cmd: cmd, URL: fmt.Sprintf("http://127.0.0.1:%d", port), Port: port, Dir: dir}
	tb.Cleanup(p.Stop)
	WaitHTTP(tb, p.URL+"/health", 30*time.Second)
	return p
}

// RedisURL returns REDIS_URL or the machine's Redis on 127.0.0.1:6379, after
// checking that it answers.
func RedisURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("REDIS_URL")
	addr := "127.0.0.1:6379"
	if u == "" {
		u = "redis://" + addr + "/0"
	}
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		Missing(tb, "redis not reachable at %s: %v", addr, err)
		return u
	}
	c.Close()
	return u
}

// WaitHTTP polls url until it answers 2xx or the time is up.
func WaitHTTP(tb testing.TB, url string, within time.Duration) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 300 {
				return
			}
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("%s did not come up within %s (last error: %v)", url, within, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// BuildPlugin compiles the guest package pkg (an import path or ./path from the repo
// root) to dir/NAME.wasm and copies its manifest to dir/NAME.json. Go's build cache
// keeps repeated builds cheap.
func BuildPlugin(tb testing.TB, pkg, manifest, dir string) string {
	tb.Helper()
	body, err := os.ReadFile(filepath.Join(Root(), manifest))
	if err != nil {
		tb.Fatal(err)
	}
	var m struct{ Name string }
	if err := json.Unmarshal(body, &m); err != nil || m.Name == "" {
		tb.Fatalf("manifest %s: %v", manifest, err)
	}
	out := filepath.Join(dir, m.Name+".wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, pkg)
	cmd.Dir = Root()
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("build %s: %v\n%s", pkg, err, b)
	}
	if err := os.WriteFile(filepath.Join(dir, m.Name+".json"), body, 0o644); err != nil {
		tb.Fatal(err)
	}
	return out
}
