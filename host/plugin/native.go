package plugin

import (
	"context"
	"log/slog"
	"time"

	"github.com/mysharpjob/sharpjob/plugins/sdk"
	"github.com/mysharpjob/sharpjob/plugins/sdk/wire"
)

// NativeHost serves natively linked plugin handlers (plugins/sdk built without
// wasip1) with the same capability checks and encodings as the Wasm ABI. The
// benchmarks use it as the baseline the Wasm path is measured against.
func NativeHost(env *Env, m Manifest) (sdk.Host, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	return &nativeHost{capHost{m: &m, env: env, log: env.Logger.With("plugin", m.ID()+"(native)")}}, nil
}

type nativeHost struct{ capHost }

func (h *nativeHost) Call(fn string, req []byte) ([]byte, error) {
	return h.call(context.Background(), func() *slog.Logger { return h.log }, fn, req)
}

func (h *nativeHost) Config(key string) (string, bool) { return h.config(key) }

func (h *nativeHost) Log(level int, msg string) {
	h.log.Log(context.Background(), slog.Level((level-1)*4), msg, "source", "plugin")
}

// NativeVersion wraps natively linked handlers as a Version the registry can route
// to, so the very same host (routing, identity, logging) serves them without Wasm.
// It installs a NativeHost for the sdk: one native plugin per process.
func NativeVersion(env *Env, m Manifest, rt *sdk.Router) (*Version, error) {
	h, err := NativeHost(env, m)
	if err != nil {
		return nil, err
	}
	sdk.UseHost(h)
	return &Version{Manifest: m, Path: "(native)", LoadedAt: time.Now(), env: env, log: env.Logger, native: rt}, nil
}

func (v *Version) handleNative(req *wire.Request) wire.Response {
	r := sdk.Request{Request: *req}
	return v.native.Dispatch(&r)
}
