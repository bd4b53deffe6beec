package realtime

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// App is one Pusher application.
type App struct {
	ID     string `json:"id"`
	Key    string `json:"key"`
	Secret string `json:"secret"`
	// MaxConnections caps the app's sockets on this node; 0 means unlimited.
	// A socket over the cap is refused with 4100.
	MaxConnections int `json:"max_connections"`
	// MaxClientEventsPerSecond limits client-* events per socket (default 10,
	// as Pusher); an event over the limit is dropped with error 4301.
	MaxClientEventsPerSecond int `json:"max_client_events_per_second"`
	// MaxEventBytes limits event data (HTTP API → 413, client events → 4301
	// error) and WebSocket messages (default 10240, as Pusher).
	MaxEventBytes int `json:"max_event_bytes"`
	// MaxPresenceMembers caps distinct users in one presence channel (default 100).
	MaxPresenceMembers int `json:"max_presence_members"`
	// SubscriptionCountEvents sends pusher_internal:subscription_count to a
	// public or private channel's subscribers when its count changes, as Pusher
	// does for apps with subscription counting enabled.
	SubscriptionCountEvents bool `json:"subscription_count_events"`
	// EncryptionMasterKeyBase64 is the 32-byte key (base64) from which the keys
	// of private-encrypted- channels derive; the in-process Publisher encrypts
	// with it. The server itself never decrypts.
	EncryptionMasterKeyBase64 string `json:"encryption_master_key_base64"`
	// Disabled refuses the app's sockets (4003) and HTTP API calls (403).
	Disabled bool `json:"disabled"`
	// ClientEventsDisabled turns client-* events off for the app.
	ClientEventsDisabled bool `json:"client_events_disabled"`
	// WebhookURLs receive this app's webhooks (Config.WebhookURLs are added).
	WebhookURLs []string `json:"webhook_urls"`
}

func (a *App) normalize() error {
	if a.ID == "" || a.Key == "" || a.Secret == "" {
		return errors.New("app needs id, key and secret")
	}
	if a.EncryptionMasterKeyBase64 != "" {
		k, err := base64.StdEncoding.DecodeString(a.EncryptionMasterKeyBase64)
		if err != nil || len(k) != 32 {
			return errors.New("encryption master key must be 32 bytes, base64-encoded")
		}
	}
	if a.MaxClientEventsPerSecond <= 0 {
		a.MaxClientEventsPerSecond = 10
	}
	if a.MaxEventBytes <= 0 {
		a.MaxEventBytes = 10240
	}
	if a.MaxPresenceMembers <= 0 {
		a.MaxPresenceMembers = 100
	}
	return nil
}

// Config configures a Server. The zero value plus one App is usable.
type Config struct {
	Apps []App
	// Addr is where ListenAndServe listens by default (SHARPJOB_WS_ADDR, ":6001").
	Addr string
	// RedisURL selects the Redis broker and store; empty means in-memory (one node).
	RedisURL string
	// RedisPrefix prefixes every Redis key and pub/sub channel ("sharpjob:rt").
	RedisPrefix string
	// NodeID names this node in the shared store; random when empty.
	NodeID string
	// WebhookURLs receive every app's webhooks (PUSHER_WEBHOOK_URLS).
	WebhookURLs []string
	// ActivityTimeout is announced in connection_established and is how long a
	// socket may stay silent before the server pings it (120 s).
	ActivityTimeout time.Duration
	// PongTimeout is how long the server waits for a pong before closing with 4201 (30 s).
	PongTimeout time.Duration
	// UnsubscribedTimeout closes with 4202 a socket that has neither subscribed
	// to a channel nor signed in for this long; 0 disables it.
	UnsubscribedTimeout time.Duration
	// WebhookDelay delays channel_vacated and member_removed; they are dropped
	// when the channel or member comes back meanwhile (3 s).
	WebhookDelay time.Duration
	// WebhookBatchWindow gathers webhook events into one request (50 ms).
	WebhookBatchWindow time.Duration
	// WebhookRetries is how many times a failed webhook request is retried (5).
	WebhookRetries int
	// HeartbeatInterval is how often the node refreshes its liveness in the
	// store; a node silent for 3 intervals is reaped by the others (5 s).
	HeartbeatInterval time.Duration
	// CacheTTL is how long a cache channel keeps its last event (30 min).
	CacheTTL time.Duration
	// MaxSendQueue is how many frames may wait for a slow socket before it is
	// closed with 4100 (1024).
	MaxSendQueue int
	// TLSCertFile and TLSKeyFile, when set, make Serve and ListenAndServe
	// speak TLS (wss:// and https://) (SHARPJOB_WS_TLS_CERT, SHARPJOB_WS_TLS_KEY).
	TLSCertFile, TLSKeyFile string
	// AllowedOrigins, when not empty, restricts WebSocket Origins.
	AllowedOrigins []string
}

