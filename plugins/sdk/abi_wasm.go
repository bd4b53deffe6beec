//go:build wasip1

package sdk

// The guest side of the plugin ABI. The host side, with the same table, is
// host/plugin/abi.go.
//
// Exports (called by the host):
//
//	sj_buffer(size u32) -> ptr u32       a guest buffer of at least size bytes; the host
//	                                     writes the encoded wire.Request straight into it
//	sj_handle(len u32) -> u64            decode the request (len bytes at the buffer),
//	                                     dispatch, encode the wire.Response into a
//	                                     second buffer; returns ptr<<32 | len of it
//
// Imports, module "sharpjob:host" (our capabilities, bodies in guest memory):
//
//	db_query / db_exec / db_batch / broadcast (ptr, len, out, cap u32) -> u64
//	                                     request at ptr/len (wire.EncodeStmts or
//	                                     wire.Broadcast); the host writes the answer at
//	                                     out (free space in the request's answer arena)
//	                                     if it fits in cap. Returns status<<32 | n:
//	                                     status 0 ok, 1 the answer is an error message;
//	                                     n > cap means the answer waits on the host:
//	                                     allocate n bytes and call take.
//	take(ptr u32)                        copy the waiting answer to ptr
//
// Imports, module "extism:host/env" (through github.com/extism/go-pdk): config_get,
// log_*, get_log_level and the kernel memory functions they need, so configuration
// and logs work exactly as for any Extism plugin.
//
// Go guests that allocate grow linear memory without bound unless the goroutine
// yields before returning to the host (the collector's workers never run), so
// sj_handle ends in runtime.Gosched after a call that moved 16 KiB or more through
// the SDK, and after every 8th call in any case: a yield costs ≈ 4 µs of the ≈ 15 µs
// a small call takes.

import (
	"runtime"
	"unsafe"

	pdk "github.com/extism/go-pdk"
)

var (
	router *Router
	req    Request
	calls  int
	moved  int                       // bytes through the SDK since the last yield
	buf    = make([]byte, 64<<10)    // the request, written by the host
	outBuf = make([]byte, 64<<10)    // the response, read by the host
	arena  = make([]byte, 0, 64<<10) // capability answers of the current request; reset per request
)

// Serve installs the plugin's router; call it from init or main.
func Serve(rt *Router) { router = rt }

//go:wasmexport sj_buffer
func sjBuffer(size uint32) uint32 {
	if int(size) > cap(buf) {
		buf = make([]byte, size)
	}
	buf = buf[:cap(buf)]
	return uint32(uintptr(unsafe.Pointer(&buf[0])))
}

//go:wasmexport sj_handle
func sjHandle(n uint32) uint64 {
	var resp Response
	params := req.Params[:0]
	req = Request{}
	req.Params = params
	arena = arena[:0]                                       // results of the previous request are gone with it
	if err := req.Request.DecodeView(buf[:n]); err != nil { // strings share buf: no copies
		resp = Error(400, "malformed request envelope")
	} else if router == nil {
		resp = Error(500, "plugin has no router")
	} else {
		resp = router.Dispatch(&req)
	}
	req.query = nil
	out := resp.Encode(outBuf[:0]) // separate from buf: resp.Body may alias the request
	outBuf = out[:0]
	calls++
	moved += int(n) + len(out)
	if moved >= 16<<10 || calls%8 == 0 {
		moved = 0
		runtime.Gosched()
	}
	return uint64(uintptr(unsafe.Pointer(&out[0])))<<32 | uint64(len(out))
}

//go:wasmimport sharpjob:host db_query
func hostDBQuery(ptr, n, out, capacity uint32) uint64

//go:wasmimport sharpjob:host db_exec
func hostDBExec(ptr, n, out, capacity uint32) uint64

//go:wasmimport sharpjob:host db_batch
func hostDBBatch(ptr, n, out, capacity uint32) uint64

//go:wasmimport sharpjob:host broadcast
func hostBroadcast(ptr, n, out, capacity uint32) uint64

//go:wasmimport sharpjob:host take
func hostTake(ptr uint32)

func call(fn string, reqBytes []byte) ([]byte, error) {
	var f func(ptr, n, out, capacity uint32) uint64
	switch fn {
	case fnQuery:
		f = hostDBQuery
	case fnExec:
		f = hostDBExec
	case fnBatch:
		f = hostDBBatch
	case fnBroadcast:
		f = hostBroadcast
	}
	var reqPtr uint32
	if len(reqBytes) > 0 {
		reqPtr = uint32(uintptr(unsafe.Pointer(&reqBytes[0])))
	}
	// The host writes the answer straight into the arena's free space; results are
	// then read in place, so an answer is never copied inside the guest.
	if cap(arena)-len(arena) < 1024 {
		arena = make([]byte, 0, 64<<10) // earlier answers keep the old chunk alive
	}
	free := arena[len(arena):cap(arena)]
	r := f(reqPtr, uint32(len(reqBytes)), uint32(uintptr(unsafe.Pointer(&free[0]))), uint32(len(free)))
	status, n := uint32(r>>32), uint32(r)
	var out []byte
	if int(n) <= len(free) {
		out = free[:n:n]
		arena = arena[:len(arena)+int(n)]
	} else {
		out = make([]byte, n)
		hostTake(uint32(uintptr(unsafe.Pointer(&out[0]))))
	}
	moved += len(reqBytes) + int(n)
	runtime.KeepAlive(reqBytes)
	if status != 0 {
		return nil, &HostError{Msg: string(out)}
	}
	return out, nil
}

// Config returns a configuration value the manifest grants.
func Config(key string) (string, bool) { return pdk.GetConfig(key) }

// Log writes a line to the host's structured log, tagged with the plugin.
func Log(level int, msg string) {
	l := pdk.LogInfo
	switch level {
	case LevelDebug:
		l = pdk.LogDebug
	case LevelWarn:
		l = pdk.LogWarn
	case LevelError:
		l = pdk.LogError
	}
	pdk.Log(l, msg)
}
