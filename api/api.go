// Package api holds the Laravel-compatible wire shapes every host-native endpoint
// shares: the verified principal, errors, validation errors and resource pages.
// Plugins write the same shapes from the guest side (plugins/sdk).
package api

import (
	"encoding/json"
	"slices"
	"strconv"

	"github.com/valyala/fasthttp"
)

// Principal is the verified caller of a request. The zero value is a guest.
type Principal struct {
	UserID int64  `json:"id"`
	Name   string `json:"name"`
	Email  string `json:"email"`
	Role   string `json:"role"` // client | artisan | admin
}

// Authenticated reports whether a user is behind the request.
func (p Principal) Authenticated() bool { return p.UserID != 0 }

// Errors maps a field to its messages, as Laravel's validator does.
type Errors map[string][]string

// Add records a message for a field.
func (e Errors) Add(field, msg string) { e[field] = append(e[field], msg) }

// Page is a Laravel resource collection page.
type Page struct {
	Data  any       `json:"data"`
	Links PageLinks `json:"links"`
	Meta  PageMeta  `json:"meta"`
}

type PageLinks struct {
	First string  `json:"first"`
	Last  string  `json:"last"`
	Prev  *string `json:"prev"`
	Next  *string `json:"next"`
}

type PageMeta struct {
	CurrentPage int    `json:"current_page"`
	PerPage     int    `json:"per_page"`
	Total       int    `json:"total"`
	LastPage    int    `json:"last_page"`
	From        *int   `json:"from"`
	To          *int   `json:"to"`
	Path        string `json:"path"`
}

// NewPage builds a page of n items out of total; link carries the base path and the
// query string without its page parameter (e.g. "/api/jobs?per_page=15").
func NewPage(data any, n, page, perPage, total int, path, query string) Page {
	last := (total + perPage - 1) / perPage
	if last < 1 {
		last = 1
	}
	link := func(p int) string {
		if query != "" {
			return path + "?" + query + "&page=" + strconv.Itoa(p)
		}
		return path + "?page=" + strconv.Itoa(p)
	}
	pg := Page{Data: data, Meta: PageMeta{CurrentPage: page, PerPage: perPage, Total: total, LastPage: last, Path: path}}
	pg.Links.First, pg.Links.Last = link(1), link(last)
	if page > 1 {
		s := link(page - 1)
		pg.Links.Prev = &s
	}
	if page < last {
		s := link(page + 1)
		pg.Links.Next = &s
	}
	if n > 0 {
		from, to := (page-1)*perPage+1, (page-1)*perPage+n
		pg.Meta.From, pg.Meta.To = &from, &to
	}
	return pg
}

// JSON writes v with the given status.
func JSON(ctx *fasthttp.RequestCtx, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = fasthttp.StatusInternalServerError, []byte(`{"message":"Server Error"}`)
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
}

// Error writes {"message": msg} with status.
func Error(ctx *fasthttp.RequestCtx, status int, msg string) {
	JSON(ctx, status, map[string]string{"message": msg})
}

// Invalid writes Laravel's 422: the first error as the message, every field's list.
func Invalid(ctx *fasthttp.RequestCtx, errs Errors) {
	JSON(ctx, fasthttp.StatusUnprocessableEntity, map[string]any{"message": Summary(errs), "errors": errs})
}

// Summary is Laravel's validation message: the first error, plus "(and N more errors)".
func Summary(errs Errors) string {
	first, n := "", 0
	for _, field := range sortedKeys(errs) {
		for _, m := range errs[field] {
			if first == "" {
				first = m
			}
			n++
		}
	}
	if first == "" {
		return "The given data was invalid."
	}
	switch n {
	case 1:
		return first
	case 2:
		return first + " (and 1 more error)"
	default:
		return first + " (and " + strconv.Itoa(n-1) + " more errors)"
	}
}

func sortedKeys(errs Errors) []string {
	keys := make([]string, 0, len(errs))
	for k := range errs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Unauthenticated writes Laravel's 401.
func Unauthenticated(ctx *fasthttp.RequestCtx) {
	Error(ctx, fasthttp.StatusUnauthorized, "Unauthenticated.")
}

// Forbidden writes Laravel's 403.
func Forbidden(ctx *fasthttp.RequestCtx) {
	Error(ctx, fasthttp.StatusForbidden, "This action is unauthorized.")
}

// NotFound writes Laravel's 404.
func NotFound(ctx *fasthttp.RequestCtx) { Error(ctx, fasthttp.StatusNotFound, "Not Found") }