func (c *Config) normalize() error {
	if len(c.Apps) == 0 {
		return errors.New("realtime: no app configured")
	}
	seenID, seenKey := map[string]bool{}, map[string]bool{}
	for i := range c.Apps {
		if err := c.Apps[i].normalize(); err != nil {
			return fmt.Errorf("realtime: app %d: %w", i, err)
		}
		if seenID[c.Apps[i].ID] || seenKey[c.Apps[i].Key] {
			return fmt.Errorf("realtime: app %q: duplicate id or key", c.Apps[i].ID)
		}
		seenID[c.Apps[i].ID], seenKey[c.Apps[i].Key] = true, true
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.ActivityTimeout, 120*time.Second)
	def(&c.PongTimeout, 30*time.Second)
	def(&c.WebhookDelay, 3*time.Second)
	def(&c.WebhookBatchWindow, 50*time.Millisecond)
	def(&c.HeartbeatInterval, 5*time.Second)
	def(&c.CacheTTL, 30*time.Minute)
	if c.WebhookRetries <= 0 {
		c.WebhookRetries = 5
	}
	if c.MaxSendQueue <= 0 {
		c.MaxSendQueue = 1024
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return errors.New("realtime: TLS needs both a certificate and a key file")
	}
	if c.Addr == "" {
		c.Addr = ":6001"
	}
	if c.RedisPrefix == "" {
		c.RedisPrefix = "sharpjob:rt"
	}
	return nil
}

// ConfigFromEnv reads the configuration from the environment:
//
//	PUSHER_APP_ID, PUSHER_APP_KEY, PUSHER_APP_SECRET  the default app (mysharpjob / mysharpjob-key / mysharpjob-secret)
//	PUSHER_ENCRYPTION_MASTER_KEY_BASE64  32-byte key for private-encrypted- channels (optional)
//	PUSHER_APPS_FILE          optional JSON array of App objects, added after the default app
//	PUSHER_WEBHOOK_URLS       comma-separated webhook receivers
//	PUSHER_MAX_CONNECTIONS, PUSHER_MAX_EVENT_BYTES, PUSHER_MAX_CLIENT_EVENTS  limits of the default app
//	REDIS_URL                 empty: in-memory, one node
//	SHARPJOB_WS_ADDR          listen address (:6001)
//	SHARPJOB_NODE_ID          node name in the shared store (random)
//	SHARPJOB_WS_TLS_CERT, SHARPJOB_WS_TLS_KEY  PEM files: serve wss:// and https://
//	SHARPJOB_WS_ALLOWED_ORIGINS  comma-separated WebSocket Origins allowed (all when empty)
//	SHARPJOB_WS_ACTIVITY_TIMEOUT, SHARPJOB_WS_PONG_TIMEOUT  durations (120s, 30s)
func ConfigFromEnv() (Config, error) {
	env := func(k, d string) string {
		if v := os.Getenv(k); v != "" {
			return v
		}
		return d
	}
	app := App{
		ID:     env("PUSHER_APP_ID", "mysharpjob"),
		Key:    env("PUSHER_APP_KEY", "mysharpjob-key"),
		Secret: env("PUSHER_APP_SECRET", "mysharpjob-secret"),
		// Laravel's name for it is PUSHER_ENCRYPTION_MASTER_KEY_BASE64 too.
		EncryptionMasterKeyBase64: os.Getenv("PUSHER_ENCRYPTION_MASTER_KEY_BASE64"),
	}
	for k, p := range map[string]*int{
		"PUSHER_MAX_CONNECTIONS":    &app.MaxConnections,
		"PUSHER_MAX_EVENT_BYTES":    &app.MaxEventBytes,
		"PUSHER_MAX_CLIENT_EVENTS":  &app.MaxClientEventsPerSecond,
		"PUSHER_MAX_PRESENCE_USERS": &app.MaxPresenceMembers,
	} {
		if v := os.Getenv(k); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return Config{}, fmt.Errorf("realtime: %s: %w", k, err)
			}
			*p = n
		}
	}
	cfg := Config{
		Apps:     []App{app},
		Addr:     env("SHARPJOB_WS_ADDR", ":6001"),
		RedisURL: os.Getenv("REDIS_URL"),
		NodeID:   os.Getenv("SHARPJOB_NODE_ID"),

		TLSCertFile: os.Getenv("SHARPJOB_WS_TLS_CERT"),
		TLSKeyFile:  os.Getenv("SHARPJOB_WS_TLS_KEY"),
	}
	if f := os.Getenv("PUSHER_APPS_FILE"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return Config{}, fmt.Errorf("realtime: apps file: %w", err)
		}
		var more []App
		if err := json.Unmarshal(b, &more); err != nil {
			return Config{}, fmt.Errorf("realtime: apps file %s: %w", f, err)
		}
		cfg.Apps = append(cfg.Apps, more...)
	}
	for _, u := range strings.Split(os.Getenv("PUSHER_WEBHOOK_URLS"), ",") {
		if u = strings.TrimSpace(u); u != "" {
			cfg.WebhookURLs = append(cfg.WebhookURLs, u)
		}
	}
	for _, o := range strings.Split(os.Getenv("SHARPJOB_WS_ALLOWED_ORIGINS"), ",") {
		if o = strings.TrimSpace(o); o != "" {
			cfg.AllowedOrigins = append(cfg.AllowedOrigins, o)
		}
	}
	for k, p := range map[string]*time.Duration{
		"SHARPJOB_WS_ACTIVITY_TIMEOUT": &cfg.ActivityTimeout,
		"SHARPJOB_WS_PONG_TIMEOUT":     &cfg.PongTimeout,
	} {
		if v := os.Getenv(k); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				return Config{}, fmt.Errorf("realtime: %s: %w", k, err)
			}
			*p = d
		}
	}
	if err := cfg.normalize(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}
