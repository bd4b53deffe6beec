// Package sdk is the guest-side library every SharpJob plugin is written against.
// A plugin builds a Router, registers handlers for the routes its manifest declares,
// and calls Serve from main:
//
//	func main() {}
//	func init() { sdk.Serve(jobs.Routes()) }
//
// Built with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared it runs in the host's wazero
// sandbox (abi_wasm.go, over github.com/extism/go-pdk). Built natively, the same
// handlers run in-process against a host the caller supplies (abi_native.go): the
// host's benchmarks use that as the baseline the Wasm path is measured against.
//
// Handlers see only what the host hands them: the request, the verified user, and the
// capabilities in this file — Query/Exec/Batch (db), Broadcast, Config and Log —
// each checked by the host against the plugin's manifest.
package sdk

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"

	"github.com/mysharpjob/sharpjob/api/laravel"
	"github.com/mysharpjob/sharpjob/plugins/sdk/wire"
)

// Handler serves one route.
type Handler func(*Request) Response

// Router maps a method and the manifest's route pattern (e.g. GET "/api/jobs/{id}")
// to a handler. The host has already matched the path; the guest only looks it up.
type Router struct{ routes map[string]map[string]Handler }

func NewRouter() *Router { return &Router{routes: map[string]map[string]Handler{}} }

// Handle registers h for method and pattern, exactly as the manifest spells them.
func (rt *Router) Handle(method, pattern string, h Handler) {
	if rt.routes[method] == nil {
		rt.routes[method] = map[string]Handler{}
	}
	rt.routes[method][pattern] = h
}

// Routes lists the registered "METHOD pattern" pairs.
func (rt *Router) Routes() []string {
	var out []string
	for m, patterns := range rt.routes {
		for p := range patterns {
			out = append(out, m+" "+p)
		}
	}
	return out
}

// Dispatch runs the handler for req, turning a panic into a 500 for this request.
func (rt *Router) Dispatch(req *Request) (resp Response) {
	h, ok := rt.routes[req.Method][req.Route]
	if !ok {
		return Error(404, "Not Found")
	}
	defer func() {
		if r := recover(); r != nil {
			Log(LevelError, "handler panic: "+panicText(r))
			resp = Error(500, "Server Error")
		}
	}()
	return h(req)
}

func panicText(r any) string {
	switch v := r.(type) {
	case error:
		return v.Error()
	case string:
		return v
	default:
		return "panic"
	}
}

// Request is one HTTP request as the host hands it over. Its strings share the
// request buffer and are valid during the handler call only: strings.Clone what
// you keep past it.
type Request struct {
	wire.Request
	query url.Values
}

// User is the verified caller; ID 0 means a guest.
func (r *Request) User() wire.Principal { return r.Request.User }

// Param returns a path parameter.
func (r *Request) Param(name string) string {
	for _, p := range r.Params {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

// ParamID returns a positive integer path parameter, or false.
func (r *Request) ParamID(name string) (int64, bool) {
	n, err := strconv.ParseInt(r.Param(name), 10, 64)
	return n, err == nil && n > 0
}

// QueryValue returns the first value of a query parameter.
func (r *Request) QueryValue(name string) string { return r.Query().Get(name) }

// Query returns the parsed query string.
func (r *Request) Query() url.Values {
	if r.query == nil {
		r.query, _ = url.ParseQuery(r.Request.Query)
	}
	return r.query
}

// DecodeJSON decodes the body into v; a malformed body yields a ready 400 or 422.
func (r *Request) DecodeJSON(v any) (Response, bool) {
	if len(r.Body) == 0 {
		return Error(400, "The request body must be a JSON object."), false
	}
	if err := json.Unmarshal(r.Body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			errs := Errors{}
			errs.Add(te.Field, "The "+te.Field+" field has the wrong type: expected "+jsonKind(te.Type.Kind().String())+".")
			return Invalid(errs), false
		}
		return Error(400, "The request body is not valid JSON: "+err.Error()), false
	}
	return Response{}, true
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "bool":
		return "a boolean"
	default:
		return "a number"
	}
}

// Response is what a handler answers.
type Response = wire.Response

// Errors are Laravel validation errors, field → messages.
type Errors = laravel.Errors

// JSON answers v encoded as JSON.
func JSON(status int, v any) Response {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // links keep their '&'
	if err := enc.Encode(v); err != nil {
		return Error(500, "Server Error")
	}
	return Response{Status: status, ContentType: "application/json", Body: bytes.TrimSuffix(b.Bytes(), []byte("\n"))}
}

// RawJSON answers body, which must already be JSON.
func RawJSON(status int, body []byte) Response {
	return Response{Status: status, ContentType: "application/json", Body: body}
}

// Error answers {"message": msg}.
func Error(status int, msg string) Response {
	b, _ := json.Marshal(map[string]string{"message": msg})
	return RawJSON(status, b)
}

// Invalid answers Laravel's 422 with every field's messages.
func Invalid(errs Errors) Response {
	return JSON(422, map[string]any{"message": laravel.Summary(errs), "errors": errs})
}

