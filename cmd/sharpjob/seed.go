package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/mysharpjob/sharpjob/host"
	"github.com/mysharpjob/sharpjob/host/plugin"
	"github.com/mysharpjob/sharpjob/plugins/sdk/wire"
	"github.com/mysharpjob/sharpjob/search/synth"
)

// seed generates demo data through the same code paths as the API: users through
// the identity service, profiles through the profiles plugin, jobs through the jobs
// plugin (all Wasm), so validation, triggers and the search outbox behave as in
// production. Every seeded user's password is --password.
func seed(ctx context.Context, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	artisans := fs.Int("artisans", 200, "artisans to create (users + profiles)")
	jobs := fs.Int("jobs", 100, "jobs to post (by jobs/8+1 new clients)")
	password := fs.String("password", "password", "password of every seeded user")
	cost := fs.Int("bcrypt-cost", 4, "bcrypt cost for seeded users (low: this is demo data)")
	rngSeed := fs.Uint64("seed", uint64(time.Now().UnixNano()), "random seed (same seed, same data)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	a, err := openApp(ctx, log)
	if err != nil {
		return err
	}
	defer a.db.Close()
	env := &plugin.Env{DB: a.db, Guard: plugin.NewGuard(a.db), CacheDir: a.cfg.WazeroCacheDir, Logger: log}
	reg := plugin.NewRegistry(env, host.ReservedRoutes())
	if _, err := reg.LoadDir(ctx, a.cfg.PluginDir); err != nil {
		return fmt.Errorf("load plugins (run make build): %w", err)
	}
	defer reg.Close(ctx)
	identity := host.NewIdentity(a.db, *cost, time.Second, host.NewThrottle(5, time.Minute))
	gen := synth.NewGenerator(*rngSeed)
	stamp := strconv.FormatInt(time.Now().Unix(), 36)

	clients := *jobs/8 + 1
	bar := progressbar.NewOptions(clients+*artisans+*jobs, progressbar.OptionSetDescription("seed"), progressbar.OptionShowCount(),
		progressbar.OptionShowIts(), progressbar.OptionSetItsString("rows"), progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetWriter(os.Stderr), progressbar.OptionThrottle(100*time.Millisecond))
	defer fmt.Fprintln(os.Stderr)

	register := func(role string, i int) (host.User, error) {
		return identity.Register(ctx, host.Registration{Name: gen.Name(), Email: fmt.Sprintf("%s%d.%s@seed.sharpjob.test", role, i, stamp), Password: *password, Role: role})
	}
	call := func(u host.User, method, path string, body any) error {
		b, _ := json.Marshal(body)
		m, ok, _ := reg.Lookup(method, path)
		if !ok {
			return fmt.Errorf("no plugin serves %s %s", method, path)
		}
		resp, err := m.Version.Handle(ctx, &wire.Request{Method: method, Path: path, Route: m.Route, Params: m.Params, Body: b,
			User: wire.Principal{ID: u.ID, Role: u.Role, Name: u.Name, Email: u.Email}})
		if err != nil {
			return err
		}
		if resp.Status >= 300 {
			return fmt.Errorf("%s %s: %d %s", method, path, resp.Status, resp.Body)
		}
		return nil
	}

	clientUsers := make([]host.User, 0, clients)
	for i := range clients {
		u, err := register("client", i)
		if err != nil {
			return err
		}
		clientUsers = append(clientUsers, u)
		bar.Add(1)
	}
	for i := range *artisans {
		u, err := register("artisan", i)
		if err != nil {
			return err
		}
		p := gen.Artisan()
		if err := call(u, "PUT", "/api/profile/artisan", map[string]any{"headline": p.Headline, "bio": p.Bio, "skills": p.Skills,
			"categories": p.Categories, "hourly_rate": p.HourlyRate, "lat": p.Lat, "lng": p.Lng, "address": p.Address,
			"city": p.City, "availability": p.Availability}); err != nil {
			return err
		}
		bar.Add(1)
	}
	if len(clientUsers) == 0 {
		return errors.New("no clients")
	}
	for i := range *jobs {
		j := gen.Job()
		if err := call(clientUsers[i%len(clientUsers)], "POST", "/api/jobs", map[string]any{"title": j.Title, "description": j.Description,
			"category": j.Category, "skills": j.Skills, "budget": j.Budget, "currency": "NGN", "lat": j.Lat, "lng": j.Lng, "address": j.Address}); err != nil {
			return err
		}
		bar.Add(1)
	}
	bar.Finish()
	log.Info("seeded", "clients", clients, "artisans", *artisans, "jobs", *jobs, "password", "(the --password value)")
	return nil
}
