// Package plugin runs the edge host's Wasm handlers on wazero.
//
// Lifecycle of a plugin version (the Caddy way: build, validate, swap, drain):
//
//	Load       read NAME.wasm and NAME.json; validate the manifest; compile once
//	           (wazero's compilation cache on disk makes a restart cheap); check the
//	           guest exports the ABI; instantiate the warm pool.
//	Serve      Registry.Swap publishes a new route Table holding the version; each
//	           request takes a warm instance from the pool, runs one guest call with
//	           a deadline, and gives the instance back. A trap, a timeout or memory
//	           exhaustion fails that request with a 500 and discards the instance; a
//	           replacement is instantiated off the request path.
//	Recycle    an instance is replaced after Limits.MaxRequests calls or when its
//	           linear memory passes three quarters of Limits.MemoryPages.
//	Drain      a swapped-out version finishes the requests it holds, then closes its
//	           runtime. It is kept on disk for rollback.
//
// The ABI (exports, imports, encodings) is documented in abi.go on this side and
// plugins/sdk/abi_wasm.go on the guest side.
package plugin

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/mysharpjob/sharpjob/plugins/sdk"
	"github.com/mysharpjob/sharpjob/plugins/sdk/wire"
	"github.com/mysharpjob/sharpjob/store"
)

// Broadcaster receives the events plugins emit (the host's event bus).
type Broadcaster interface {
	Broadcast(ctx context.Context, channels []string, event string, data []byte) error
}

// Env is what the runtime gives every plugin version: the database, the event bus,
// configuration, the compilation cache and a logger.
type Env struct {
	DB       *store.DB
	Guard    *Guard
	Bus      Broadcaster
	Config   func(key string) (string, bool) // defaults to os.LookupEnv
	CacheDir string                          // wazero compilation cache; "" for none
	Logger   *slog.Logger

	cacheOnce sync.Once
	cache     wazero.CompilationCache
}

func (e *Env) compilationCache() wazero.CompilationCache {
	e.cacheOnce.Do(func() {
		if e.CacheDir == "" {
			return
		}
		if c, err := wazero.NewCompilationCacheWithDir(e.CacheDir); err == nil {
			e.cache = c
		} else {
			e.Logger.Warn("plugin compilation cache disabled", "dir", e.CacheDir, "err", err)
		}
	})
	return e.cache
}

// Version is one loaded, compiled plugin version with its pool of warm instances.
type Version struct {
	Manifest Manifest
	Path     string // the .wasm it came from
	LoadedAt time.Time

	env      *Env
	host     *capHost
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	modCfg   wazero.ModuleConfig
	log      *slog.Logger

	native *sdk.Router // set for a NativeVersion: no Wasm at all

	pool     chan *instance
	live     atomic.Int32 // instances alive (pooled + in use)
	inflight sync.WaitGroup
	mu       sync.Mutex // guards closing and the inflight Add/Wait pairing
	closing  bool

	// Stats for /healthz and /metrics.
	Requests  atomic.Int64
	Failures  atomic.Int64
	Discarded atomic.Int64
}

type instance struct {
	mod      api.Module
	mem      api.Memory
	bufFn    api.Function
	handleFn api.Function
	stack    [1]uint64
	bufPtr   uint32 // the guest's request buffer, as sj_buffer last answered
	bufCap   uint32
	uses     int
	call     callState
	reqBuf   []byte
}

// ErrDraining means the version was swapped out between lookup and call: look again.
var ErrDraining = errors.New("plugin version is draining")

// Load reads, validates and compiles the plugin at wasmPath with the manifest beside
// it (same name, .json), then warms its pool.
func Load(ctx context.Context, env *Env, wasmPath string) (*Version, error) {
	manifestPath := wasmPath[:len(wasmPath)-len(filepath.Ext(wasmPath))] + ".json"
	m, err := ReadManifest(manifestPath)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w", filepath.Base(wasmPath), err)
	}
	code, err := os.ReadFile(wasmPath)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w", m.ID(), err)
	}
	return Compile(ctx, env, m, code, wasmPath)
}

