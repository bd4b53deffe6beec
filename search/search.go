// Package search owns location and matching search for SharpJob: the Engine
// contract in our own types, a Meilisearch implementation (engine_meili.go), an
// embedded libSQL implementation (engine_embedded.go, FTS5 + bounding box +
// haversine), the outbox drainer that keeps either in step with the database
// (syncer.go), swap-based rebuilds (reindex.go), job/artisan matching (match.go)
// and the host-native HTTP endpoints (http.go).
//
// Lifecycle: EngineFromEnv → Engine.Setup (idempotent settings) → NewSyncer(...).Run
// in the background → NewHTTP(...).Handle per request → Engine.Close.
//
// Both engines live in this one package (files per implementation, Centrifuge
// style) rather than in subpackages: EngineFromEnv must pick one, and a subpackage
// that implements search.Engine would have to import this package, a cycle.
// No Meilisearch or SQL type appears in an exported signature.
package search

import (
	"context"
	"errors"
	"math"
)

// Index names a search index; the values are also the outbox's index_name.
type Index string

const (
	Artisans Index = "artisans"
	Jobs     Index = "jobs"
)

// Sort orders results. SortRelevance with an empty query falls back to the nearest
// first when a point is given, else rating (artisans) or newest (jobs).
type Sort string

const (
	SortRelevance Sort = "relevance"
	SortDistance  Sort = "distance"
	SortRating    Sort = "rating" // artisans: rating, then review count, best first
	SortPrice     Sort = "price"  // artisans: hourly rate, cheapest first; jobs: budget, largest first
	SortDate      Sort = "date"   // jobs: newest first
)

// ErrUnavailable wraps engine failures that are worth retrying (network, engine down).
var ErrUnavailable = errors.New("search: engine unavailable")

// Point is a WGS84 coordinate in degrees.
type Point struct {
	Lat float64 `json:"lat"`
	Lng float64 `json:"lng"`
}

// ArtisanDoc is the artisans index document, built from artisan_profiles + users.
type ArtisanDoc struct {
	ID           int64    `json:"id"` // the artisan's user id
	Name         string   `json:"name"`
	Headline     string   `json:"headline"`
	Bio          string   `json:"bio"`
	Skills       []string `json:"skills"`
	Categories   []string `json:"categories"`
	HourlyRate   int64    `json:"hourly_rate"` // minor units
	Currency     string   `json:"currency"`
	Lat          *float64 `json:"lat"`
	Lng          *float64 `json:"lng"`
	City         string   `json:"city"`
	Address      string   `json:"address"`
	Availability string   `json:"availability"` // available | busy | unavailable
	Verified     bool     `json:"verified"`
	Rating       float64  `json:"rating"`
	ReviewCount  int      `json:"review_count"`
	UpdatedAt    string   `json:"updated_at"`
}

// Point returns the artisan's location, or nil when none is set.
func (d *ArtisanDoc) Point() *Point {
	if d.Lat == nil || d.Lng == nil {
		return nil
	}
	return &Point{*d.Lat, *d.Lng}
}

