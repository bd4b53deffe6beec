package plugin

import (
	"fmt"
	"strings"

	"github.com/mysharpjob/sharpjob/plugins/sdk/wire"
)

// Table routes requests to plugins by their manifests' routes. It is immutable:
// a reload builds a new Table and swaps it in whole.
type Table struct {
	byMethod map[string][]entry
}

type entry struct {
	route    Route
	segments []string // literal, or "" for a {param}
	names    []string // param names, by segment index ("" for literals)
	literals int      // more literal segments = more specific
	target   *Version
}

// Match is a routed request.
type Match struct {
	Version *Version
	Route   string
	Params  []wire.Param
}

// NewTable builds a table over the given versions, refusing conflicts: two routes
// with the same method and the same shape (literals at the same places, parameters
// at the same places) cannot both be served. reserved lists host-native routes
// plugins may not shadow.
func NewTable(versions []*Version, reserved []Route) (*Table, error) {
	t := &Table{byMethod: map[string][]entry{}}
	owner := map[string]string{}
	for _, r := range reserved {
		owner[shapeKey(r)] = "the host"
	}
	for _, v := range versions {
		for _, r := range v.Manifest.Routes {
			key := shapeKey(r)
			if prev, taken := owner[key]; taken {
				return nil, fmt.Errorf("plugin %s: route %s conflicts with %s", v.Manifest.ID(), r, prev)
			}
			owner[key] = "plugin " + v.Manifest.ID() + " (" + r.String() + ")"
			e := entry{route: r, target: v}
			for _, seg := range strings.Split(strings.Trim(r.Path, "/"), "/") {
				if strings.HasPrefix(seg, "{") {
					e.segments = append(e.segments, "")
					e.names = append(e.names, seg[1:len(seg)-1])
				} else {
					e.segments = append(e.segments, seg)
					e.names = append(e.names, "")
					e.literals++
				}
			}
			t.byMethod[r.Method] = append(t.byMethod[r.Method], e)
		}
	}
	for m, list := range t.byMethod { // most specific first, so /api/jobs/mine beats /api/jobs/{id}
		for i := 1; i < len(list); i++ {
			for j := i; j > 0 && list[j].literals > list[j-1].literals; j-- {
				list[j], list[j-1] = list[j-1], list[j]
			}
		}
		t.byMethod[m] = list
	}
	return t, nil
}

func shapeKey(r Route) string {
	segs := strings.Split(strings.Trim(r.Path, "/"), "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") {
			segs[i] = "{}"
		}
	}
	return r.Method + " /" + strings.Join(segs, "/")
}

// Lookup finds the route for method and path. It reports whether the path exists
// under another method (for 405).
func (t *Table) Lookup(method, path string) (m Match, ok, otherMethod bool) {
	if t == nil {
		return m, false, false
	}
	path = strings.Trim(path, "/")
	var parts [16]string
	segs := splitInto(parts[:0], path)
	if e, params, found := match(t.byMethod[method], segs); found {
		return Match{Version: e.target, Route: e.route.Path, Params: params}, true, false
	}
	for other, list := range t.byMethod {
		if other == method {
			continue
		}
		if _, _, found := match(list, segs); found {
			return m, false, true
		}
	}
	return m, false, false
}

func splitInto(dst []string, path string) []string {
	for {
		i := strings.IndexByte(path, '/')
		if i < 0 {
			return append(dst, path)
		}
		dst = append(dst, path[:i])
		path = path[i+1:]
	}
}

func match(list []entry, segs []string) (entry, []wire.Param, bool) {
next:
	for _, e := range list {
		if len(e.segments) != len(segs) {
			continue
		}
		for i, lit := range e.segments {
			if lit != "" && lit != segs[i] || lit == "" && segs[i] == "" {
				continue next
			}
		}
		var params []wire.Param
		for i, n := range e.names {
			if n != "" {
				params = append(params, wire.Param{Name: n, Value: segs[i]})
			}
		}
		return e, params, true
	}
	return entry{}, nil, false
}
