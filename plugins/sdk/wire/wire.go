// Package wire is the byte encoding both sides of the plugin ABI share: the request
// envelope the host hands a guest, the response it gets back, and the parameterised
// statements and row sets of the db capability. It is plain Go with no imports beyond
// the standard library, so the host and every guest link the very same code.
//
// Everything is little-endian. A string or byte slice is a u32 length and its bytes.
// A value is a one-byte tag and its payload:
//
//	0 null | 1 int64 (8 bytes) | 2 float64 (8 bytes) | 3 text (u32 len, bytes) | 4 blob (u32 len, bytes)
//
// Decoders never panic on malformed input: they return ErrShort or ErrTag, so a
// misbehaving guest costs its own request only.
package wire

import (
	"encoding/binary"
	"errors"
	"math"
	"unsafe"
)

var (
	ErrShort = errors.New("wire: message truncated")
	ErrTag   = errors.New("wire: unknown value tag")
)

const (
	TagNull  = 0
	TagInt   = 1
	TagFloat = 2
	TagText  = 3
	TagBlob  = 4
)

// Writer appends to a byte slice.
type Writer struct{ B []byte }

func (w *Writer) U8(v byte)    { w.B = append(w.B, v) }
func (w *Writer) U16(v uint16) { w.B = binary.LittleEndian.AppendUint16(w.B, v) }
func (w *Writer) U32(v uint32) { w.B = binary.LittleEndian.AppendUint32(w.B, v) }
func (w *Writer) I64(v int64)  { w.B = binary.LittleEndian.AppendUint64(w.B, uint64(v)) }
func (w *Writer) Str(s string) { w.U32(uint32(len(s))); w.B = append(w.B, s...) }
func (w *Writer) Bytes(b []byte) {
	w.U32(uint32(len(b)))
	w.B = append(w.B, b...)
}

// Value appends one tagged value. Ints of every width, bools, floats, strings,
// byte slices and nil are accepted; anything else is written as its null.
func (w *Writer) Value(v any) {
	switch x := v.(type) {
	case nil:
		w.U8(TagNull)
	case int64:
		w.U8(TagInt)
		w.I64(x)
	case int:
		w.U8(TagInt)
		w.I64(int64(x))
	case int32:
		w.U8(TagInt)
		w.I64(int64(x))
	case uint32:
		w.U8(TagInt)
		w.I64(int64(x))
	case bool:
		w.U8(TagInt)
		if x {
			w.I64(1)
		} else {
			w.I64(0)
		}
	case float64:
		w.U8(TagFloat)
		w.I64(int64(math.Float64bits(x)))
	case float32:
		w.U8(TagFloat)
		w.I64(int64(math.Float64bits(float64(x))))
	case string:
		w.U8(TagText)
		w.Str(x)
	case []byte:
		w.U8(TagBlob)
		w.Bytes(x)
	default:
		w.U8(TagNull)
	}
}

// Reader consumes a byte slice; the first failure sticks in Err and later reads
// return zero values.
type Reader struct {
	B   []byte
	Err error
	// Views makes Str return strings that share B's memory instead of copies. A
	// guest decoding a request sets it: the buffer outlives the handler call, and not
	// allocating matters more inside Wasm than anywhere else.
	Views bool
}

func (r *Reader) take(n int) []byte {
	if r.Err != nil {
		return nil
	}
	if n < 0 || len(r.B) < n {
		r.Err = ErrShort
		r.B = nil
		return nil
	}
	b := r.B[:n:n]
	r.B = r.B[n:]
	return b
}

