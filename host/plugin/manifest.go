package plugin

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"
)

// Manifest is the file that ships beside a plugin's .wasm (NAME.json): who it is,
// which routes it serves, what it may touch and how much it may use.
type Manifest struct {
	Name         string       `json:"name"`
	Version      string       `json:"version"`
	Routes       []Route      `json:"routes"`
	Capabilities Capabilities `json:"capabilities"`
	Limits       Limits       `json:"limits"`
}

// Route is one method + path pattern; {name} captures a segment.
type Route struct {
	Method string `json:"method"`
	Path   string `json:"path"`
}

func (r Route) String() string { return r.Method + " " + r.Path }

// Capabilities is everything a plugin may reach. Anything not named is refused.
type Capabilities struct {
	// Tables maps a table name to "r" or "rw".
	Tables map[string]string `json:"tables"`
	// Broadcast lists channel patterns; a trailing * matches any suffix.
	Broadcast []string `json:"broadcast"`
	// Config lists the configuration keys the plugin may read.
	Config []string `json:"config"`
}

// Limits bound one plugin's instances.
type Limits struct {
	MemoryPages uint32 `json:"memory_pages"` // 64 KiB pages per instance
	TimeoutMS   int    `json:"timeout_ms"`   // per request
	Instances   int    `json:"instances"`    // warm instances kept
	MaxRequests int    `json:"max_requests"` // recycle an instance after this many
}

var (
	nameRE    = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,39}$`)
	versionRE = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$`)
	segmentRE = regexp.MustCompile(`^(\{[a-z_][a-z0-9_]*\}|[A-Za-z0-9._~-]+)$`)
	tableRE   = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
	methods   = map[string]bool{"GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true}
)

// ReadManifest loads and validates a manifest file.
func ReadManifest(path string) (Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Manifest{}, err
	}
	return ParseManifest(b)
}

// ParseManifest decodes and validates a manifest, filling limit defaults.
func ParseManifest(b []byte) (Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("manifest: %w", err)
	}
	return m, m.validate()
}

func (m *Manifest) validate() error {
	if !nameRE.MatchString(m.Name) {
		return fmt.Errorf("manifest: name %q: want lower-case letters, digits, - or _", m.Name)
	}
	if !versionRE.MatchString(m.Version) {
		return fmt.Errorf("manifest %s: version %q is not semantic (1.2.3)", m.Name, m.Version)
	}
	if len(m.Routes) == 0 {
		return fmt.Errorf("manifest %s: no routes", m.Name)
	}
	for _, r := range m.Routes {
		if !methods[r.Method] {
			return fmt.Errorf("manifest %s: route %s: unknown method", m.Name, r)
		}
		if !strings.HasPrefix(r.Path, "/api/") {
			return fmt.Errorf("manifest %s: route %s: plugin routes live under /api/", m.Name, r)
		}
		for _, seg := range strings.Split(strings.Trim(r.Path, "/"), "/") {
			if !segmentRE.MatchString(seg) {
				return fmt.Errorf("manifest %s: route %s: bad segment %q", m.Name, r, seg)
			}
		}
	}
	for t, mode := range m.Capabilities.Tables {
		if !tableRE.MatchString(t) || strings.HasPrefix(t, "sqlite_") {
			return fmt.Errorf("manifest %s: table %q is not grantable", m.Name, t)
		}
		if mode != "r" && mode != "rw" {
			return fmt.Errorf("manifest %s: table %s: access %q, want r or rw", m.Name, t, mode)
		}
	}
	for _, c := range m.Capabilities.Broadcast {
		if c == "" || strings.Contains(strings.TrimSuffix(c, "*"), "*") {
			return fmt.Errorf("manifest %s: broadcast pattern %q: only a trailing * is allowed", m.Name, c)
		}
	}
	l := &m.Limits
	if l.MemoryPages == 0 {
		l.MemoryPages = 1024 // 64 MiB
	}
	if l.MemoryPages > 16384 {
		return fmt.Errorf("manifest %s: memory_pages %d over the 1 GiB ceiling", m.Name, l.MemoryPages)
	}
	if l.TimeoutMS <= 0 {
		l.TimeoutMS = 2000
	}
	if l.Instances <= 0 {
		l.Instances = 4
	}
	if l.MaxRequests <= 0 {
		l.MaxRequests = 100_000
	}
	return nil
}

// Timeout is the per-request deadline.
func (m *Manifest) Timeout() time.Duration {
	return time.Duration(m.Limits.TimeoutMS) * time.Millisecond
}

// ID is name@version, the X-Plugin header's value.
func (m *Manifest) ID() string { return m.Name + "@" + m.Version }

// mayBroadcast reports whether channel matches one of the manifest's patterns.
func (c *Capabilities) mayBroadcast(channel string) bool {
	for _, p := range c.Broadcast {
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			if strings.HasPrefix(channel, prefix) && len(channel) > len(prefix) {
				return true
			}
		} else if p == channel {
			return true
		}
	}
	return false
}

func (c *Capabilities) mayConfig(key string) bool {
	for _, k := range c.Config {
		if k == key {
			return true
		}
	}
	return false
}
