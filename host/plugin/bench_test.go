package plugin_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/mysharpjob/sharpjob/host/plugin"
	"github.com/mysharpjob/sharpjob/plugins/jobs"
	"github.com/mysharpjob/sharpjob/plugins/sdk/wire"
)

// reportPercentiles runs op b.N times and reports p50/p99 beside ns/op.
func reportPercentiles(b *testing.B, op func()) {
	d := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t := time.Now()
		op()
		d = append(d, time.Since(t))
	}
	b.StopTimer()
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(d[len(d)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkDispatch is the pure host → guest → host overhead: a guest route that
// answers a constant, through Version.Handle (pool, deadline, encode, two guest calls,
// decode, copy).
func BenchmarkDispatch(b *testing.B) {
	t := &testing.T{}
	env, _ := newEnv(t)
	v, err := plugin.Load(context.Background(), env, filepath.Join(plugins(t), "evil.wasm"))
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close(context.Background())
	req := &wire.Request{Method: "GET", Path: "/api/evil/noop", Route: "/api/evil/{what}", Params: []wire.Param{{Name: "what", Value: "noop"}}}
	for _, size := range []int{0, 1024, 16 << 10} {
		req.Body = make([]byte, size)
		b.Run("body="+itoa(size), func(b *testing.B) {
			reportPercentiles(b, func() {
				if resp, err := v.Handle(context.Background(), req); err != nil || resp.Status != 200 {
					b.Fatal(resp.Status, err)
				}
			})
		})
	}
}

// BenchmarkShowJob compares the jobs plugin's GET /api/jobs/{id} in Wasm with the same
// handler linked natively, both through Version.Handle and the same capability host.
func BenchmarkShowJob(b *testing.B) {
	t := &testing.T{}
	env, _ := newEnv(t)
	wasm, err := plugin.Load(context.Background(), env, filepath.Join(plugins(t), "jobs.wasm"))
	if err != nil {
		b.Fatal(err)
	}
	defer wasm.Close(context.Background())
	native, err := plugin.NativeVersion(env, wasm.Manifest, jobs.Routes())
	if err != nil {
		b.Fatal(err)
	}
	req := &wire.Request{Method: "GET", Path: "/api/jobs/1", Route: "/api/jobs/{id}", Params: []wire.Param{{Name: "id", Value: "1"}}}
	for name, v := range map[string]*plugin.Version{"wasm": wasm, "native": native} {
		b.Run(name, func(b *testing.B) {
			reportPercentiles(b, func() {
				if resp, err := v.Handle(context.Background(), req); err != nil || resp.Status != 200 {
					b.Fatal(resp.Status, err, string(resp.Body))
				}
			})
		})
	}
}
