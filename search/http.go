package search

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/mysharpjob/sharpjob/api"
	"github.com/mysharpjob/sharpjob/store"
)

// HTTP serves the host-native search endpoints:
//
//	GET /api/search/artisans              q lat lng radius_km skills[] category min_rating verified max_rate sort page per_page facets
//	GET /api/search/jobs                  q lat lng radius_km category skills[] budget_min budget_max status sort page per_page facets
//	GET /api/search/suggest               q limit
//	GET /api/jobs/{id}/matches            radius_km limit   (the job's client or an admin)
//	GET /api/artisans/me/recommended-jobs radius_km limit   (artisans)
//
// Pages are Laravel's {data, links, meta} with exact totals, plus "facets" (skill
// and category counts over the whole result) unless facets=0. Every hit carries
// distance_km when lat/lng are given. Bad parameters answer 422 with field errors.
type HTTP struct {
	engine  Engine
	db      *store.DB
	logger  *slog.Logger
	Timeout time.Duration // per search (default 5s)
}

// NewHTTP returns the handlers; mount them with Handle.
func NewHTTP(engine Engine, db *store.DB, logger *slog.Logger) *HTTP {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &HTTP{engine: engine, db: db, logger: logger, Timeout: 5 * time.Second}
}

// Handle serves the request and returns true when the path is one of the search
// endpoints; it returns false, writing nothing, for any other path.
func (h *HTTP) Handle(ctx *fasthttp.RequestCtx, p api.Principal) bool {
	path := string(ctx.Path())
	var serve func(*fasthttp.RequestCtx, api.Principal)
	switch {
	case path == "/api/search/artisans":
		serve = h.searchArtisans
	case path == "/api/search/jobs":
		serve = h.searchJobs
	case path == "/api/search/suggest":
		serve = h.suggest
	case path == "/api/artisans/me/recommended-jobs":
		serve = h.recommendedJobs
	case strings.HasPrefix(path, "/api/jobs/") && strings.HasSuffix(path, "/matches"):
		id := strings.TrimSuffix(strings.TrimPrefix(path, "/api/jobs/"), "/matches")
		if strings.Contains(id, "/") {
			return false
		}
		serve = func(ctx *fasthttp.RequestCtx, p api.Principal) { h.jobMatches(ctx, p, id) }
	default:
		return false
	}
	if !ctx.IsGet() && !ctx.IsHead() {
		ctx.Response.Header.Set("Allow", "GET, HEAD")
		api.Error(ctx, fasthttp.StatusMethodNotAllowed, "The "+string(ctx.Method())+" method is not supported for route "+strings.TrimPrefix(path, "/")+". Supported methods: GET, HEAD.")
		return true
	}
	serve(ctx, p)
	return true
}

func (h *HTTP) context(*fasthttp.RequestCtx) (context.Context, context.CancelFunc) {
	// Not derived from ctx: a *RequestCtx must not outlive the handler.
	return context.WithTimeout(context.Background(), h.Timeout)
}

// fail answers an engine or database error: 503 when search is unreachable, else 500.
func (h *HTTP) fail(ctx *fasthttp.RequestCtx, what string, err error) {
	if errors.Is(err, ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		h.logger.Warn("search unavailable", "op", what, "engine", h.engine.Name(), "err", err)
		ctx.Response.Header.Set("Retry-After", "5")
		api.Error(ctx, fasthttp.StatusServiceUnavailable, "Search is temporarily unavailable.")
		return
	}
	h.logger.Error("search failed", "op", what, "engine", h.engine.Name(), "err", err)
	api.Error(ctx, fasthttp.StatusInternalServerError, "Server Error")
}

// params reads query parameters, collecting Laravel-style field errors.
type params struct {
	args *fasthttp.Args
	errs api.Errors
}

func newParams(ctx *fasthttp.RequestCtx) *params {
	return &params{args: ctx.QueryArgs(), errs: api.Errors{}}
}

func label(name string) string { return strings.ReplaceAll(name, "_", " ") }

func (p *params) has(name string) bool {
	return len(strings.TrimSpace(string(p.args.Peek(name)))) > 0
}

func (p *params) str(name string, maxLen int) string {
	v := strings.TrimSpace(string(p.args.Peek(name)))
	if len([]rune(v)) > maxLen {
		p.errs.Add(name, "The "+label(name)+" field must not be greater than "+strconv.Itoa(maxLen)+" characters.")
		return ""
	}
	return v
}

func (p *params) float(name string, lo, hi float64) *float64 {
	if !p.has(name) {
		return nil
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(string(p.args.Peek(name))), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		p.errs.Add(name, "The "+label(name)+" field must be a number.")
		return nil
	}
	if v < lo || v > hi {
		p.errs.Add(name, "The "+label(name)+" field must be between "+num(lo)+" and "+num(hi)+".")
		return nil
	}
	return &v
}

