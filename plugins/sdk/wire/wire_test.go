package wire

import (
	"reflect"
	"testing"
)

func TestRoundTrips(t *testing.T) {
	req := Request{ID: "r1", Method: "GET", Path: "/api/jobs/7", Route: "/api/jobs/{id}", Query: "a=1",
		Params: []Param{{"id", "7"}}, User: Principal{ID: 3, Role: "client", Name: "Ada", Email: "a@x"}, Body: []byte(`{"x":1}`)}
	var got Request
	if err := got.Decode(req.Encode(nil)); err != nil || !reflect.DeepEqual(got, req) {
		t.Fatalf("request round trip: %+v, %v", got, err)
	}
	stmts := []Stmt{{"SELECT ? , ?", []any{int64(1), "x"}}, {"SELECT ?, ?, ?", []any{nil, 2.5, []byte{0, 1}}}}
	back, err := DecodeStmts(EncodeStmts(nil, stmts))
	if err != nil || !reflect.DeepEqual(back, stmts) {
		t.Fatalf("stmts round trip: %#v, %v", back, err)
	}
	res := []Result{{Columns: []string{"a", "b"}, Rows: [][]any{{int64(1), "x"}, {nil, 2.5}}}, {LastInsertID: 9, RowsAffected: 1}}
	rback, err := DecodeResults(EncodeResults(nil, res))
	if err != nil || !reflect.DeepEqual(rback, res) {
		t.Fatalf("results round trip: %#v, %v", rback, err)
	}
}

func TestTruncatedInputIsAnErrorNotAPanic(t *testing.T) {
	full := EncodeStmts(nil, []Stmt{{"SELECT ?", []any{"hello"}}})
	for i := 0; i < len(full); i++ {
		if _, err := DecodeStmts(full[:i]); err == nil && i > 0 {
			t.Fatalf("prefix of %d bytes decoded without error", i)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(EncodeStmts(nil, []Stmt{{"SELECT ?", []any{int64(1)}}}))
	f.Add((&Request{Method: "GET", Path: "/"}).Encode(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = DecodeStmts(b)
		_, _ = DecodeResults(b)
		var q Request
		_ = q.Decode(b)
		var p Response
		_ = p.Decode(b)
		var e Broadcast
		_ = e.Decode(b)
	})
}
