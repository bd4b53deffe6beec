package realtime

import (
	"context"
	"encoding/json"
	"time"
)

// Member is one socket's subscription to a channel. UserID and UserInfo are
// set for presence channels only.
type Member struct {
	Node     string          `json:"node"`
	SocketID string          `json:"socket_id"`
	UserID   string          `json:"user_id"`
	UserInfo json.RawMessage `json:"user_info,omitempty"`
}

// JoinResult says what a subscription changed.
type JoinResult struct {
	Subscriptions int  // sockets in the channel after the join, across nodes
	Users         int  // distinct presence users after the join
	NewUser       bool // the user had no other socket in the channel
	Added         bool // false when the socket was already subscribed
}

// LeaveResult says what an unsubscription changed.
type LeaveResult struct {
	Subscriptions int    // sockets left in the channel
	UserID        string // the presence user of the socket
	UserGone      bool   // it was the user's last socket in the channel
	Removed       bool   // false when the socket was not subscribed
}

// ChannelInfo is a channel's counts.
type ChannelInfo struct {
	Subscriptions int
	Users         int
}

// Reaped is one subscription of a dead node, removed by Reap.
type Reaped struct {
	App, Channel string
	LeaveResult
}

// PresenceStore holds the channel state shared by the nodes of a cluster:
// which sockets are in which channel (so occupancy and subscription counts
// are global), presence members (one per user id however many sockets), the
// last event of cache channels, and node liveness. Join and Leave are atomic:
// exactly one caller sees a channel become occupied or vacated, and a user
// arrive or go.
type PresenceStore interface {
	Join(ctx context.Context, app, channel string, m Member) (JoinResult, error)
	// Leave removes a socket; lastLocal says it was this node's last socket in the channel.
	Leave(ctx context.Context, app, channel, node, socketID string, lastLocal bool) (LeaveResult, error)
	Info(ctx context.Context, app, channel string) (ChannelInfo, error)
	// Members returns one Member per presence user.
	Members(ctx context.Context, app, channel string) ([]Member, error)
	// Channels returns the occupied channels whose name starts with prefix.
	Channels(ctx context.Context, app, prefix string) (map[string]ChannelInfo, error)
	SetCache(ctx context.Context, app, channel string, frame []byte, ttl time.Duration) error
	GetCache(ctx context.Context, app, channel string) ([]byte, bool, error)
	// Heartbeat marks node alive for ttl.
	Heartbeat(ctx context.Context, node string, ttl time.Duration) error
	// Reap removes every subscription of nodes whose heartbeat expired, and
	// of node gone when it is not empty (a node shutting down).
	Reap(ctx context.Context, gone string) ([]Reaped, error)
	Close() error
}
