package host

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is the edge host's configuration, environment first. Every setting has a
// working development default; names follow the seed's Laravel .env where one exists.
type Config struct {
	HTTPAddr       string        // SHARPJOB_HTTP_ADDR, ":8000"
	DataDir        string        // SHARPJOB_DATA_DIR, "./data"
	PluginDir      string        // SHARPJOB_PLUGIN_DIR, "./build/plugins"
	DatabaseURL    string        // DATABASE_URL, file:$DATA_DIR/sharpjob.db
	DatabaseSync   string        // DATABASE_SYNC_URL, "" (set: embedded replica of this primary)
	DatabaseToken  string        // DATABASE_AUTH_TOKEN, ""
	CORSOrigins    []string      // CORS_ALLOWED_ORIGINS, "*"
	BcryptCost     int           // BCRYPT_ROUNDS, 12
	TokenCacheTTL  time.Duration // SHARPJOB_TOKEN_CACHE_TTL, 10s: how long a verified token is trusted without a look-up
	LoginAttempts  int           // SHARPJOB_LOGIN_ATTEMPTS, 5 failures per minute per email and address
	AccessLog      bool          // SHARPJOB_ACCESS_LOG, true
	WatchPlugins   bool          // SHARPJOB_WATCH_PLUGINS, false: reload a plugin when its .wasm changes
	MaxBodyBytes   int           // SHARPJOB_MAX_BODY_BYTES, 4 MiB
	ShutdownGrace  time.Duration // SHARPJOB_SHUTDOWN_GRACE, 20s
	WazeroCacheDir string        // SHARPJOB_WAZERO_CACHE, $DATA_DIR/wazero-cache
}

// ConfigFromEnv reads the environment.
func ConfigFromEnv() Config {
	c := Config{
		HTTPAddr:      env("SHARPJOB_HTTP_ADDR", ":8000"),
		DataDir:       env("SHARPJOB_DATA_DIR", "data"),
		PluginDir:     env("SHARPJOB_PLUGIN_DIR", filepath.Join("build", "plugins")),
		DatabaseURL:   os.Getenv("DATABASE_URL"),
		DatabaseSync:  os.Getenv("DATABASE_SYNC_URL"),
		DatabaseToken: os.Getenv("DATABASE_AUTH_TOKEN"),
		BcryptCost:    envInt("BCRYPT_ROUNDS", 12),
		TokenCacheTTL: envDuration("SHARPJOB_TOKEN_CACHE_TTL", 10*time.Second),
		LoginAttempts: envInt("SHARPJOB_LOGIN_ATTEMPTS", 5),
		AccessLog:     env("SHARPJOB_ACCESS_LOG", "true") == "true",
		WatchPlugins:  env("SHARPJOB_WATCH_PLUGINS", "false") == "true",
		MaxBodyBytes:  envInt("SHARPJOB_MAX_BODY_BYTES", 4<<20),
		ShutdownGrace: envDuration("SHARPJOB_SHUTDOWN_GRACE", 20*time.Second),
	}
	for _, o := range strings.Split(env("CORS_ALLOWED_ORIGINS", "*"), ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.CORSOrigins = append(c.CORSOrigins, o)
		}
	}
	c.WazeroCacheDir = env("SHARPJOB_WAZERO_CACHE", filepath.Join(c.DataDir, "wazero-cache"))
	return c
}

func env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}

func envInt(key string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(key)); err == nil {
		return n
	}
	return def
}

func envDuration(key string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(key)); err == nil {
		return d
	}
	return def
}