// Compile builds a version from a manifest and module bytes.
func Compile(ctx context.Context, env *Env, m Manifest, code []byte, path string) (*Version, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	log := env.Logger.With("plugin", m.ID())
	cfg := wazero.NewRuntimeConfigCompiler().
		WithMemoryLimitPages(m.Limits.MemoryPages).
		WithCloseOnContextDone(true) // the only way to stop a looping guest
	if c := env.compilationCache(); c != nil {
		cfg = cfg.WithCompilationCache(c)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	v := &Version{Manifest: m, Path: path, LoadedAt: time.Now(), env: env, rt: rt, log: log,
		pool: make(chan *instance, m.Limits.Instances)}
	v.host = newCapHost(v)
	fail := func(err error) (*Version, error) {
		rt.Close(ctx)
		return nil, fmt.Errorf("plugin %s: %w", m.ID(), err)
	}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		return fail(err)
	}
	if err := instantiateHostModules(ctx, rt); err != nil {
		return fail(err)
	}
	compiled, err := rt.CompileModule(ctx, code)
	if err != nil {
		return fail(fmt.Errorf("compile: %w", err))
	}
	v.compiled = compiled
	exports := compiled.ExportedFunctions()
	for _, name := range []string{"sj_buffer", "sj_handle"} {
		if _, ok := exports[name]; !ok {
			return fail(fmt.Errorf("module does not export %s: build it with plugins/sdk", name))
		}
	}
	guestOut := &logWriter{log: log}
	v.modCfg = wazero.NewModuleConfig().
		WithName(""). // anonymous: many instances of one module
		WithStartFunctions("_initialize").
		WithSysNanotime().WithSysWalltime().WithSysNanosleep().
		WithRandSource(rand.Reader).
		WithStdout(guestOut).WithStderr(guestOut)
	// No FS, no env, no args: a plugin sees nothing but its imports.
	first, err := v.newInstance(ctx)
	if err != nil {
		return fail(fmt.Errorf("instantiate: %w", err))
	}
	v.pool <- first
	for i := 1; i < m.Limits.Instances; i++ {
		inst, err := v.newInstance(ctx)
		if err != nil {
			v.Close(ctx)
			return nil, fmt.Errorf("plugin %s: instantiate: %w", m.ID(), err)
		}
		v.pool <- inst
	}
	return v, nil
}

func (v *Version) newInstance(ctx context.Context) (*instance, error) {
	mod, err := v.rt.InstantiateModule(ctx, v.compiled, v.modCfg)
	if err != nil {
		return nil, err
	}
	inst := &instance{mod: mod, mem: mod.Memory(), bufFn: mod.ExportedFunction("sj_buffer"),
		handleFn: mod.ExportedFunction("sj_handle"), reqBuf: make([]byte, 0, 4096)}
	inst.call.version = v
	v.live.Add(1)
	return inst, nil
}

// MemoryBytes reports the linear memory of one warm instance (for /healthz and bench).
func (v *Version) MemoryBytes() uint32 {
	if v.native != nil {
		return 0
	}
	select {
	case inst := <-v.pool:
		n := inst.mem.Size()
		v.pool <- inst
		return n
	default:
		return 0
	}
}

// Handle runs one request on a warm instance. The returned error is for the host's
// log; the response is always set (a 500 when the guest failed).
func (v *Version) Handle(ctx context.Context, req *wire.Request) (wire.Response, error) {
	if !v.acquire() {
		return wire.Response{}, ErrDraining
	}
	defer v.inflight.Done()
	v.Requests.Add(1)
	if v.native != nil {
		return v.handleNative(req), nil
	}
	inst, err := v.get(ctx)
	if err != nil {
		v.Failures.Add(1)
		return errorResponse(503, "The service is busy, try again."), fmt.Errorf("plugin %s: no instance: %w", v.Manifest.ID(), err)
	}
	resp, err := v.run(ctx, inst, req)
	if err != nil {
		v.Failures.Add(1)
		v.discard(inst)
		status, msg := 500, "Server Error"
		if errors.Is(err, context.DeadlineExceeded) {
			status, msg = 504, "The request took too long."
		}
		return errorResponse(status, msg), fmt.Errorf("plugin %s: %w", v.Manifest.ID(), err)
	}
	v.put(inst)
	return resp, nil
}

