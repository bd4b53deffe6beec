package realtime

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// RedisBroker is a Broker over Redis pub/sub: one Redis channel per cluster.
type RedisBroker struct {
	rdb   redis.UniversalClient
	topic string
}

var _ Broker = (*RedisBroker)(nil)

// NewRedisBroker uses rdb; every node with the same prefix forms one cluster.
func NewRedisBroker(rdb redis.UniversalClient, prefix string) *RedisBroker {
	return &RedisBroker{rdb: rdb, topic: prefix + ":bus"}
}

// Publish sends m to every node.
func (b *RedisBroker) Publish(ctx context.Context, m Message) error {
	p, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := b.rdb.Publish(ctx, b.topic, p).Err(); err != nil {
		return fmt.Errorf("redis broker: publish: %w", err)
	}
	return nil
}

// Subscribe delivers messages to handler until ctx ends. It returns once the
// subscription is confirmed, so nothing published afterwards is missed.
func (b *RedisBroker) Subscribe(ctx context.Context, handler func(Message)) error {
	ps := b.rdb.Subscribe(ctx, b.topic)
	if _, err := ps.Receive(ctx); err != nil {
		ps.Close()
		return fmt.Errorf("redis broker: subscribe: %w", err)
	}
	ch := ps.Channel(redis.WithChannelSize(4096))
	go func() {
		defer ps.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case msg, ok := <-ch:
				if !ok {
					return
				}
				var m Message
				if json.Unmarshal([]byte(msg.Payload), &m) == nil {
					handler(m)
				}
			}
		}
	}()
	return nil
}

// Close does nothing: the Redis client belongs to the caller.
func (b *RedisBroker) Close() error { return nil }
