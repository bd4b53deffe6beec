package plugin

// The host side of the plugin ABI. The guest side, with the same table, is
// plugins/sdk/abi_wasm.go; both encode with plugins/sdk/wire.
//
// A guest must export (else Load refuses it):
//
//	sj_buffer(size i32) -> i32     pointer to a guest buffer of at least size bytes
//	sj_handle(len i32) -> i64      handle the wire.Request at the buffer; the result
//	                               packs ptr<<32 | len of the encoded wire.Response
//
// A request costs one guest call and one bulk copy each way: the host writes the
// request straight into linear memory (the buffer's address is cached until a larger
// request needs sj_buffer again) and reads the response straight out of it.
//
// Module "sharpjob:host", the capabilities, each checked against the manifest:
//
//	db_query(ptr, len, out, cap i32) -> i64   one read statement (wire.EncodeStmts)
//	db_exec (ptr, len, out, cap i32) -> i64   one write statement, RETURNING rows too
//	db_batch(ptr, len, out, cap i32) -> i64   statements in one transaction
//	broadcast(ptr, len, out, cap i32) -> i64  a wire.Broadcast onto the event bus
//	take(ptr i32)                             copy a pending answer to ptr
//
// The answer (wire.EncodeResults, or an error message) is written at out when it fits
// in cap; the result packs status<<32 | length, status 0 ok, 1 error. When length >
// cap the answer waits host-side until the guest allocates and calls take.
//
// Module "extism:host/env", the Extism kernel subset github.com/extism/go-pdk needs:
// alloc, free, length, length_unsafe, load_u8/u64, store_u8/u64 over a per-call
// host-side block arena; config_get (only keys the manifest names); log_* and
// get_log_level; var_get/var_set (per instance); input_*/output_set/error_set (the
// Extism calling convention is not used: always empty); http_request answers "not
// granted" until the http capability exists.

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/mysharpjob/sharpjob/plugins/sdk/wire"
)

type callKey struct{}

// callState is an instance's per-call context, reached by host functions through ctx.
type callState struct {
	version *Version
	reqID   string
	reqLog  *slog.Logger // built on first use: most calls log nothing
	pending []byte

	kmem    []byte            // Extism kernel arena; offsets are index+1
	klen    map[uint64]uint64 // block offset → length
	vars    map[string][]byte
	scratch [8]byte
}

func (c *callState) begin(reqID string) {
	c.reqID, c.reqLog = reqID, nil
	c.pending = nil
	c.kmem = c.kmem[:0]
	if c.klen == nil {
		c.klen = map[uint64]uint64{}
	} else {
		clear(c.klen)
	}
}

func (c *callState) end() { c.pending, c.reqLog = nil, nil }

// log is the plugin's logger tagged with the request id.
func (c *callState) log() *slog.Logger {
	if c.reqLog == nil {
		c.reqLog = c.version.log
		if c.reqID != "" {
			c.reqLog = c.reqLog.With("request_id", c.reqID)
		}
	}
	return c.reqLog
}

func stateOf(ctx context.Context) *callState { return ctx.Value(callKey{}).(*callState) }

var (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

func instantiateHostModules(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder("sharpjob:host")
	for _, name := range []string{fnQuery, fnExec, fnBatch, fnBroadcast} {
		b.NewFunctionBuilder().WithGoModuleFunction(capabilityCall(name), []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i64}).Export(name)
	}
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
		st := stateOf(ctx)
		mod.Memory().Write(uint32(stack[0]), st.pending)
		st.pending = nil
	}), []api.ValueType{i32}, nil).Export("take")
	if _, err := b.Instantiate(ctx); err != nil {
		return err
	}
	return instantiateExtismKernel(ctx, rt)
}

const (
	fnQuery     = "db_query"
	fnExec      = "db_exec"
	fnBatch     = "db_batch"
	fnBroadcast = "broadcast"
)

