// Package laravel holds the pure wire shapes of a Laravel API — validation errors,
// their summary message and resource pages — with no HTTP library attached, so the
// host (package api) and Wasm guests (plugins/sdk) share one copy.
package laravel

import (
	"slices"
	"strconv"
)

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
