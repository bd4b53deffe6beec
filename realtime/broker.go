package realtime

import "context"

// Message is what nodes exchange over a Broker.
type Message struct {
	Node    string `json:"n"`           // sending node; receivers skip their own
	App     string `json:"a"`           // app id
	Kind    string `json:"k,omitempty"` // "" event, "terminate" a user's connections, "watch" online/offline (Data) of UserID
	Channel string `json:"c,omitempty"`
	Event   string `json:"e,omitempty"`
	Data    string `json:"d,omitempty"` // the data string; JSON text when Raw
	Raw     bool   `json:"r,omitempty"` // Data is relayed as JSON, not as a string (client events)
	Exclude string `json:"x,omitempty"` // socket id that must not receive it
	UserID  string `json:"u,omitempty"` // user_id of a presence client event; the user for "terminate"
}

// Broker carries messages between the nodes of a cluster. Publish must
// deliver to every subscribed node, including the sender (which skips it).
// Messages from one publisher arrive in order.
type Broker interface {
	Publish(ctx context.Context, m Message) error
	// Subscribe registers the handler; it is called from one goroutine, in order.
	Subscribe(ctx context.Context, handler func(Message)) error
	Close() error
}