func (p *params) int(name string, lo, hi int64) *int64 {
	if !p.has(name) {
		return nil
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(p.args.Peek(name))), 10, 64)
	if err != nil {
		p.errs.Add(name, "The "+label(name)+" field must be an integer.")
		return nil
	}
	if v < lo || v > hi {
		p.errs.Add(name, "The "+label(name)+" field must be between "+strconv.FormatInt(lo, 10)+" and "+strconv.FormatInt(hi, 10)+".")
		return nil
	}
	return &v
}

func (p *params) bool(name string) *bool {
	if !p.has(name) {
		return nil
	}
	switch strings.ToLower(strings.TrimSpace(string(p.args.Peek(name)))) {
	case "1", "true", "on", "yes":
		return ptrTo(true)
	case "0", "false", "off", "no":
		return ptrTo(false)
	}
	p.errs.Add(name, "The "+label(name)+" field must be true or false.")
	return nil
}

func ptrTo[T any](v T) *T { return &v }

// list reads name[]=a&name[]=b, also name=a,b.
func (p *params) list(name string, maxItems int) []string {
	var out []string
	for _, raw := range append(p.args.PeekMulti(name+"[]"), p.args.PeekMulti(name)...) {
		for _, v := range strings.Split(string(raw), ",") {
			if v = strings.TrimSpace(v); v != "" {
				if len([]rune(v)) > 60 {
					p.errs.Add(name, "Each of the "+label(name)+" must not be greater than 60 characters.")
					return nil
				}
				out = append(out, v)
			}
		}
	}
	if len(out) > maxItems {
		p.errs.Add(name, "The "+label(name)+" field must not have more than "+strconv.Itoa(maxItems)+" items.")
		return nil
	}
	return out
}

func (p *params) oneOf(name, def string, allowed ...string) string {
	if !p.has(name) {
		return def
	}
	v := strings.ToLower(strings.TrimSpace(string(p.args.Peek(name))))
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	p.errs.Add(name, "The selected "+label(name)+" is invalid.")
	return def
}

// point reads lat/lng (both or neither) and radius_km (which needs them).
func (p *params) point() (*Point, float64) {
	lat := p.float("lat", -90, 90)
	lng := p.float("lng", -180, 180)
	radius := p.float("radius_km", 0.1, 500)
	hasLat, hasLng := p.has("lat"), p.has("lng")
	if hasLat && !hasLng {
		p.errs.Add("lng", "The lng field is required when lat is present.")
	}
	if hasLng && !hasLat {
		p.errs.Add("lat", "The lat field is required when lng is present.")
	}
	if p.has("radius_km") && !(hasLat && hasLng) {
		p.errs.Add("radius_km", "The radius km field requires lat and lng.")
	}
	if lat == nil || lng == nil {
		return nil, 0
	}
	r := 0.0
	if radius != nil {
		r = *radius
	}
	return &Point{*lat, *lng}, r
}

func (p *params) paging() (page, perPage int) {
	page, perPage = 1, 15
	if v := p.int("page", 1, 10000); v != nil {
		page = int(*v)
	}
	if v := p.int("per_page", 1, 100); v != nil {
		perPage = int(*v)
	}
	return page, perPage
}

func (p *params) sort(point *Point, allowed ...string) Sort {
	s := Sort(p.oneOf("sort", string(SortRelevance), allowed...))
	if s == SortDistance && point == nil {
		p.errs.Add("sort", "The distance sort requires lat and lng.")
	}
	return s
}

// pageQuery is the query string without page, for the page links.
func pageQuery(ctx *fasthttp.RequestCtx) string {
	var a fasthttp.Args
	ctx.QueryArgs().CopyTo(&a)
	a.Del("page")
	return a.String()
}

type searchPage struct {
	api.Page
	Facets Facets `json:"facets,omitempty"`
}

func (h *HTTP) searchArtisans(ctx *fasthttp.RequestCtx, _ api.Principal) {
	p := newParams(ctx)
	var q ArtisanQuery
	q.Q = p.str("q", 200)
	q.Point, q.RadiusKm = p.point()
	q.Skills = p.list("skills", 20)
	q.Category = p.str("category", 60)
	q.MinRating = p.float("min_rating", 0, 5)
	q.Verified = p.bool("verified")
	q.MaxRate = p.int("max_rate", 0, math.MaxInt32*1000)
	q.Sort = p.sort(q.Point, "relevance", "distance", "rating", "price")
	q.Page, q.PerPage = p.paging()
	facets := p.bool("facets")
	q.Facets = facets == nil || *facets
	if len(p.errs) > 0 {
		api.Invalid(ctx, p.errs)
		return
	}
	c, cancel := h.context(ctx)
	defer cancel()
	res, err := h.engine.SearchArtisans(c, q)
	if err != nil {
		h.fail(ctx, "search artisans", err)
		return
	}
	api.JSON(ctx, fasthttp.StatusOK, searchPage{
		Page:   api.NewPage(res.Hits, len(res.Hits), q.Page, q.PerPage, res.Total, "/api/search/artisans", pageQuery(ctx)),
		Facets: res.Facets,
	})
}

