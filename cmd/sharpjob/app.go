package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/mysharpjob/sharpjob/host"
	"github.com/mysharpjob/sharpjob/host/plugin"
	"github.com/mysharpjob/sharpjob/realtime"
	"github.com/mysharpjob/sharpjob/search"
	"github.com/mysharpjob/sharpjob/store"
)

// app is what every command shares: configuration, the database, the logger.
type app struct {
	cfg host.Config
	db  *store.DB
	log *slog.Logger
}

func openApp(ctx context.Context, log *slog.Logger) (*app, error) {
	cfg := host.ConfigFromEnv()
	db, err := store.Open(ctx, store.Config{URL: cfg.DatabaseURL, SyncURL: cfg.DatabaseSync, AuthToken: cfg.DatabaseToken, DataDir: cfg.DataDir})
	if err != nil {
		return nil, err
	}
	applied, err := db.Migrate(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	if len(applied) > 0 {
		log.Info("migrations applied", "files", applied)
	}
	return &app{cfg: cfg, db: db, log: log}, nil
}

func (a *app) identity() *host.Identity {
	return host.NewIdentity(a.db, a.cfg.BcryptCost, a.cfg.TokenCacheTTL, host.NewThrottle(a.cfg.LoginAttempts, time.Minute))
}

func migrate(ctx context.Context, log *slog.Logger) error {
	a, err := openApp(ctx, log)
	if err != nil {
		return err
	}
	return a.db.Close()
}

// busPublisher delivers plugin broadcasts to the realtime core.
type busPublisher struct {
	pub realtime.Publisher
	log *slog.Logger
}

func (b busPublisher) Broadcast(ctx context.Context, channels []string, event string, data []byte) error {
	err := b.pub.Publish(ctx, realtime.Event{Channels: channels, Name: event, Data: string(data)})
	if err != nil {
		b.log.Warn("broadcast failed", "event", event, "channels", channels, "err", err)
	}
	return err
}

// serve runs the edge host, the realtime core, or both, until SIGTERM or SIGINT.
func serve(ctx context.Context, log *slog.Logger, withHost, withRealtime bool) error {
	start := time.Now()
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	rtCfg, err := realtime.ConfigFromEnv()
	if err != nil {
		return err
	}
	var rt *realtime.Server
	errc := make(chan error, 2)
	if withRealtime {
		if rt, err = realtime.NewServer(rtCfg, log.With("part", "realtime")); err != nil {
			return err
		}
		ln, err := net.Listen("tcp", rtCfg.Addr)
		if err != nil {
			return fmt.Errorf("realtime: listen %s: %w", rtCfg.Addr, err)
		}
		go func() { errc <- rt.Serve(ln) }()
		log.Info("realtime core listening", "addr", ln.Addr().String())
	}
	if !withHost {
		select {
		case <-ctx.Done():
		case err := <-errc:
			return err
		}
		return shutdownRealtime(rt, 10*time.Second)
	}

	a, err := openApp(ctx, log)
	if err != nil {
		return err
	}
	defer a.db.Close()
	var pub realtime.Publisher
	if rt != nil {
		pub = rt.Publisher(rtCfg.Apps[0].ID)
	} else {
		port, _ := strconv.Atoi(envOr("PUSHER_PORT", "6001"))
		var opts []realtime.PublisherOption
		if k := os.Getenv("PUSHER_ENCRYPTION_MASTER_KEY_BASE64"); k != "" {
			opts = append(opts, realtime.WithEncryptionMasterKey(k)) // the SDK encrypts private-encrypted- events itself
		}
		pub = realtime.NewHTTPPublisher(envOr("PUSHER_HOST", "127.0.0.1"), port, envOr("PUSHER_SCHEME", "http"),
			rtCfg.Apps[0].ID, rtCfg.Apps[0].Key, rtCfg.Apps[0].Secret, opts...)
	}

	engine, err := search.EngineFromEnv(a.db, log.With("part", "search"))
	if err != nil {
		return err
	}
	if err := search.Prepare(ctx, a.db, engine, log); err != nil {
		// Search down must not take the API down: the outbox keeps every write.
		log.Error("search engine not ready; search endpoints will fail until it is", "err", err)
	}
	syncer := search.NewSyncer(a.db, engine, log.With("part", "search-sync"))
	syncCtx, stopSync := context.WithCancel(context.Background())
	defer stopSync()
	go syncer.Run(syncCtx)

	masterKey, _ := decodeBase64(os.Getenv("PUSHER_ENCRYPTION_MASTER_KEY_BASE64"))
	mounts := []host.Mount{
		host.NewBroadcastAuth(a.db, rtCfg.Apps[0], masterKey).Mount(),
		searchMount(search.NewHTTP(engine, a.db, log.With("part", "search"))),
	}
	env := &plugin.Env{DB: a.db, Guard: plugin.NewGuard(a.db), Bus: busPublisher{pub, log}, CacheDir: a.cfg.WazeroCacheDir,
		Logger: log.With("part", "plugins")}
	reg := plugin.NewRegistry(env, host.ReservedRoutes(mounts...))
	versions, err := reg.LoadDir(ctx, a.cfg.PluginDir)
	if err != nil {
		return fmt.Errorf("load plugins from %s: %w", a.cfg.PluginDir, err)
	}
	if len(versions) == 0 {
		log.Warn("no plugins loaded: run make build", "dir", a.cfg.PluginDir)
	}
	srv := host.NewServer(a.cfg, a.db, reg, log, mounts...)
	srv.AddHealth(func() (string, any) {
		lag, err := syncer.Lag(context.Background())
		if err != nil {
			return "search", map[string]any{"engine": engine.Name(), "error": err.Error()}
		}
		return "search", map[string]any{"engine": engine.Name(), "outbox": lag}
	})
	ln, err := net.Listen("tcp", a.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", a.cfg.HTTPAddr, err)
	}
	go func() { errc <- srv.Serve(ln) }()
	ids := make([]string, len(versions))
	for i, v := range versions {
		ids[i] = v.Manifest.ID()
	}
	log.Info("edge host serving", "addr", ln.Addr().String(), "plugins", ids, "database", a.db.Mode,
		"startup_ms", time.Since(start).Milliseconds())
	writePID(a.cfg.DataDir)

	reloader := host.NewReloader(reg, env, a.cfg.PluginDir, log)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	if a.cfg.WatchPlugins {
		go reloader.Watch(ctx, time.Second)
	}
	for {
		select {
		case <-hup:
			_, _ = reloader.Reload(ctx)
			continue
		case err := <-errc:
			if err != nil {
				log.Error("server stopped", "err", err)
			}
		case <-ctx.Done():
		}
		break
	}
	log.Info("shutting down: finishing requests in flight", "grace", a.cfg.ShutdownGrace.String())
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownGrace)
	defer cancel()
	err = srv.Shutdown(sctx)
	_ = shutdownRealtime(rt, 10*time.Second)
	stopSync()
	reg.Close(sctx)
	os.Remove(pidFile(a.cfg.DataDir))
	return err
}

func shutdownRealtime(rt *realtime.Server, grace time.Duration) error {
	if rt == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	return rt.Shutdown(ctx)
}

func pidFile(dataDir string) string { return filepath.Join(dataDir, "sharpjob.pid") }

func writePID(dataDir string) {
	_ = os.MkdirAll(dataDir, 0o755)
	_ = os.WriteFile(pidFile(dataDir), []byte(strconv.Itoa(os.Getpid())), 0o644)
}

var errNoServer = errors.New("no running sharpjob serve found (its pid file is missing)")
