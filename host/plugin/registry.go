package plugin

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Registry holds the live plugin versions and the route table over them. Reads are
// lock-free (an atomic pointer); a load or swap builds the new table aside, then
// publishes it whole, then drains the versions it replaced.
type Registry struct {
	env      *Env
	reserved []Route

	mu      sync.Mutex               // serialises swaps
	current atomic.Pointer[snapshot] // what requests see
	history map[string][]*history    // name → previous versions, newest last (for rollback)
}

type snapshot struct {
	table    *Table
	versions map[string]*Version
}

type history struct {
	path string
	id   string
}

// NewRegistry makes an empty registry. reserved are host-native routes no plugin may claim.
func NewRegistry(env *Env, reserved []Route) *Registry {
	r := &Registry{env: env, reserved: reserved, history: map[string][]*history{}}
	t, _ := NewTable(nil, reserved)
	r.current.Store(&snapshot{table: t, versions: map[string]*Version{}})
	return r
}

// LoadDir loads every NAME.wasm (with NAME.json) in dir and publishes them together.
func (r *Registry) LoadDir(ctx context.Context, dir string) ([]*Version, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.wasm"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	versions := make([]*Version, len(paths))
	errs := make([]error, len(paths))
	var wg sync.WaitGroup
	for i, p := range paths { // compile in parallel: cold start is a figure we report
		wg.Add(1)
		go func() {
			defer wg.Done()
			versions[i], errs[i] = Load(ctx, r.env, p)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, v := range versions {
			if v != nil {
				v.Close(ctx)
			}
		}
		return nil, err
	}
	return versions, r.Swap(ctx, versions...)
}

// Swap publishes versions, replacing any loaded versions of the same names. It
// refuses (and closes the new versions) when their routes conflict. Replaced versions
// finish their requests in flight, then close.
func (r *Registry) Swap(ctx context.Context, versions ...*Version) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.current.Load()
	next := make(map[string]*Version, len(old.versions)+len(versions))
	for name, v := range old.versions {
		next[name] = v
	}
	for _, v := range versions {
		next[v.Manifest.Name] = v
	}
	list := make([]*Version, 0, len(next))
	for _, v := range next {
		list = append(list, v)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Manifest.Name < list[j].Manifest.Name })
	table, err := NewTable(list, r.reserved)
	if err != nil {
		for _, v := range versions {
			v.Close(ctx)
		}
		return err
	}
	r.current.Store(&snapshot{table: table, versions: next})
	for _, v := range versions {
		if prev := old.versions[v.Manifest.Name]; prev != nil && prev != v {
			r.history[prev.Manifest.Name] = append(r.history[prev.Manifest.Name], &history{path: prev.Path, id: prev.Manifest.ID()})
			go func() {
				drain, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				prev.Close(drain)
				r.env.Logger.Info("plugin version drained", "plugin", prev.Manifest.ID())
			}()
		}
	}
	return nil
}

// Rollback reloads the previous version of name from the file it came from.
func (r *Registry) Rollback(ctx context.Context, name string) (*Version, error) {
	r.mu.Lock()
	h := r.history[name]
	if len(h) == 0 {
		r.mu.Unlock()
		return nil, fmt.Errorf("plugin %s: no earlier version to roll back to", name)
	}
	prev := h[len(h)-1]
	r.history[name] = h[:len(h)-1]
	r.mu.Unlock()
	v, err := Load(ctx, r.env, prev.path)
	if err != nil {
		return nil, err
	}
	return v, r.Swap(ctx, v)
}

// Lookup routes a request against the current table.
func (r *Registry) Lookup(method, path string) (Match, bool, bool) {
	return r.current.Load().table.Lookup(method, path)
}

// Versions lists the live versions by name.
func (r *Registry) Versions() []*Version {
	s := r.current.Load()
	out := make([]*Version, 0, len(s.versions))
	for _, v := range s.versions {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Manifest.Name < out[j].Manifest.Name })
	return out
}

// Close drains and closes every live version.
func (r *Registry) Close(ctx context.Context) {
	for _, v := range r.Versions() {
		v.Close(ctx)
	}
}