func (h *HTTP) searchJobs(ctx *fasthttp.RequestCtx, _ api.Principal) {
	p := newParams(ctx)
	var q JobQuery
	q.Q = p.str("q", 200)
	q.Point, q.RadiusKm = p.point()
	q.Category = p.str("category", 60)
	q.Skills = p.list("skills", 20)
	q.BudgetMin = p.int("budget_min", 0, math.MaxInt64/2)
	q.BudgetMax = p.int("budget_max", 0, math.MaxInt64/2)
	if q.BudgetMin != nil && q.BudgetMax != nil && *q.BudgetMax < *q.BudgetMin {
		p.errs.Add("budget_max", "The budget max field must be greater than or equal to budget min.")
	}
	q.Status = p.oneOf("status", "open", "open", "in_progress", "completed", "cancelled")
	q.Sort = p.sort(q.Point, "relevance", "distance", "date", "price")
	q.Page, q.PerPage = p.paging()
	facets := p.bool("facets")
	q.Facets = facets == nil || *facets
	if len(p.errs) > 0 {
		api.Invalid(ctx, p.errs)
		return
	}
	c, cancel := h.context(ctx)
	defer cancel()
	res, err := h.engine.SearchJobs(c, q)
	if err != nil {
		h.fail(ctx, "search jobs", err)
		return
	}
	api.JSON(ctx, fasthttp.StatusOK, searchPage{
		Page:   api.NewPage(res.Hits, len(res.Hits), q.Page, q.PerPage, res.Total, "/api/search/jobs", pageQuery(ctx)),
		Facets: res.Facets,
	})
}

func (h *HTTP) suggest(ctx *fasthttp.RequestCtx, _ api.Principal) {
	p := newParams(ctx)
	q := p.str("q", 100)
	limit := 8
	if v := p.int("limit", 1, 20); v != nil {
		limit = int(*v)
	}
	if len(p.errs) > 0 {
		api.Invalid(ctx, p.errs)
		return
	}
	c, cancel := h.context(ctx)
	defer cancel()
	s, err := h.engine.Suggest(c, q, limit)
	if err != nil {
		h.fail(ctx, "suggest", err)
		return
	}
	api.JSON(ctx, fasthttp.StatusOK, map[string]any{"data": s})
}

func (p *params) matchOptions() (radius float64, limit int) {
	radius, limit = 50, 10
	if v := p.float("radius_km", 0.1, 500); v != nil {
		radius = *v
	}
	if v := p.int("limit", 1, 50); v != nil {
		limit = int(*v)
	}
	return radius, limit
}

func matchMeta(radius float64) map[string]any {
	weights := map[string]float64{}
	for _, w := range MatchWeights {
		weights[w.Name] = w.Weight
	}
	return map[string]any{"radius_km": radius, "weights": weights, "max_score": 100}
}

func (h *HTTP) jobMatches(ctx *fasthttp.RequestCtx, pr api.Principal, rawID string) {
	if !pr.Authenticated() {
		api.Unauthenticated(ctx)
		return
	}
	id, err := strconv.ParseInt(rawID, 10, 64)
	if err != nil || id <= 0 {
		api.NotFound(ctx)
		return
	}
	p := newParams(ctx)
	radius, limit := p.matchOptions()
	if len(p.errs) > 0 {
		api.Invalid(ctx, p.errs)
		return
	}
	c, cancel := h.context(ctx)
	defer cancel()
	job, ok, err := LoadJob(c, h.db, id)
	if err != nil {
		h.fail(ctx, "load job", err)
		return
	}
	if !ok {
		api.NotFound(ctx)
		return
	}
	if pr.Role != "admin" && pr.UserID != job.ClientID {
		api.Forbidden(ctx)
		return
	}
	matches, err := MatchArtisans(c, h.engine, job, radius, limit)
	if err != nil {
		h.fail(ctx, "match artisans", err)
		return
	}
	meta := matchMeta(radius)
	meta["job_id"] = job.ID
	api.JSON(ctx, fasthttp.StatusOK, map[string]any{"data": matches, "meta": meta})
}

func (h *HTTP) recommendedJobs(ctx *fasthttp.RequestCtx, pr api.Principal) {
	if !pr.Authenticated() {
		api.Unauthenticated(ctx)
		return
	}
	if pr.Role != "artisan" {
		api.Forbidden(ctx)
		return
	}
	p := newParams(ctx)
	radius, limit := p.matchOptions()
	if len(p.errs) > 0 {
		api.Invalid(ctx, p.errs)
		return
	}
	c, cancel := h.context(ctx)
	defer cancel()
	a, ok, err := LoadArtisan(c, h.db, pr.UserID)
	if err != nil {
		h.fail(ctx, "load artisan", err)
		return
	}
	if !ok {
		api.Error(ctx, fasthttp.StatusNotFound, "Create your artisan profile to get job recommendations.")
		return
	}
	matches, err := MatchJobs(c, h.engine, a, radius, limit)
	if err != nil {
		h.fail(ctx, "match jobs", err)
		return
	}
	meta := matchMeta(radius)
	meta["artisan_id"] = a.ID
	api.JSON(ctx, fasthttp.StatusOK, map[string]any{"data": matches, "meta": meta})
}
