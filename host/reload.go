package host

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/mysharpjob/sharpjob/host/plugin"
)

// Reloader hot-swaps plugins whose files changed in the plugin directory: each
// changed NAME.wasm (or NAME.json) is loaded, compiled and checked aside, then
// swapped in; requests in flight finish on the old version. Triggered by SIGHUP,
// by the dev watch, or by the admin CLI (which sends SIGHUP).
type Reloader struct {
	reg *plugin.Registry
	env *plugin.Env
	dir string
	log *slog.Logger

	mu   sync.Mutex
	seen map[string]stamp
}

type stamp struct {
	mod  time.Time
	size int64
}

// NewReloader remembers the current files as loaded.
func NewReloader(reg *plugin.Registry, env *plugin.Env, dir string, log *slog.Logger) *Reloader {
	r := &Reloader{reg: reg, env: env, dir: dir, log: log, seen: map[string]stamp{}}
	r.changed() // baseline
	return r
}

// changed returns the .wasm paths whose .wasm or .json differ from last time.
func (r *Reloader) changed() []string {
	paths, _ := filepath.Glob(filepath.Join(r.dir, "*.wasm"))
	var out []string
	for _, p := range paths {
		manifest := p[:len(p)-len(".wasm")] + ".json"
		dirty := false
		for _, f := range []string{p, manifest} {
			st, err := os.Stat(f)
			if err != nil {
				continue
			}
			s := stamp{st.ModTime(), st.Size()}
			if r.seen[f] != s {
				r.seen[f] = s
				dirty = true
			}
		}
		if dirty {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// Reload loads and swaps every changed plugin. A plugin that fails to load keeps
// its current version serving; the error is returned and logged.
func (r *Reloader) Reload(ctx context.Context) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var swapped []string
	var firstErr error
	for _, p := range r.changed() {
		v, err := plugin.Load(ctx, r.env, p)
		if err == nil {
			err = r.reg.Swap(ctx, v)
		}
		if err != nil {
			r.log.Error("plugin reload failed; the running version keeps serving", "file", p, "err", err)
			delete(r.seen, p) // try again on the next poll (the file may have been half written)
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		r.log.Info("plugin swapped in", "plugin", v.Manifest.ID())
		swapped = append(swapped, v.Manifest.ID())
	}
	return swapped, firstErr
}

// Watch polls the directory until ctx ends.
func (r *Reloader) Watch(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, _ = r.Reload(ctx)
		}
	}
}