func capabilityCall(name string) api.GoModuleFunc {
	return func(ctx context.Context, mod api.Module, stack []uint64) {
		st := stateOf(ctx)
		var answer []byte
		var status uint64
		req, ok := mod.Memory().Read(uint32(stack[0]), uint32(stack[1]))
		if !ok {
			status, answer = 1, []byte("request out of range")
		} else if out, err := st.version.host.call(ctx, st.log, name, req); err != nil {
			status, answer = 1, []byte(err.Error())
		} else {
			answer = out
		}
		if uint32(len(answer)) <= uint32(stack[3]) {
			mod.Memory().Write(uint32(stack[2]), answer)
		} else {
			st.pending = answer
		}
		stack[0] = status<<32 | uint64(len(answer))
	}
}

// capHost answers capability calls for one plugin, Wasm or native alike.
type capHost struct {
	m   *Manifest
	env *Env
	log *slog.Logger
}

func newCapHost(v *Version) *capHost { return &capHost{m: &v.Manifest, env: v.env, log: v.log} }

// log gives the request's logger; it is only called when there is something to say.
func (h *capHost) call(ctx context.Context, log func() *slog.Logger, fn string, req []byte) ([]byte, error) {
	switch fn {
	case fnQuery, fnExec, fnBatch:
		stmts, err := wire.DecodeStmts(req)
		if err != nil {
			return nil, err
		}
		if fn != fnBatch && len(stmts) != 1 {
			return nil, fmt.Errorf("%s takes one statement, got %d", fn, len(stmts))
		}
		results, err := h.runSQL(ctx, fn, stmts)
		if err != nil {
			if !errors.Is(err, ErrCapability) {
				log().Warn("plugin statement failed", "fn", fn, "err", err)
			} else {
				log().Warn("plugin capability denied", "fn", fn, "err", err)
			}
			return nil, err
		}
		return wire.EncodeResults(nil, results), nil
	case fnBroadcast:
		var e wire.Broadcast
		if err := e.Decode(req); err != nil {
			return nil, err
		}
		for _, c := range e.Channels {
			if !h.m.Capabilities.mayBroadcast(c) {
				log().Warn("plugin capability denied", "fn", fn, "channel", c)
				return nil, fmt.Errorf("%w: channel %s is not in the manifest", ErrCapability, c)
			}
		}
		if h.env.Bus == nil {
			return nil, nil
		}
		return nil, h.env.Bus.Broadcast(ctx, e.Channels, e.Event, append([]byte(nil), e.Data...))
	}
	return nil, fmt.Errorf("unknown capability %q", fn)
}