// ServerError logs err to the host and answers a bare 500: details stay in the log.
func ServerError(err error) Response {
	Log(LevelError, err.Error())
	return Error(500, "Server Error")
}

func Unauthenticated() Response { return Error(401, "Unauthenticated.") }
func Forbidden() Response       { return Error(403, "This action is unauthorized.") }
func NotFound() Response        { return Error(404, "Not Found") }

// Page answers a Laravel resource page.
func Page(r *Request, data any, n, page, perPage, total int) Response {
	q := r.Query()
	rest := url.Values{}
	for k, v := range q {
		if k != "page" {
			rest[k] = v
		}
	}
	return JSON(200, laravel.NewPage(data, n, page, perPage, total, r.Path, rest.Encode()))
}

// RowsPage answers a page from rows shaped (json object, count(*) OVER ()): the
// idiom `SELECT json_object(...), count(*) OVER () ... LIMIT ? OFFSET ?` gives the
// items and the exact total in one query. Past the last page the window holds no
// row to read the total from, so count is called then.
func RowsPage(r *Request, res Result, page, per int, count func() (int, error)) Response {
	items := make([]json.RawMessage, res.Len())
	total := 0
	for i := range items {
		items[i] = json.RawMessage(res.Bytes(i, 0))
		total = int(res.Int(i, 1))
	}
	if len(items) == 0 && page > 1 {
		n, err := count()
		if err != nil {
			Log(LevelError, "count for page: "+err.Error())
			return Error(500, "Server Error")
		}
		total = n
	}
	return Page(r, items, len(items), page, per, total)
}

// PageParams reads page and per_page (default perPage, at most maxPer), adding field
// errors for values out of range.
func PageParams(r *Request, errs Errors, perPage, maxPer int) (page, per int) {
	page, per = 1, perPage
	if v := r.QueryValue("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs.Add("page", "The page field must be an integer of at least 1.")
		} else {
			page = n
		}
	}
	if v := r.QueryValue("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPer {
			errs.Add("per_page", "The per page field must be an integer between 1 and "+strconv.Itoa(maxPer)+".")
		} else {
			per = n
		}
	}
	return page, per
}

// ---- capabilities ----

// Stmt is one parameterised statement for Batch.
type Stmt = wire.Stmt

// Result is a statement's outcome: its rows, read in place without allocating
// (Int, Float, Bytes, Text, Null by row and column index), the last insert id and
// the rows affected.
type Result struct{ wire.ResultView }

// Len is the number of rows.
func (r Result) Len() int { return r.NumRows }

// Text returns a value as a string ("" for NULL; numbers formatted).
func (r Result) Text(row, col int) string {
	if b := r.Bytes(row, col); b != nil {
		return string(b)
	}
	if r.Null(row, col) {
		return ""
	}
	switch v := r.Value(row, col).(type) {
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}

// Map returns row i as column → value (boxed: for convenience, not the hot path).
func (r Result) Map(i int) map[string]any {
	m := make(map[string]any, len(r.Columns))
	for j, c := range r.Columns {
		m[c] = r.Value(i, j)
	}
	return m
}

// HostError is an error the host returned for a capability call: a refused
// capability, a constraint violation, a database fault.
type HostError struct{ Msg string }

func (e *HostError) Error() string { return e.Msg }

// Query runs one read statement.
func Query(sql string, args ...any) (Result, error) {
	return one(call(fnQuery, stmtBytes(Stmt{SQL: sql, Args: args})))
}

// Exec runs one write statement (its RETURNING rows, if any, come back too).
func Exec(sql string, args ...any) (Result, error) {
	return one(call(fnExec, stmtBytes(Stmt{SQL: sql, Args: args})))
}

// Batch runs statements in one transaction: all commit or none do.
func Batch(stmts ...Stmt) ([]Result, error) {
	out, err := call(fnBatch, stmtBytes(stmts...))
	if err != nil {
		return nil, err
	}
	res, err := wire.DecodeResultViews(out)
	if err != nil {
		return nil, err
	}
	wrapped := make([]Result, len(res))
	for i := range res {
		wrapped[i] = Result{res[i]}
	}
	return wrapped, nil
}

var encBuf []byte // reused: a guest handles one request at a time

func stmtBytes(stmts ...Stmt) []byte {
	encBuf = wire.EncodeStmts(encBuf[:0], stmts)
	return encBuf
}

func one(out []byte, err error) (Result, error) {
	if err != nil {
		return Result{}, err
	}
	res, err := wire.DecodeResultView(out)
	if err != nil {
		return Result{}, err
	}
	return Result{res}, nil
}

// Broadcast emits event with data (encoded as JSON) on channels, after the
// request's writes: the host delivers it to the realtime core.
func Broadcast(channels []string, event string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	e := wire.Broadcast{Channels: channels, Event: event, Data: b}
	_, err = call(fnBroadcast, e.Encode(nil))
	return err
}

// Log levels.
const (
	LevelDebug = iota
	LevelInfo
	LevelWarn
	LevelError
)

// capability function names, the same on both backends.
const (
	fnQuery     = "db_query"
	fnExec      = "db_exec"
	fnBatch     = "db_batch"
	fnBroadcast = "broadcast"
)
