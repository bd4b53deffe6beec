// Package api holds the Laravel-compatible wire shapes every host-native endpoint
// shares: the verified principal, errors, validation errors and resource pages.
// Plugins write the same shapes from the guest side (plugins/sdk).
package api

import (
	"encoding/json"

	"github.com/mysharpjob/sharpjob/api/laravel"

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
type Errors = laravel.Errors

// Page is a Laravel resource collection page.
type Page = laravel.Page

// NewPage builds a page; see laravel.NewPage.
var NewPage = laravel.NewPage

// Summary is Laravel's validation message; see laravel.Summary.
var Summary = laravel.Summary

// JSON writes v with the given status.
func JSON(ctx *fasthttp.RequestCtx, status int, v any) {
	ctx.SetContentType("application/json")
	enc := json.NewEncoder(ctx) // writes the body; no HTML escaping, so links keep their '&'
	enc.SetEscapeHTML(false)
	ctx.Response.ResetBody()
	if err := enc.Encode(v); err != nil {
		ctx.Response.ResetBody()
		status = fasthttp.StatusInternalServerError
		ctx.SetBodyString(`{"message":"Server Error"}`)
	}
	ctx.SetStatusCode(status)
}

// Error writes {"message": msg} with status.
func Error(ctx *fasthttp.RequestCtx, status int, msg string) {
	JSON(ctx, status, map[string]string{"message": msg})
}

// Invalid writes Laravel's 422: the first error as the message, every field's list.
func Invalid(ctx *fasthttp.RequestCtx, errs Errors) {
	JSON(ctx, fasthttp.StatusUnprocessableEntity, map[string]any{"message": Summary(errs), "errors": errs})
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
