package realtime

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	pusher "github.com/pusher/pusher-http-go/v5"
)

// Event is what the host publishes (a plugin's broadcast).
type Event struct {
	Channels []string
	Name     string
	// Data is JSON text, delivered as a string like Pusher does.
	Data string
	// SocketID, when set, is excluded from delivery.
	SocketID string
}

// Publisher is the host's seam: in-process (the Server itself) or over the
// Pusher HTTP API.
type Publisher interface {
	Publish(ctx context.Context, e Event) error
}

type serverPublisher struct {
	s *Server
	a *appState
}

// Publisher returns an in-process Publisher for the app (no HTTP hop). An
// unknown app id yields a Publisher whose Publish fails.
func (s *Server) Publisher(appID string) Publisher {
	return serverPublisher{s: s, a: s.apps[appID]}
}

func (p serverPublisher) Publish(ctx context.Context, e Event) error {
	if p.a == nil {
		return errUnknownApp
	}
	if err := e.validate(p.a.app.MaxEventBytes, 100); err != nil {
		return fmt.Errorf("realtime: publish %s: %w", e.Name, err)
	}
	var plain []string
	for _, ch := range e.Channels {
		if !isEncrypted(ch) {
			plain = append(plain, ch)
			continue
		}
		key, _ := base64.StdEncoding.DecodeString(p.a.app.EncryptionMasterKeyBase64)
		sealed, err := encryptData(ch, e.Data, key)
		if err != nil {
			return fmt.Errorf("realtime: publish %s on %s: %w", e.Name, ch, err)
		}
		one := e
		one.Channels, one.Data = []string{ch}, sealed
		if err := p.s.publishEvent(ctx, p.a, one); err != nil {
			return err
		}
	}
	if len(plain) == 0 {
		return nil
	}
	e.Channels = plain
	return p.s.publishEvent(ctx, p.a, e)
}

type httpPublisher struct{ c *pusher.Client }

// PublisherOption configures NewHTTPPublisher.
type PublisherOption func(*pusher.Client)

// WithEncryptionMasterKey sets the base64 32-byte master key, so events on
// private-encrypted- channels are encrypted by the SDK before they leave.
func WithEncryptionMasterKey(base64Key string) PublisherOption {
	return func(c *pusher.Client) { c.EncryptionMasterKeyBase64 = base64Key }
}

// NewHTTPPublisher publishes over the Pusher HTTP API with the official Go
// SDK, so it works against any Pusher-compatible server.
func NewHTTPPublisher(host string, port int, scheme, appID, key, secret string, opts ...PublisherOption) Publisher {
	h := host
	if port > 0 {
		h = host + ":" + strconv.Itoa(port)
	}
	c := &pusher.Client{
		AppID: appID, Key: key, Secret: secret, Host: h, Secure: scheme == "https",
		HTTPClient: &http.Client{Timeout: 10 * time.Second},
	}
	for _, o := range opts {
		o(c)
	}
	return httpPublisher{c: c}
}

func (p httpPublisher) Publish(ctx context.Context, e Event) error {
	if len(e.Channels) == 0 {
		return errors.New("realtime: publish: no channels")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	params := pusher.TriggerParams{}
	if e.SocketID != "" {
		params.SocketID = &e.SocketID
	}
	// The SDK encrypts for one encrypted channel per request.
	var plain []string
	for _, ch := range e.Channels {
		if !isEncrypted(ch) {
			plain = append(plain, ch)
			continue
		}
		if _, err := p.c.TriggerMultiWithParams([]string{ch}, e.Name, e.Data, params); err != nil {
			return fmt.Errorf("realtime: publish %s on %s over HTTP: %w", e.Name, ch, err)
		}
	}
	if len(plain) == 0 {
		return nil
	}
	if _, err := p.c.TriggerMultiWithParams(plain, e.Name, e.Data, params); err != nil {
		return fmt.Errorf("realtime: publish %s over HTTP: %w", e.Name, err)
	}
	return nil
}
