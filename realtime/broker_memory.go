package realtime

import (
	"context"
	"sync"
)

// MemoryBroker is an in-process Broker. Several Servers sharing one behave
// as a cluster, which the tests use.
type MemoryBroker struct {
	mu       sync.RWMutex
	handlers []*memorySub
	closed   bool
}

type memorySub struct {
	ch   chan Message
	done chan struct{}
}

// NewMemoryBroker returns an empty in-process broker.
func NewMemoryBroker() *MemoryBroker { return &MemoryBroker{} }

var _ Broker = (*MemoryBroker)(nil)

// Publish hands m to every subscriber, in order per subscriber.
func (b *MemoryBroker) Publish(ctx context.Context, m Message) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, s := range b.handlers {
		select {
		case s.ch <- m:
		case <-s.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Subscribe starts delivering to handler until ctx ends or the broker closes.
func (b *MemoryBroker) Subscribe(ctx context.Context, handler func(Message)) error {
	s := &memorySub{ch: make(chan Message, 4096), done: make(chan struct{})}
	b.mu.Lock()
	b.handlers = append(b.handlers, s)
	b.mu.Unlock()
	go func() {
		defer close(s.done)
		for {
			select {
			case m := <-s.ch:
				handler(m)
			case <-ctx.Done():
				b.remove(s)
				return
			}
		}
	}()
	return nil
}

func (b *MemoryBroker) remove(s *memorySub) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, h := range b.handlers {
		if h == s {
			b.handlers = append(b.handlers[:i], b.handlers[i+1:]...)
			return
		}
	}
}

// Close is a no-op; subscriptions end with their contexts.
func (b *MemoryBroker) Close() error { return nil }