// JobDoc is the jobs index document, built from jobs.
type JobDoc struct {
	ID          int64    `json:"id"`
	ClientID    int64    `json:"client_id"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Category    string   `json:"category"`
	Skills      []string `json:"skills"`
	Budget      int64    `json:"budget"` // minor units
	Currency    string   `json:"currency"`
	Lat         float64  `json:"lat"`
	Lng         float64  `json:"lng"`
	Address     string   `json:"address"`
	Status      string   `json:"status"`
	CreatedAt   string   `json:"created_at"`
	CreatedTS   int64    `json:"created_ts"` // unix seconds of CreatedAt, for sorting
}

// Batch carries documents to upsert.
type Batch struct {
	Artisans []ArtisanDoc
	Jobs     []JobDoc
}

// Len counts the documents in b.
func (b Batch) Len() int { return len(b.Artisans) + len(b.Jobs) }

// Candidates restricts results to documents sharing at least one skill or one
// category with the given lists (matching's pre-filter).
type Candidates struct {
	Skills     []string
	Categories []string
}

// ArtisanQuery is a search over the artisans index. Zero values mean "no filter".
type ArtisanQuery struct {
	Q          string
	Point      *Point
	RadiusKm   float64  // needs Point; 0 = unbounded
	Skills     []string // every listed skill must be present
	Category   string
	MinRating  *float64
	Verified   *bool
	MaxRate    *int64
	Available  bool // exclude availability = unavailable
	Candidates *Candidates
	Sort       Sort
	Page       int // from 1
	PerPage    int
	Facets     bool // count skills and categories over the whole result set
}

// JobQuery is a search over the jobs index.
type JobQuery struct {
	Q          string
	Point      *Point
	RadiusKm   float64
	Category   string
	Skills     []string // every listed skill must be present
	BudgetMin  *int64
	BudgetMax  *int64
	Status     string // "" = any
	ClientID   int64  // 0 = any
	Candidates *Candidates
	Sort       Sort
	Page       int
	PerPage    int
	Facets     bool // count skills and category
}

// ArtisanHit is one artisan result; DistanceKm is set when the query had a point
// and the artisan a location (haversine, km).
type ArtisanHit struct {
	ArtisanDoc
	DistanceKm *float64 `json:"distance_km,omitempty"`
}

// JobHit is one job result.
type JobHit struct {
	JobDoc
	DistanceKm *float64 `json:"distance_km,omitempty"`
}

// Facets maps a facet (skills, categories, category) to value → count.
type Facets map[string]map[string]int

// ArtisanResults is one page of artisans with the exact total.
type ArtisanResults struct {
	Hits   []ArtisanHit
	Total  int
	Facets Facets
}

// JobResults is one page of jobs with the exact total.
type JobResults struct {
	Hits   []JobHit
	Total  int
	Facets Facets
}

// Suggestion is one search-box completion.
type Suggestion struct {
	Text string `json:"text"`
	Kind string `json:"type"` // skill | category | artisan | job
	ID   int64  `json:"id,omitempty"`
}

// Engine is a search backend. Implementations: Meili (engine_meili.go) and
// Embedded (engine_embedded.go); contract_test.go runs the same suite on both.
//
// Writes are idempotent by document id, so the at-least-once outbox delivers each
// write exactly once as far as searches can tell. A write returns nil only once
// the engine has applied it.
type Engine interface {
	// Name is "meilisearch" or "embedded", for /healthz and logs.
	Name() string
	// Setup creates missing indexes and applies their settings; safe to call on every
	// start. It returns the indexes whose settings changed while they hold documents:
	// Prepare rebuilds those into fresh indexes and swaps them in (no downtime).
	Setup(ctx context.Context) ([]Index, error)
	// Upsert adds or replaces documents.
	Upsert(ctx context.Context, b Batch) error
	// Delete removes documents by id; missing ids are not an error.
	Delete(ctx context.Context, index Index, ids []int64) error
	SearchArtisans(ctx context.Context, q ArtisanQuery) (ArtisanResults, error)
	SearchJobs(ctx context.Context, q JobQuery) (JobResults, error)
	// Suggest returns typo-tolerant (Meilisearch) or prefix (embedded) completions.
	Suggest(ctx context.Context, q string, limit int) ([]Suggestion, error)
	// Rebuild fills a fresh copy of index through put, then replaces the live index
	// with it atomically: searches see the old index or the new one, never a mix.
	Rebuild(ctx context.Context, index Index, fill func(put func(Batch) error) error) error
	// Count returns how many documents index holds.
	Count(ctx context.Context, index Index) (int, error)
	Close() error
}

const earthRadiusKm = 6371.0 // the radius Meilisearch's _geoRadius uses, so both engines agree at the edge

// HaversineKm is the great-circle distance between a and b in kilometres.
func HaversineKm(a, b Point) float64 {
	const rad = math.Pi / 180
	dLat := (b.Lat - a.Lat) * rad
	dLng := (b.Lng - a.Lng) * rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(a.Lat*rad)*math.Cos(b.Lat*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * earthRadiusKm * math.Asin(math.Min(1, math.Sqrt(h)))
}

// boundingBox returns the lat/lng box that contains the circle of radiusKm around p.
func boundingBox(p Point, radiusKm float64) (minLat, maxLat, minLng, maxLng float64) {
	dLat := radiusKm / earthRadiusKm * 180 / math.Pi
	minLat, maxLat = p.Lat-dLat, p.Lat+dLat
	cos := math.Cos(p.Lat * math.Pi / 180)
	if cos < 1e-6 || maxLat >= 90 || minLat <= -90 {
		return math.Max(minLat, -90), math.Min(maxLat, 90), -180, 180
	}
	dLng := dLat / cos
	return minLat, maxLat, p.Lng - dLng, p.Lng + dLng
}

func roundKm(km float64) *float64 {
	v := math.Round(km*1000) / 1000
	return &v
}

func distanceFrom(p *Point, lat, lng *float64) *float64 {
	if p == nil || lat == nil || lng == nil {
		return nil
	}
	return roundKm(HaversineKm(*p, Point{*lat, *lng}))
}

func (q *ArtisanQuery) normalize() {
	if q.Page < 1 {
		q.Page = 1
	}
	if q.PerPage < 1 {
		q.PerPage = 15
	}
	if q.Sort == "" {
		q.Sort = SortRelevance
	}
}

func (q *JobQuery) normalize() {
	if q.Page < 1 {
		q.Page = 1
	}
	if q.PerPage < 1 {
		q.PerPage = 15
	}
	if q.Sort == "" {
		q.Sort = SortRelevance
	}
}
