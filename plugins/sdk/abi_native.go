//go:build !wasip1

package sdk

// The native backend: the same handlers linked into a Go program, calling a Host the
// program supplies with the very bytes the Wasm ABI would carry. The edge host uses it
// for the native baseline in its benchmarks; tests may use it to unit-test handlers.

// Host answers capability calls for natively linked handlers.
type Host interface {
	// Call runs capability fn ("db_query", "db_exec", "db_batch", "broadcast") on the
	// encoded request and returns the encoded answer, or the host's error.
	Call(fn string, req []byte) ([]byte, error)
	Config(key string) (string, bool)
	Log(level int, msg string)
}

var native Host

// Serve is a no-op natively: the host calls the router itself.
func Serve(*Router) {}

// UseHost installs the host natively linked handlers call. Not for concurrent use
// with different hosts.
func UseHost(h Host) { native = h }

func call(fn string, req []byte) ([]byte, error) {
	out, err := native.Call(fn, req)
	if err != nil {
		return nil, &HostError{Msg: err.Error()}
	}
	return out, nil
}

func Config(key string) (string, bool) { return native.Config(key) }

func Log(level int, msg string) { native.Log(level, msg) }
