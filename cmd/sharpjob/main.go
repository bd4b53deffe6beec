// Command sharpjob is the SharpJob Edge binary.
//
//	sharpjob serve              edge host and realtime core in one process (in-process broadcast)
//	sharpjob host               edge host alone; broadcasts over the Pusher HTTP API (PUSHER_HOST/PUSHER_PORT)
//	sharpjob realtime           realtime core alone
//	sharpjob migrate            apply database migrations
//	sharpjob reindex            rebuild the search indexes into fresh ones and swap them in
//	sharpjob plugins list|check FILE.wasm|reload
//	sharpjob users create-admin --name NAME --email EMAIL   (password from SHARPJOB_ADMIN_PASSWORD or stdin)
//	sharpjob seed --artisans N --jobs M   demo data around Nigerian cities, through the plugins
//
// Configuration is the environment; see README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
)

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	log := newLogger()
	ctx := context.Background()
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "serve":
		err = serve(ctx, log, true, true)
	case "host":
		err = serve(ctx, log, true, false)
	case "realtime":
		err = serve(ctx, log, false, true)
	case "migrate":
		err = migrate(ctx, log)
	case "reindex":
		err = reindex(ctx, log)
	case "plugins":
		err = plugins(ctx, log, args)
	case "users":
		err = users(ctx, log, args)
	case "seed":
		err = seed(ctx, log, args)
	case "help", "-h", "--help":
		usage()
	default:
		usage()
		os.Exit(2)
	}
	if err != nil {
		log.Error(os.Args[1]+" failed", "err", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage: sharpjob serve | host | realtime | migrate | reindex | plugins list|check FILE|reload | users create-admin --name N --email E | seed --artisans N --jobs M`)
}

// newLogger is the one place that decides where logs go: stderr, JSON unless
// SHARPJOB_LOG_FORMAT=text, at SHARPJOB_LOG_LEVEL (info).
func newLogger() *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(envOr("SHARPJOB_LOG_LEVEL", "info")))
	opts := &slog.HandlerOptions{Level: level}
	if os.Getenv("SHARPJOB_LOG_FORMAT") == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func users(ctx context.Context, log *slog.Logger, args []string) error {
	if len(args) == 0 || args[0] != "create-admin" {
		return errors.New("usage: sharpjob users create-admin --name NAME --email EMAIL")
	}
	fs := flag.NewFlagSet("create-admin", flag.ContinueOnError)
	name := fs.String("name", "Administrator", "display name")
	email := fs.String("email", "", "email address (required)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	password := os.Getenv("SHARPJOB_ADMIN_PASSWORD")
	if password == "" {
		fmt.Fprint(os.Stderr, "password: ")
		var line string
		if _, err := fmt.Fscanln(os.Stdin, &line); err != nil {
			return errors.New("no password: set SHARPJOB_ADMIN_PASSWORD or type it on stdin")
		}
		password = strings.TrimSpace(line)
	}
	app, err := openApp(ctx, log)
	if err != nil {
		return err
	}
	defer app.db.Close()
	u, err := app.identity().CreateAdmin(ctx, *name, *email, password)
	if err != nil {
		return err
	}
	fmt.Printf("admin %d <%s> ready\n", u.ID, u.Email)
	return nil
}
