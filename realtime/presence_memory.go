package realtime

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"
)

// MemoryStore is an in-process PresenceStore. Several Servers sharing one
// behave as a cluster.
type MemoryStore struct {
	mu    sync.Mutex
	chans map[string]*memChannel // app + "\n" + channel
	cache map[string]memCache
	nodes map[string]time.Time // node → liveness deadline
	now   func() time.Time
}

type memChannel struct {
	members map[string]Member // node|socket
	users   map[string]int
}

type memCache struct {
	frame []byte
	until time.Time
}

// NewMemoryStore returns an empty in-process store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{chans: map[string]*memChannel{}, cache: map[string]memCache{}, nodes: map[string]time.Time{}, now: time.Now}
}

var _ PresenceStore = (*MemoryStore)(nil)

func memKey(app, channel string) string { return app + "\n" + channel }

// Join adds m to the channel.
func (s *MemoryStore) Join(_ context.Context, app, channel string, m Member) (JoinResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := memKey(app, channel)
	c := s.chans[k]
	if c == nil {
		c = &memChannel{members: map[string]Member{}, users: map[string]int{}}
		s.chans[k] = c
	}
	f := m.Node + "|" + m.SocketID
	var r JoinResult
	if _, ok := c.members[f]; !ok {
		r.Added = true
		c.members[f] = m
		if m.UserID != "" {
			c.users[m.UserID]++
			r.NewUser = c.users[m.UserID] == 1
		}
	}
	r.Subscriptions, r.Users = len(c.members), len(c.users)
	return r, nil
}

// Leave removes a socket from the channel.
func (s *MemoryStore) Leave(_ context.Context, app, channel, node, socketID string, _ bool) (LeaveResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.leaveLocked(app, channel, node+"|"+socketID), nil
}

func (s *MemoryStore) leaveLocked(app, channel, field string) LeaveResult {
	k := memKey(app, channel)
	c := s.chans[k]
	var r LeaveResult
	if c == nil {
		return r
	}
	if m, ok := c.members[field]; ok {
		r.Removed = true
		delete(c.members, field)
		r.UserID = m.UserID
		if m.UserID != "" {
			c.users[m.UserID]--
			if c.users[m.UserID] <= 0 {
				delete(c.users, m.UserID)
				r.UserGone = true
			}
		}
	}
	r.Subscriptions = len(c.members)
	if r.Subscriptions == 0 {
		delete(s.chans, k)
	}
	return r
}

// Info returns the channel's counts.
func (s *MemoryStore) Info(_ context.Context, app, channel string) (ChannelInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chans[memKey(app, channel)]
	if c == nil {
		return ChannelInfo{}, nil
	}
	return ChannelInfo{Subscriptions: len(c.members), Users: len(c.users)}, nil
}

// Members returns one member per user, sorted by user id.
func (s *MemoryStore) Members(_ context.Context, app, channel string) ([]Member, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chans[memKey(app, channel)]
	if c == nil {
		return nil, nil
	}
	seen := map[string]bool{}
	var out []Member
	for _, m := range c.members {
		if m.UserID == "" || seen[m.UserID] {
			continue
		}
		seen[m.UserID] = true
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UserID < out[j].UserID })
	return out, nil
}

// Channels lists occupied channels by prefix.
func (s *MemoryStore) Channels(_ context.Context, app, prefix string) (map[string]ChannelInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]ChannelInfo{}
	for k, c := range s.chans {
		a, ch, _ := strings.Cut(k, "\n")
		if a != app || !strings.HasPrefix(ch, prefix) || len(c.members) == 0 {
			continue
		}
		out[ch] = ChannelInfo{Subscriptions: len(c.members), Users: len(c.users)}
	}
	return out, nil
}

// SetCache keeps the last event of a cache channel.
func (s *MemoryStore) SetCache(_ context.Context, app, channel string, frame []byte, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cache[memKey(app, channel)] = memCache{frame: append([]byte(nil), frame...), until: s.now().Add(ttl)}
	return nil
}

// GetCache returns the last event of a cache channel.
func (s *MemoryStore) GetCache(_ context.Context, app, channel string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cache[memKey(app, channel)]
	if !ok || s.now().After(c.until) {
		return nil, false, nil
	}
	return c.frame, true, nil
}

// Heartbeat marks node alive for ttl.
func (s *MemoryStore) Heartbeat(_ context.Context, node string, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nodes[node] = s.now().Add(ttl)
	return nil
}

// Reap removes the subscriptions of dead nodes (and of gone).
func (s *MemoryStore) Reap(_ context.Context, gone string) ([]Reaped, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	dead := map[string]bool{}
	now := s.now()
	for n, until := range s.nodes {
		if now.After(until) {
			dead[n] = true
			delete(s.nodes, n)
		}
	}
	if gone != "" {
		dead[gone] = true
		delete(s.nodes, gone)
	}
	var out []Reaped
	for k, c := range s.chans {
		app, ch, _ := strings.Cut(k, "\n")
		for f, m := range c.members {
			if dead[m.Node] {
				out = append(out, Reaped{App: app, Channel: ch, LeaveResult: s.leaveLocked(app, ch, f)})
			}
		}
	}
	return out, nil
}

// Close does nothing.
func (s *MemoryStore) Close() error { return nil }

func sortMembers(ms []Member) {
	sort.Slice(ms, func(i, j int) bool { return ms[i].UserID < ms[j].UserID })
}
