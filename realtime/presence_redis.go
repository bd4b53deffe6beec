package realtime

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisStore is a PresenceStore in Redis. Keys (P is the prefix):
//
//	P:c:{app}:{channel}   hash node|socket → user_id "\n" user_info
//	P:u:{app}:{channel}   hash user_id → sockets of that user in the channel
//	P:chans:{app}         set of occupied channels
//	P:nodechans:{node}    set of app "\n" channel the node has sockets in
//	P:nodes               zset node → liveness deadline (unix ms)
//	P:cache:{app}:{channel}  last event frame of a cache channel (with TTL)
//
// Join and Leave are Lua scripts, so they are atomic across nodes.
type RedisStore struct {
	rdb redis.UniversalClient
	p   string
}

var _ PresenceStore = (*RedisStore)(nil)

// NewRedisStore uses rdb with the key prefix.
func NewRedisStore(rdb redis.UniversalClient, prefix string) *RedisStore {
	return &RedisStore{rdb: rdb, p: prefix}
}

func (s *RedisStore) ckey(app, ch string) string { return s.p + ":c:" + app + ":" + ch }
func (s *RedisStore) ukey(app, ch string) string { return s.p + ":u:" + app + ":" + ch }
func (s *RedisStore) chansKey(app string) string { return s.p + ":chans:" + app }
func (s *RedisStore) nodeKey(node string) string { return s.p + ":nodechans:" + node }

var joinScript = redis.NewScript(`
local added = redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
local new = 0
if added == 1 and ARGV[3] ~= '' then
  if redis.call('HINCRBY', KEYS[2], ARGV[3], 1) == 1 then new = 1 end
end
redis.call('SADD', KEYS[3], ARGV[4])
redis.call('SADD', KEYS[4], ARGV[5])
return {redis.call('HLEN', KEYS[1]), redis.call('HLEN', KEYS[2]), new, added}
`)

var leaveScript = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[4] == '1' then redis.call('SREM', KEYS[4], ARGV[3]) end
if not v then return {redis.call('HLEN', KEYS[1]), '', 0, 0} end
redis.call('HDEL', KEYS[1], ARGV[1])
local i = string.find(v, '\n', 1, true)
local user = ''
if i then user = string.sub(v, 1, i - 1) end
local gone = 0
if user ~= '' then
  if redis.call('HINCRBY', KEYS[2], user, -1) <= 0 then
    redis.call('HDEL', KEYS[2], user)
    gone = 1
  end
