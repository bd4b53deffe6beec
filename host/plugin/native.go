package plugin

import (
	"context"
	"log/slog"

	"github.com/mysharpjob/sharpjob/plugins/sdk"
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
	return h.call(context.Background(), h.log, fn, req)
}

func (h *nativeHost) Config(key string) (string, bool) { return h.config(key) }

func (h *nativeHost) Log(level int, msg string) {
	h.log.Log(context.Background(), slog.Level((level-1)*4), msg, "source", "plugin")
}