func (v *Version) run(parent context.Context, inst *instance, req *wire.Request) (resp wire.Response, err error) {
	ctx, cancel := context.WithTimeout(parent, v.Manifest.Timeout())
	defer cancel()
	inst.call.begin(req.ID)
	defer inst.call.end()
	ctx = context.WithValue(ctx, callKey{}, &inst.call)

	inst.reqBuf = req.Encode(inst.reqBuf[:0])
	if n := uint32(len(inst.reqBuf)); n > inst.bufCap { // the guest's buffer only moves when it grows
		inst.stack[0] = uint64(max(n, 64<<10))
		if err := inst.bufFn.CallWithStack(ctx, inst.stack[:]); err != nil {
			return resp, guestError(ctx, err)
		}
		inst.bufPtr, inst.bufCap = uint32(inst.stack[0]), max(n, 64<<10)
	}
	if !inst.mem.Write(inst.bufPtr, inst.reqBuf) {
		return resp, errors.New("guest buffer out of range")
	}
	inst.stack[0] = uint64(len(inst.reqBuf))
	if err := inst.handleFn.CallWithStack(ctx, inst.stack[:]); err != nil {
		return resp, guestError(ctx, err)
	}
	ptr, n := uint32(inst.stack[0]>>32), uint32(inst.stack[0])
	out, ok := inst.mem.Read(ptr, n)
	if !ok {
		return resp, errors.New("guest response out of range")
	}
	if err := resp.Decode(out); err != nil {
		return resp, fmt.Errorf("guest response: %w", err)
	}
	// out is a view of guest memory, reused by the next call: copy what we keep.
	resp.Body = append([]byte(nil), resp.Body...)
	if resp.Status < 100 || resp.Status > 599 {
		return resp, fmt.Errorf("guest answered status %d", resp.Status)
	}
	inst.uses++
	return resp, nil
}

func guestError(ctx context.Context, err error) error {
	var exit *sys.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeDeadlineExceeded || ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("guest exceeded its deadline: %w", context.DeadlineExceeded)
	}
	return fmt.Errorf("guest trapped: %w", err)
}

func errorResponse(status int, msg string) wire.Response {
	return wire.Response{Status: status, ContentType: "application/json", Body: []byte(`{"message":"` + msg + `"}`)}
}

func (v *Version) acquire() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closing {
		return false
	}
	v.inflight.Add(1)
	return true
}

// get takes a warm instance, waiting for one to come back when all are busy. It
// instantiates on the request path only when the pool has lost instances and the
// background refill has not caught up.
func (v *Version) get(ctx context.Context) (*instance, error) {
	select {
	case inst := <-v.pool:
		return inst, nil
	default:
	}
	if int(v.live.Load()) < v.Manifest.Limits.Instances {
		return v.newInstance(context.WithoutCancel(ctx))
	}
	wait, cancel := context.WithTimeout(ctx, v.Manifest.Timeout())
	defer cancel()
	select {
	case inst := <-v.pool:
		return inst, nil
	case <-wait.Done():
		return nil, wait.Err()
	}
}

func (v *Version) put(inst *instance) {
	limit := v.Manifest.Limits
	if inst.uses >= limit.MaxRequests || inst.mem.Size() > limit.MemoryPages*65536/4*3 {
		v.discard(inst)
		return
	}
	select {
	case v.pool <- inst:
	default:
		v.discard(inst)
	}
}

// discard closes an instance (a trapped or out-of-memory module is not closed by
// wazero) and refills the pool in the background.
func (v *Version) discard(inst *instance) {
	v.Discarded.Add(1)
	v.live.Add(-1)
	_ = inst.mod.Close(context.Background())
	go v.refill()
}

func (v *Version) refill() {
	v.mu.Lock()
	closing := v.closing
	v.mu.Unlock()
	if closing || int(v.live.Load()) >= v.Manifest.Limits.Instances {
		return
	}
	inst, err := v.newInstance(context.Background())
	if err != nil {
		v.log.Error("refill plugin pool", "err", err)
		return
	}
	select {
	case v.pool <- inst:
	default:
		v.live.Add(-1)
		_ = inst.mod.Close(context.Background())
	}
}

// Close waits for requests in flight to finish, then releases the runtime.
func (v *Version) Close(ctx context.Context) error {
	v.mu.Lock()
	v.closing = true
	v.mu.Unlock()
	done := make(chan struct{})
	go func() { v.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	if v.rt == nil {
		return nil
	}
	return v.rt.Close(context.Background())
}

// logWriter turns a guest's stdout/stderr (Go runtime panics) into log lines.
type logWriter struct{ log *slog.Logger }

func (w *logWriter) Write(p []byte) (int, error) {
	w.log.Warn("plugin output", "text", string(p))
	return len(p), nil
}