end
local n = redis.call('HLEN', KEYS[1])
if n == 0 then redis.call('SREM', KEYS[3], ARGV[2]) end
return {n, user, gone, 1}
`)

// Join adds m to the channel.
func (s *RedisStore) Join(ctx context.Context, app, channel string, m Member) (JoinResult, error) {
	v := m.UserID + "\n" + string(m.UserInfo)
	res, err := joinScript.Run(ctx, s.rdb,
		[]string{s.ckey(app, channel), s.ukey(app, channel), s.chansKey(app), s.nodeKey(m.Node)},
		m.Node+"|"+m.SocketID, v, m.UserID, channel, app+"\n"+channel).Slice()
	if err != nil {
		return JoinResult{}, fmt.Errorf("redis store: join %s: %w", channel, err)
	}
	return JoinResult{Subscriptions: toInt(res[0]), Users: toInt(res[1]), NewUser: toInt(res[2]) == 1, Added: toInt(res[3]) == 1}, nil
}

// Leave removes a socket from the channel.
func (s *RedisStore) Leave(ctx context.Context, app, channel, node, socketID string, lastLocal bool) (LeaveResult, error) {
	ll := "0"
	if lastLocal {
		ll = "1"
	}
	return s.leave(ctx, app, channel, node, node+"|"+socketID, ll)
}

func (s *RedisStore) leave(ctx context.Context, app, channel, node, field, lastLocal string) (LeaveResult, error) {
	res, err := leaveScript.Run(ctx, s.rdb,
		[]string{s.ckey(app, channel), s.ukey(app, channel), s.chansKey(app), s.nodeKey(node)},
		field, channel, app+"\n"+channel, lastLocal).Slice()
	if err != nil {
		return LeaveResult{}, fmt.Errorf("redis store: leave %s: %w", channel, err)
	}
	user, _ := res[1].(string)
	return LeaveResult{Subscriptions: toInt(res[0]), UserID: user, UserGone: toInt(res[2]) == 1, Removed: toInt(res[3]) == 1}, nil
}

func toInt(v any) int {
	n, _ := v.(int64)
	return int(n)
}

// Info returns the channel's counts.
func (s *RedisStore) Info(ctx context.Context, app, channel string) (ChannelInfo, error) {
	pipe := s.rdb.Pipeline()
	a := pipe.HLen(ctx, s.ckey(app, channel))
	b := pipe.HLen(ctx, s.ukey(app, channel))
	if _, err := pipe.Exec(ctx); err != nil {
		return ChannelInfo{}, fmt.Errorf("redis store: info %s: %w", channel, err)
	}
	return ChannelInfo{Subscriptions: int(a.Val()), Users: int(b.Val())}, nil
}

// Members returns one member per user.
func (s *RedisStore) Members(ctx context.Context, app, channel string) ([]Member, error) {
	all, err := s.rdb.HGetAll(ctx, s.ckey(app, channel)).Result()
	if err != nil {
		return nil, fmt.Errorf("redis store: members %s: %w", channel, err)
	}
	seen := map[string]bool{}
	var out []Member
	for f, v := range all {
		user, info, _ := strings.Cut(v, "\n")
		if user == "" || seen[user] {
			continue
		}
		seen[user] = true
		node, sock, _ := strings.Cut(f, "|")
		m := Member{Node: node, SocketID: sock, UserID: user}
		if info != "" {
			m.UserInfo = []byte(info)
		}
		out = append(out, m)
	}
	sortMembers(out)
	return out, nil
}

// Channels lists occupied channels by prefix.
func (s *RedisStore) Channels(ctx context.Context, app, prefix string) (map[string]ChannelInfo, error) {
	names, err := s.rdb.SMembers(ctx, s.chansKey(app)).Result()
	if err != nil {
		return nil, fmt.Errorf("redis store: channels: %w", err)
	}
	var keep []string
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			keep = append(keep, n)
		}
	}
	pipe := s.rdb.Pipeline()
	subs := make([]*redis.IntCmd, len(keep))
	users := make([]*redis.IntCmd, len(keep))
	for i, n := range keep {
		subs[i] = pipe.HLen(ctx, s.ckey(app, n))
		users[i] = pipe.HLen(ctx, s.ukey(app, n))
	}
	if len(keep) > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("redis store: channels: %w", err)
		}
	}
	out := map[string]ChannelInfo{}
	for i, n := range keep {
		if subs[i].Val() > 0 {
			out[n] = ChannelInfo{Subscriptions: int(subs[i].Val()), Users: int(users[i].Val())}
		}
	}
	return out, nil
}

// SetCache keeps the last event of a cache channel.
func (s *RedisStore) SetCache(ctx context.Context, app, channel string, frame []byte, ttl time.Duration) error {
	return s.rdb.Set(ctx, s.p+":cache:"+app+":"+channel, frame, ttl).Err()
}

// GetCache returns the last event of a cache channel.
func (s *RedisStore) GetCache(ctx context.Context, app, channel string) ([]byte, bool, error) {
	b, err := s.rdb.Get(ctx, s.p+":cache:"+app+":"+channel).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return b, true, nil
}

// Heartbeat marks node alive for ttl.
func (s *RedisStore) Heartbeat(ctx context.Context, node string, ttl time.Duration) error {
	return s.rdb.ZAdd(ctx, s.p+":nodes", redis.Z{Score: float64(time.Now().Add(ttl).UnixMilli()), Member: node}).Err()
}

// Reap removes the subscriptions of dead nodes (and of gone). One node wins
// each dead node's reaping through a lock.
func (s *RedisStore) Reap(ctx context.Context, gone string) ([]Reaped, error) {
	dead, err := s.rdb.ZRangeByScore(ctx, s.p+":nodes", &redis.ZRangeBy{Min: "-inf", Max: fmt.Sprint(time.Now().UnixMilli())}).Result()
	if err != nil {
		return nil, fmt.Errorf("redis store: reap: %w", err)
	}
	if gone != "" {
		dead = append(dead, gone)
	}
	var out []Reaped
	for _, node := range dead {
		ok, err := s.rdb.SetNX(ctx, s.p+":reap:"+node, "1", time.Minute).Result()
		if err != nil || !ok {
			continue
		}
		entries, err := s.rdb.SMembers(ctx, s.nodeKey(node)).Result()
		if err != nil {
			return out, err
		}
		for _, e := range entries {
			app, ch, _ := strings.Cut(e, "\n")
			fields, err := s.rdb.HKeys(ctx, s.ckey(app, ch)).Result()
			if err != nil {
				return out, err
			}
			for _, f := range fields {
				if !strings.HasPrefix(f, node+"|") {
					continue
				}
				r, err := s.leave(ctx, app, ch, node, f, "0")
				if err != nil {
					return out, err
				}
				if r.Removed {
					out = append(out, Reaped{App: app, Channel: ch, LeaveResult: r})
				}
			}
		}
		s.rdb.Del(ctx, s.nodeKey(node), s.p+":reap:"+node)
		s.rdb.ZRem(ctx, s.p+":nodes", node)
	}
	return out, nil
}

// Close does nothing: the Redis client belongs to the caller.
func (s *RedisStore) Close() error { return nil }