func (r *Reader) U8() byte {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *Reader) U16() uint16 {
	if b := r.take(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (r *Reader) U32() uint32 {
	if b := r.take(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *Reader) I64() int64 {
	if b := r.take(8); b != nil {
		return int64(binary.LittleEndian.Uint64(b))
	}
	return 0
}

// Bytes returns a view into the underlying slice (no copy).
func (r *Reader) Bytes() []byte { return r.take(int(r.U32())) }

func (r *Reader) Str() string {
	b := r.Bytes()
	if r.Views && len(b) > 0 {
		return unsafe.String(&b[0], len(b))
	}
	return string(b)
}

// Value reads one tagged value: nil, int64, float64, string or []byte.
func (r *Reader) Value() any {
	switch tag := r.U8(); tag {
	case TagNull:
		return nil
	case TagInt:
		return r.I64()
	case TagFloat:
		return math.Float64frombits(uint64(r.I64()))
	case TagText:
		return r.Str()
	case TagBlob:
		return append([]byte(nil), r.Bytes()...)
	default:
		if r.Err == nil {
			r.Err = ErrTag
		}
		return nil
	}
}

// Principal is the verified caller, as the guest sees it.
type Principal struct {
	ID    int64
	Role  string
	Name  string
	Email string
}

// Request is what the host hands a guest for one HTTP request.
type Request struct {
	ID     string // the host's request id, for logs
	Method string
	Path   string
	Route  string // the manifest pattern that matched, e.g. /api/jobs/{id}
	Query  string // raw query string, without '?'
	Params []Param
	User   Principal
	Body   []byte
}

// Param is a path parameter captured by the route pattern.
type Param struct{ Name, Value string }

func (q *Request) Encode(b []byte) []byte {
	w := Writer{B: b}
	w.U8(1)
	w.Str(q.ID)
	w.Str(q.Method)
	w.Str(q.Path)
	w.Str(q.Route)
	w.Str(q.Query)
	w.U16(uint16(len(q.Params)))
	for _, p := range q.Params {
		w.Str(p.Name)
		w.Str(p.Value)
	}
	w.I64(q.User.ID)
	w.Str(q.User.Role)
	w.Str(q.User.Name)
	w.Str(q.User.Email)
	w.Bytes(q.Body)
	return w.B
}

func (q *Request) Decode(b []byte) error { return q.decode(Reader{B: b}) }

// DecodeView decodes without copying: the strings share b, which must outlive q.
func (q *Request) DecodeView(b []byte) error { return q.decode(Reader{B: b, Views: true}) }

func (q *Request) decode(r Reader) error {
	if v := r.U8(); v != 1 && r.Err == nil {
		return errors.New("wire: unknown request version")
	}
	q.ID, q.Method, q.Path, q.Route, q.Query = r.Str(), r.Str(), r.Str(), r.Str(), r.Str()
	n := int(r.U16())
	q.Params = q.Params[:0]
	for i := 0; i < n && r.Err == nil; i++ {
		q.Params = append(q.Params, Param{r.Str(), r.Str()})
	}
	q.User.ID, q.User.Role, q.User.Name, q.User.Email = r.I64(), r.Str(), r.Str(), r.Str()
	q.Body = r.Bytes()
	return r.Err
}

// Response is what a guest answers.
type Response struct {
	Status      int
	ContentType string
	Headers     []Param
	Body        []byte
}

func (p *Response) Encode(b []byte) []byte {
	w := Writer{B: b}
	w.U16(uint16(p.Status))
	w.Str(p.ContentType)
	w.U16(uint16(len(p.Headers)))
	for _, h := range p.Headers {
		w.Str(h.Name)
		w.Str(h.Value)
	}
	w.Bytes(p.Body)
	return w.B
}

func (p *Response) Decode(b []byte) error {
	r := Reader{B: b}
	p.Status = int(r.U16())
	p.ContentType = r.Str()
	n := int(r.U16())
	p.Headers = p.Headers[:0]
	for i := 0; i < n && r.Err == nil; i++ {
		p.Headers = append(p.Headers, Param{r.Str(), r.Str()})
	}
	p.Body = r.Bytes()
	return r.Err
}

// Stmt is one parameterised statement.
type Stmt struct {
	SQL  string
	Args []any
}

// EncodeStmts writes a statement list (a single query is a list of one).
func EncodeStmts(b []byte, stmts []Stmt) []byte {
	w := Writer{B: b}
	w.U16(uint16(len(stmts)))
	for _, s := range stmts {
		w.Str(s.SQL)
		w.U16(uint16(len(s.Args)))
		for _, a := range s.Args {
			w.Value(a)
		}
	}
	return w.B
}

func DecodeStmts(b []byte) ([]Stmt, error) {
	r := Reader{B: b}
	n := int(r.U16())
	stmts := make([]Stmt, 0, min(n, 64))
	for i := 0; i < n && r.Err == nil; i++ {
		s := Stmt{SQL: r.Str()}
		na := int(r.U16())
		s.Args = make([]any, 0, min(na, 64))
		for j := 0; j < na && r.Err == nil; j++ {
			s.Args = append(s.Args, r.Value())
		}
		stmts = append(stmts, s)
	}
	return stmts, r.Err
}

// Result is the outcome of one statement: its rows (if it returned any) and, for
// writes, the last insert id and rows affected.
type Result struct {
	Columns      []string
	Rows         [][]any
	LastInsertID int64
	RowsAffected int64
}

func EncodeResults(b []byte, results []Result) []byte {
	w := Writer{B: b}
	w.U16(uint16(len(results)))
	for _, res := range results {
		w.I64(res.LastInsertID)
		w.I64(res.RowsAffected)
		w.U16(uint16(len(res.Columns)))
		for _, c := range res.Columns {
			w.Str(c)
		}
		w.U32(uint32(len(res.Rows)))
		for _, row := range res.Rows {
			for _, v := range row {
				w.Value(v)
			}
		}
	}
	return w.B
}

func DecodeResults(b []byte) ([]Result, error) {
	r := Reader{B: b}
	n := int(r.U16())
	out := make([]Result, 0, min(n, 64))
	for i := 0; i < n && r.Err == nil; i++ {
		res := Result{LastInsertID: r.I64(), RowsAffected: r.I64()}
		nc := int(r.U16())
		for j := 0; j < nc && r.Err == nil; j++ {
			res.Columns = append(res.Columns, r.Str())
		}
		nr := int(r.U32())
		if nc > 0 {
			res.Rows = make([][]any, 0, min(nr, 1024))
			for j := 0; j < nr && r.Err == nil; j++ {
				row := make([]any, nc)
				for k := range row {
					row[k] = r.Value()
				}
				res.Rows = append(res.Rows, row)
			}
		}
		out = append(out, res)
	}
	return out, r.Err
}

// Broadcast is an event a plugin emits for the realtime core.
type Broadcast struct {
	Channels []string
	Event    string
	Data     []byte // JSON
}

func (e *Broadcast) Encode(b []byte) []byte {
	w := Writer{B: b}
	w.U16(uint16(len(e.Channels)))
	for _, c := range e.Channels {
		w.Str(c)
	}
	w.Str(e.Event)
	w.Bytes(e.Data)
	return w.B
}

func (e *Broadcast) Decode(b []byte) error {
	r := Reader{B: b}
	n := int(r.U16())
	e.Channels = make([]string, 0, min(n, 128))
	for i := 0; i < n && r.Err == nil; i++ {
		e.Channels = append(e.Channels, r.Str())
	}
	e.Event = r.Str()
	e.Data = r.Bytes()
	return r.Err
}

// ResultView is one statement's answer read in place: values are decoded on demand
// from the encoded bytes, so reading a row allocates nothing. The guest SDK uses it.
type ResultView struct {
	Columns      []string
	LastInsertID int64
	RowsAffected int64
	NumRows      int
	buf          []byte
	offsets      []uint32 // row*len(Columns)+col → offset of the value's tag in buf
}

// DecodeResultViews indexes an EncodeResults answer without decoding its values.
// b must stay unchanged while the views are used.
// Column names share b too.
func DecodeResultViews(b []byte) ([]ResultView, error) {
	r := Reader{B: b, Views: true}
	n := int(r.U16())
	out := make([]ResultView, 0, min(n, 64))
	for i := 0; i < n && r.Err == nil; i++ {
		out = append(out, r.resultView(b))
	}
	return out, r.Err
}

// DecodeResultView indexes an answer that holds exactly one result.
func DecodeResultView(b []byte) (ResultView, error) {
	r := Reader{B: b, Views: true}
	if n := r.U16(); n != 1 && r.Err == nil {
		return ResultView{}, errors.New("wire: want exactly one result")
	}
	v := r.resultView(b)
	return v, r.Err
}

func (r *Reader) resultView(b []byte) ResultView {
	v := ResultView{LastInsertID: r.I64(), RowsAffected: r.I64(), buf: b}
	nc := int(r.U16())
	v.Columns = make([]string, 0, min(nc, 64))
	for j := 0; j < nc && r.Err == nil; j++ {
		v.Columns = append(v.Columns, r.Str())
	}
	v.NumRows = int(r.U32())
	if nc == 0 {
		v.NumRows = 0
	}
	v.offsets = make([]uint32, 0, min(v.NumRows*nc, 1<<16))
	for j := 0; j < v.NumRows*nc && r.Err == nil; j++ {
		v.offsets = append(v.offsets, uint32(len(b)-len(r.B)))
		r.skipValue()
	}
	return v
}

func (r *Reader) skipValue() {
	switch tag := r.U8(); tag {
	case TagNull:
	case TagInt, TagFloat:
		r.take(8)
	case TagText, TagBlob:
		r.Bytes()
	default:
		if r.Err == nil {
			r.Err = ErrTag
		}
	}
}

func (v *ResultView) at(row, col int) (byte, []byte) {
	off := v.offsets[row*len(v.Columns)+col]
	tag := v.buf[off]
	switch tag {
	case TagInt, TagFloat:
		return tag, v.buf[off+1 : off+9]
	case TagText, TagBlob:
		n := binary.LittleEndian.Uint32(v.buf[off+1:])
		return tag, v.buf[off+5 : off+5+n]
	}
	return tag, nil
}

// Null reports whether the value is NULL.
func (v *ResultView) Null(row, col int) bool { t, _ := v.at(row, col); return t == TagNull }

// Int returns the value as an int64 (floats truncated, NULL and text 0).
func (v *ResultView) Int(row, col int) int64 {
	switch t, b := v.at(row, col); t {
	case TagInt:
		return int64(binary.LittleEndian.Uint64(b))
	case TagFloat:
		return int64(math.Float64frombits(binary.LittleEndian.Uint64(b)))
	}
	return 0
}

// Float returns the value as a float64.
func (v *ResultView) Float(row, col int) float64 {
	switch t, b := v.at(row, col); t {
	case TagInt:
		return float64(int64(binary.LittleEndian.Uint64(b)))
	case TagFloat:
		return math.Float64frombits(binary.LittleEndian.Uint64(b))
	}
	return 0
}

// Bytes returns a text or blob value in place (nil otherwise); copy it to keep it.
func (v *ResultView) Bytes(row, col int) []byte {
	if t, b := v.at(row, col); t == TagText || t == TagBlob {
		return b
	}
	return nil
}

// Value returns the value boxed, as DecodeResults would.
func (v *ResultView) Value(row, col int) any {
	r := Reader{B: v.buf[v.offsets[row*len(v.Columns)+col]:]}
	return r.Value()
}
