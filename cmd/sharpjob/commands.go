package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/schollz/progressbar/v3"
	"github.com/valyala/fasthttp"

	"github.com/mysharpjob/sharpjob/api"
	"github.com/mysharpjob/sharpjob/host"
	"github.com/mysharpjob/sharpjob/host/plugin"
	"github.com/mysharpjob/sharpjob/search"
)

func decodeBase64(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	return base64.StdEncoding.DecodeString(s)
}

func searchMount(h *search.HTTP) host.Mount {
	return host.Mount{Name: "search", Routes: []plugin.Route{
		{Method: "GET", Path: "/api/search/artisans"},
		{Method: "GET", Path: "/api/search/jobs"},
		{Method: "GET", Path: "/api/search/suggest"},
		{Method: "GET", Path: "/api/jobs/{id}/matches"},
		{Method: "GET", Path: "/api/artisans/me/recommended-jobs"},
	}, Handle: func(ctx *fasthttp.RequestCtx, p api.Principal) bool { return h.Handle(ctx, p) }}
}

func reindex(ctx context.Context, log *slog.Logger) error {
	a, err := openApp(ctx, log)
	if err != nil {
		return err
	}
	defer a.db.Close()
	engine, err := search.EngineFromEnv(a.db, log)
	if err != nil {
		return err
	}
	if _, err := engine.Setup(ctx); err != nil {
		return err
	}
	var bar *progressbar.ProgressBar
	err = search.Reindex(ctx, a.db, engine, func(done, total int) {
		if bar == nil {
			bar = progressbar.NewOptions(total, progressbar.OptionSetDescription("reindex"), progressbar.OptionShowCount(),
				progressbar.OptionShowIts(), progressbar.OptionSetItsString("docs"), progressbar.OptionSetPredictTime(true),
				progressbar.OptionSetWriter(os.Stderr), progressbar.OptionThrottle(100_000_000))
		}
		_ = bar.Set(done)
	})
	if bar != nil {
		_ = bar.Finish()
		fmt.Fprintln(os.Stderr)
	}
	return err
}

func plugins(ctx context.Context, log *slog.Logger, args []string) error {
	cfg := host.ConfigFromEnv()
	sub := "list"
	if len(args) > 0 {
		sub = args[0]
	}
	switch sub {
	case "list":
		paths, _ := filepath.Glob(filepath.Join(cfg.PluginDir, "*.wasm"))
		for _, p := range paths {
			m, err := plugin.ReadManifest(strings.TrimSuffix(p, ".wasm") + ".json")
			if err != nil {
				fmt.Printf("%-12s  (bad manifest: %v)\n", filepath.Base(p), err)
				continue
			}
			fmt.Printf("%-20s %d routes  %s\n", m.ID(), len(m.Routes), p)
		}
		return nil
	case "check":
		if len(args) < 2 {
			return errors.New("usage: sharpjob plugins check FILE.wasm")
		}
		a, err := openApp(ctx, log)
		if err != nil {
			return err
		}
		defer a.db.Close()
		env := &plugin.Env{DB: a.db, Guard: plugin.NewGuard(a.db), CacheDir: cfg.WazeroCacheDir, Logger: log}
		v, err := plugin.Load(ctx, env, args[1])
		if err != nil {
			return err
		}
		defer v.Close(ctx)
		fmt.Printf("%s ok: %d routes, %d KiB per warm instance\n", v.Manifest.ID(), len(v.Manifest.Routes), v.MemoryBytes()/1024)
		return nil
	case "reload":
		b, err := os.ReadFile(pidFile(cfg.DataDir))
		if err != nil {
			return errNoServer
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			return errNoServer
		}
		if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
			return fmt.Errorf("signal sharpjob (pid %d): %w", pid, err)
		}
		fmt.Printf("asked sharpjob (pid %d) to reload changed plugins from %s\n", pid, cfg.PluginDir)
		return nil
	}
	return errors.New("usage: sharpjob plugins list | check FILE.wasm | reload")
}