func (h *capHost) runSQL(ctx context.Context, fn string, stmts []wire.Stmt) ([]wire.Result, error) {
	write := fn != fnQuery
	for _, s := range stmts {
		if err := h.env.Guard.Check(ctx, &h.m.Capabilities, s.SQL, s.Args, write); err != nil {
			return nil, err
		}
	}
	// database/sql starts a watcher goroutine per query for a cancellable context,
	// which costs more than the query; the libSQL drivers cannot interrupt a statement
	// anyway. So the deadline is checked here, between statements, and the database
	// sees a context that cannot be cancelled.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ctx = context.WithoutCancel(ctx)
	db := h.env.DB
	switch fn {
	case fnQuery:
		r, err := runOne(ctx, db.R, stmts[0], false)
		return []wire.Result{r}, err
	case fnExec:
		r, err := runOne(ctx, db.W, stmts[0], true)
		return []wire.Result{r}, err
	}
	tx, err := db.W.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	out := make([]wire.Result, 0, len(stmts))
	for i, s := range stmts {
		r, err := runOne(ctx, tx, s, true)
		if err != nil {
			return nil, fmt.Errorf("statement %d: %w", i, err)
		}
		out = append(out, r)
	}
	return out, tx.Commit()
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func runOne(ctx context.Context, q querier, s wire.Stmt, write bool) (wire.Result, error) {
	var res wire.Result
	if write && !strings.Contains(strings.ToUpper(s.SQL), "RETURNING") {
		r, err := q.ExecContext(ctx, s.SQL, s.Args...)
		if err != nil {
			return res, err
		}
		res.LastInsertID, _ = r.LastInsertId()
		res.RowsAffected, _ = r.RowsAffected()
		return res, nil
	}
	rows, err := q.QueryContext(ctx, s.SQL, s.Args...)
	if err != nil {
		return res, err
	}
	defer rows.Close()
	if res.Columns, err = rows.Columns(); err != nil {
		return res, err
	}
	for rows.Next() {
		row := make([]any, len(res.Columns))
		ptrs := make([]any, len(row))
		for i := range row {
			ptrs[i] = &row[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return res, err
		}
		for i, v := range row {
			row[i] = normalize(v)
		}
		res.Rows = append(res.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return res, err
	}
	res.RowsAffected = int64(len(res.Rows))
	return res, nil
}

// normalize maps what either libSQL driver scans to the wire's five kinds.
func normalize(v any) any {
	switch x := v.(type) {
	case nil, int64, float64, string, []byte:
		return x
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case bool:
		if x {
			return int64(1)
		}
		return int64(0)
	case time.Time:
		return x.UTC().Format("2006-01-02T15:04:05.000000Z")
	default:
		return fmt.Sprint(x)
	}
}

func (h *capHost) config(key string) (string, bool) {
	if !h.m.Capabilities.mayConfig(key) {
		h.log.Warn("plugin capability denied", "fn", "config", "key", key)
		return "", false
	}
	if h.env.Config != nil {
		return h.env.Config(key)
	}
	return os.LookupEnv(key)
}

// ---- Extism kernel subset ----

func instantiateExtismKernel(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder("extism:host/env")
	fn := func(name string, params, results []api.ValueType, f api.GoModuleFunc) {
		b.NewFunctionBuilder().WithGoModuleFunction(f, params, results).Export(name)
	}
	fn("alloc", []api.ValueType{i64}, []api.ValueType{i64}, func(ctx context.Context, _ api.Module, s []uint64) {
		s[0] = stateOf(ctx).alloc(s[0])
	})
	fn("free", []api.ValueType{i64}, nil, func(context.Context, api.Module, []uint64) {})
	length := func(ctx context.Context, _ api.Module, s []uint64) { s[0] = stateOf(ctx).klen[s[0]] }
	fn("length", []api.ValueType{i64}, []api.ValueType{i64}, length)
	fn("length_unsafe", []api.ValueType{i64}, []api.ValueType{i64}, length)
	fn("load_u8", []api.ValueType{i64}, []api.ValueType{i32}, func(ctx context.Context, _ api.Module, s []uint64) {
		st := stateOf(ctx)
		if i := s[0] - 1; s[0] > 0 && i < uint64(len(st.kmem)) {
			s[0] = uint64(st.kmem[i])
		} else {
			s[0] = 0
		}
	})
	fn("load_u64", []api.ValueType{i64}, []api.ValueType{i64}, func(ctx context.Context, _ api.Module, s []uint64) {
		st := stateOf(ctx)
		if i := s[0] - 1; s[0] > 0 && i+8 <= uint64(len(st.kmem)) {
			s[0] = binary.LittleEndian.Uint64(st.kmem[i:])
		} else {
			s[0] = 0
		}
	})
	fn("store_u8", []api.ValueType{i64, i32}, nil, func(ctx context.Context, _ api.Module, s []uint64) {
		st := stateOf(ctx)
		if i := s[0] - 1; s[0] > 0 && i < uint64(len(st.kmem)) {
			st.kmem[i] = byte(s[1])
		}
	})
	fn("store_u64", []api.ValueType{i64, i64}, nil, func(ctx context.Context, _ api.Module, s []uint64) {
		st := stateOf(ctx)
		if i := s[0] - 1; s[0] > 0 && i+8 <= uint64(len(st.kmem)) {
			binary.LittleEndian.PutUint64(st.kmem[i:], s[1])
		}
	})
	fn("input_length", nil, []api.ValueType{i64}, func(_ context.Context, _ api.Module, s []uint64) { s[0] = 0 })
	fn("input_load_u8", []api.ValueType{i64}, []api.ValueType{i32}, func(_ context.Context, _ api.Module, s []uint64) { s[0] = 0 })
	fn("input_load_u64", []api.ValueType{i64}, []api.ValueType{i64}, func(_ context.Context, _ api.Module, s []uint64) { s[0] = 0 })
	fn("output_set", []api.ValueType{i64, i64}, nil, func(context.Context, api.Module, []uint64) {})
	fn("error_set", []api.ValueType{i64}, nil, func(ctx context.Context, _ api.Module, s []uint64) {
		st := stateOf(ctx)
		st.log().Warn("plugin error_set", "text", string(st.block(s[0])))
	})
	fn("config_get", []api.ValueType{i64}, []api.ValueType{i64}, func(ctx context.Context, _ api.Module, s []uint64) {
		st := stateOf(ctx)
		val, ok := st.version.host.config(string(st.block(s[0])))
		if !ok {
			s[0] = 0
			return
		}
		s[0] = st.put([]byte(val))
	})
	fn("var_get", []api.ValueType{i64}, []api.ValueType{i64}, func(ctx context.Context, _ api.Module, s []uint64) {
		st := stateOf(ctx)
		val, ok := st.vars[string(st.block(s[0]))]
		if !ok {
			s[0] = 0
			return
		}
		s[0] = st.put(val)
	})
	fn("var_set", []api.ValueType{i64, i64}, nil, func(ctx context.Context, _ api.Module, s []uint64) {
		st := stateOf(ctx)
		if st.vars == nil {
			st.vars = map[string][]byte{}
		}
		key := string(st.block(s[0]))
		if s[1] == 0 {
			delete(st.vars, key)
			return
		}
		if len(st.vars) < 256 {
			st.vars[key] = append([]byte(nil), st.block(s[1])...)
		}
	})
	for name, level := range map[string]slog.Level{"log_trace": slog.LevelDebug - 4, "log_debug": slog.LevelDebug, "log_info": slog.LevelInfo, "log_warn": slog.LevelWarn, "log_error": slog.LevelError} {
		fn(name, []api.ValueType{i64}, nil, func(ctx context.Context, _ api.Module, s []uint64) {
			st := stateOf(ctx)
			st.log().Log(ctx, level, string(st.block(s[0])), "source", "plugin")
		})
	}
	fn("get_log_level", nil, []api.ValueType{i32}, func(_ context.Context, _ api.Module, s []uint64) { s[0] = 0 })
	fn("http_request", []api.ValueType{i64, i64}, []api.ValueType{i64}, func(ctx context.Context, _ api.Module, s []uint64) {
		stateOf(ctx).log().Warn("plugin capability denied", "fn", "http_request")
		s[0] = 0
	})
	fn("http_status_code", nil, []api.ValueType{i32}, func(_ context.Context, _ api.Module, s []uint64) { s[0] = 0 })
	fn("http_headers", nil, []api.ValueType{i64}, func(_ context.Context, _ api.Module, s []uint64) { s[0] = 0 })
	_, err := b.Instantiate(ctx)
	return err
}

const maxKernelArena = 16 << 20

func (c *callState) alloc(n uint64) uint64 {
	if n == 0 || uint64(len(c.kmem))+n > maxKernelArena {
		return 0
	}
	off := uint64(len(c.kmem)) + 1
	c.kmem = append(c.kmem, make([]byte, n)...)
	c.klen[off] = n
	return off
}

func (c *callState) put(b []byte) uint64 {
	off := c.alloc(uint64(len(b)))
	if off != 0 {
		copy(c.kmem[off-1:], b)
	}
	return off
}

func (c *callState) block(off uint64) []byte {
	n, ok := c.klen[off]
	if !ok {
		return nil
	}
	return c.kmem[off-1 : off-1+n]
}
