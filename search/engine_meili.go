package search

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/meilisearch/meilisearch-go"
)

// Meili is the Meilisearch engine. Index uids are Prefix+"artisans" and
// Prefix+"jobs"; Rebuild fills Prefix+"<index>_rebuild" and swaps it in.
type Meili struct {
	client meilisearch.ServiceManager
	prefix string
	poll   time.Duration
}

var _ Engine = (*Meili)(nil)

// MeiliConfig configures NewMeili.
type MeiliConfig struct {
	URL, Key string
	Prefix   string        // index uid prefix (MEILI_INDEX_PREFIX), lets several apps or tests share one server
	Poll     time.Duration // task status poll interval (default 5ms)
	Timeout  time.Duration // per-request HTTP timeout (default 10s)
}

// NewMeili connects to Meilisearch. It does not contact the server; Setup does.
func NewMeili(cfg MeiliConfig) *Meili {
	if cfg.Poll <= 0 {
		cfg.Poll = 5 * time.Millisecond
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	client := meilisearch.New(cfg.URL,
		meilisearch.WithAPIKey(cfg.Key),
		meilisearch.WithCustomClient(&http.Client{Transport: meiliTransport(), Timeout: cfg.Timeout}),
		meilisearch.WithCustomRetries([]int{502, 503, 504}, 2))
	return &Meili{client: client, prefix: cfg.Prefix, poll: cfg.Poll}
}

func (m *Meili) Name() string { return "meilisearch" }

func (m *Meili) Close() error {
	m.client.Close()
	return nil
}

func (m *Meili) uid(index Index) string { return m.prefix + string(index) }

// The index settings. Changing them here makes Setup report the index stale;
// Prepare then rebuilds it into a fresh index and swaps, so there is no downtime.
// "sort" comes first among the ranking rules so that an explicit sort (distance,
// rating, price, date) orders every match; relevance search sends no sort, and the
// text rules rank it.
var meiliSettings = map[Index]*meilisearch.Settings{
	Artisans: {
		SearchableAttributes: []string{"name", "skills", "headline", "categories", "city", "bio"},
		FilterableAttributes: []string{"_geo", "availability", "categories", "city", "hourly_rate", "id", "rating", "review_count", "skills", "verified"},
		SortableAttributes:   []string{"_geo", "hourly_rate", "id", "rating", "review_count"},
		RankingRules:         []string{"sort", "words", "typo", "proximity", "attribute", "exactness"},
		Pagination:           &meilisearch.Pagination{MaxTotalHits: 1_000_000},
		Faceting:             &meilisearch.Faceting{MaxValuesPerFacet: 100},
	},
	Jobs: {
		SearchableAttributes: []string{"title", "skills", "category", "description", "address"},
		FilterableAttributes: []string{"_geo", "budget", "category", "client_id", "created_ts", "id", "skills", "status"},
		SortableAttributes:   []string{"_geo", "budget", "created_ts", "id"},
		RankingRules:         []string{"sort", "words", "typo", "proximity", "attribute", "exactness"},
		Pagination:           &meilisearch.Pagination{MaxTotalHits: 1_000_000},
		Faceting:             &meilisearch.Faceting{MaxValuesPerFacet: 100},
	},
}

// meiliErr classifies a client error: transport failures and 5xx are ErrUnavailable.
func meiliErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var me *meilisearch.Error
	if errors.As(err, &me) && me.StatusCode >= 400 && me.StatusCode < 500 {
		return fmt.Errorf("search: meilisearch %s: %s (%s)", op, me.APIError.Message, me.APIError.Code)
	}
	return fmt.Errorf("search: meilisearch %s: %w: %v", op, ErrUnavailable, err)
}

// wait blocks until the task finished and turns anything but "succeeded" into an
// error: WaitForTask itself reports a failed task without an error.
func (m *Meili) wait(ctx context.Context, op string, info *meilisearch.TaskInfo, err error) error {
	if err != nil {
		return meiliErr(op, err)
	}
	task, err := m.client.WaitForTask(ctx, info.TaskUID, m.poll)
	if err != nil {
		return meiliErr(op+" (waiting for task "+strconv.FormatInt(info.TaskUID, 10)+")", err)
	}
	if task.Status != meilisearch.TaskStatusSucceeded {
		return &taskError{op: op, uid: info.TaskUID, status: string(task.Status), code: string(task.Error.Code), msg: task.Error.Message}
	}
	return nil
}

type taskError struct {
	op, status, code, msg string
	uid                   int64
}

func (e *taskError) Error() string {
	return fmt.Sprintf("search: meilisearch %s: task %d %s: %s (%s)", e.op, e.uid, e.status, e.msg, e.code)
}

func isCode(err error, code string) bool {
	var te *taskError
	if errors.As(err, &te) && te.code == code {
		return true
	}
	var me *meilisearch.Error
	return errors.As(err, &me) && string(me.APIError.Code) == code
}

func (m *Meili) ensureIndex(ctx context.Context, uid string) (created bool, err error) {
	info, err := m.client.CreateIndex(ctx, &meilisearch.IndexConfig{Uid: uid, PrimaryKey: "id"})
	err = m.wait(ctx, "create index "+uid, info, err)
	if isCode(err, "index_already_exists") {
		return false, nil
	}
	return err == nil, err
}

// Setup creates missing indexes with their settings and returns the existing
// indexes whose settings differ from meiliSettings: those need a Rebuild (see
// Prepare), which applies the new settings to a fresh index and swaps it in.
func (m *Meili) Setup(ctx context.Context) ([]Index, error) {
	var stale []Index
	for _, index := range []Index{Artisans, Jobs} {
		uid := m.uid(index)
		created, err := m.ensureIndex(ctx, uid)
		if err != nil {
			return nil, err
		}
		want := meiliSettings[index]
		if !created {
			have, err := m.client.Index(uid).GetSettings(ctx)
			if err != nil {
				return nil, meiliErr("get settings of "+uid, err)
			}
			if !sameSettings(have, want) {
				stats, err := m.client.Index(uid).GetStats(ctx, nil)
				if err != nil {
					return nil, meiliErr("stats of "+uid, err)
				}
				if stats.NumberOfDocuments > 0 {
					stale = append(stale, index)
					continue
				}
			}
		}
		info, err := m.client.Index(uid).UpdateSettings(ctx, want)
		if err := m.wait(ctx, "update settings of "+uid, info, err); err != nil {
			return nil, err
		}
	}
	return stale, nil
}

func sameSettings(have, want *meilisearch.Settings) bool {
	sorted := func(s []string) []string {
		c := slices.Clone(s)
		slices.Sort(c)
		return c
	}
	return slices.Equal(have.SearchableAttributes, want.SearchableAttributes) &&
		slices.Equal(sorted(have.FilterableAttributes), sorted(want.FilterableAttributes)) &&
		slices.Equal(sorted(have.SortableAttributes), sorted(want.SortableAttributes)) &&
		slices.Equal(have.RankingRules, want.RankingRules) &&
		have.Pagination != nil && have.Pagination.MaxTotalHits == want.Pagination.MaxTotalHits &&
		have.Faceting != nil && have.Faceting.MaxValuesPerFacet == want.Faceting.MaxValuesPerFacet
}

type meiliGeo struct {
	Lat float64 `json:"lat"`
	Lng float64 `json:"lng"`
}

type meiliArtisan struct {
	ArtisanDoc
	Geo *meiliGeo `json:"_geo,omitempty"`
}

type meiliJob struct {
	JobDoc
	Geo *meiliGeo `json:"_geo,omitempty"`
}

func toMeiliArtisans(docs []ArtisanDoc) []meiliArtisan {
	out := make([]meiliArtisan, len(docs))
	for i, d := range docs {
		out[i].ArtisanDoc = d
		if d.Lat != nil && d.Lng != nil {
			out[i].Geo = &meiliGeo{*d.Lat, *d.Lng}
		}
		if out[i].Skills == nil {
			out[i].Skills = []string{}
		}
		if out[i].Categories == nil {
			out[i].Categories = []string{}
		}
	}
	return out
}

func toMeiliJobs(docs []JobDoc) []meiliJob {
	out := make([]meiliJob, len(docs))
	for i, d := range docs {
		out[i].JobDoc = d
		out[i].Geo = &meiliGeo{d.Lat, d.Lng}
		if out[i].Skills == nil {
			out[i].Skills = []string{}
		}
	}
	return out
}

var primaryKey = "id"

// enqueue sends b to the indexes named by uidFor and returns the task infos.
func (m *Meili) enqueue(ctx context.Context, b Batch, uidFor func(Index) string) ([]*meilisearch.TaskInfo, error) {
	var tasks []*meilisearch.TaskInfo
	opts := &meilisearch.DocumentOptions{PrimaryKey: &primaryKey}
	if len(b.Artisans) > 0 {
		docs := toMeiliArtisans(b.Artisans)
		info, err := m.client.Index(uidFor(Artisans)).AddDocuments(ctx, &docs, opts)
		if err != nil {
			return tasks, meiliErr("add artisans", err)
		}
		tasks = append(tasks, info)
	}
	if len(b.Jobs) > 0 {
		docs := toMeiliJobs(b.Jobs)
		info, err := m.client.Index(uidFor(Jobs)).AddDocuments(ctx, &docs, opts)
		if err != nil {
			return tasks, meiliErr("add jobs", err)
		}
		tasks = append(tasks, info)
	}
	return tasks, nil
}

func (m *Meili) Upsert(ctx context.Context, b Batch) error {
	tasks, err := m.enqueue(ctx, b, m.uid)
	for _, t := range tasks {
		err = errors.Join(err, m.wait(ctx, "upsert into "+t.IndexUID, t, nil))
	}
	return err
}

func (m *Meili) Delete(ctx context.Context, index Index, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	info, err := m.client.Index(m.uid(index)).DeleteDocuments(ctx, s, nil)
	return m.wait(ctx, "delete from "+m.uid(index), info, err)
}

func (m *Meili) Count(ctx context.Context, index Index) (int, error) {
	stats, err := m.client.Index(m.uid(index)).GetStats(ctx, nil)
	if err != nil {
		return 0, meiliErr("stats of "+m.uid(index), err)
	}
	return int(stats.NumberOfDocuments), nil
}

// Rebuild fills uid_rebuild (with the current settings) and swaps it with the live
// index in one Meilisearch task, then drops the old copy.
func (m *Meili) Rebuild(ctx context.Context, index Index, fill func(put func(Batch) error) error) error {
	live, tmp := m.uid(index), m.uid(index)+"_rebuild"
	info, err := m.client.DeleteIndex(ctx, tmp)
	if err := m.wait(ctx, "drop "+tmp, info, err); err != nil && !isCode(err, "index_not_found") {
		return err
	}
	if _, err := m.ensureIndex(ctx, tmp); err != nil {
		return err
	}
	info, err = m.client.Index(tmp).UpdateSettings(ctx, meiliSettings[index])
	if err := m.wait(ctx, "settings of "+tmp, info, err); err != nil {
		return err
	}
	// Enqueue every batch without waiting: Meilisearch auto-batches consecutive
	// additions to one index into one indexing run, much faster than one by one.
	var tasks []*meilisearch.TaskInfo
	err = fill(func(b Batch) error {
		t, err := m.enqueue(ctx, b, func(Index) string { return tmp })
		tasks = append(tasks, t...)
		return err
	})
	for _, t := range tasks {
		if err != nil {
			break
		}
		err = m.wait(ctx, "fill "+tmp, t, nil)
	}
	if err != nil {
		return err
	}
	if _, err := m.ensureIndex(ctx, live); err != nil {
		return err
	}
	info, err = m.client.SwapIndexes(ctx, []*meilisearch.SwapIndexesParams{{Indexes: []string{live, tmp}}})
	if err := m.wait(ctx, "swap "+live+" and "+tmp, info, err); err != nil {
		return err
	}
	info, err = m.client.DeleteIndex(ctx, tmp)
	return m.wait(ctx, "drop "+tmp, info, err)
}

// quote renders a string as a Meilisearch filter literal.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func geoFilter(p *Point, radiusKm float64) string {
	return fmt.Sprintf("_geoRadius(%s, %s, %s)", num(p.Lat), num(p.Lng), num(radiusKm*1000))
}

func geoSort(p *Point) string {
	return fmt.Sprintf("_geoPoint(%s, %s):asc", num(p.Lat), num(p.Lng))
}

// meiliArtisanFilter is the Meilisearch filter for q: conditions ANDed.
func meiliArtisanFilter(q ArtisanQuery) []string {
	var f []string
	if q.Point != nil && q.RadiusKm > 0 {
		f = append(f, geoFilter(q.Point, q.RadiusKm))
	}
	for _, s := range q.Skills {
		f = append(f, "skills = "+quote(s))
	}
	if q.Category != "" {
		f = append(f, "categories = "+quote(q.Category))
	}
	if q.MinRating != nil {
		f = append(f, "rating >= "+num(*q.MinRating))
	}
	if q.Verified != nil {
		f = append(f, "verified = "+strconv.FormatBool(*q.Verified))
	}
	if q.MaxRate != nil {
		f = append(f, "hourly_rate <= "+strconv.FormatInt(*q.MaxRate, 10))
	}
	if q.Available {
		f = append(f, `availability != "unavailable"`)
	}
	if c := q.Candidates; c != nil {
		var or []string
		if len(c.Skills) > 0 {
			or = append(or, "skills IN "+quoteList(c.Skills))
		}
		if len(c.Categories) > 0 {
			or = append(or, "categories IN "+quoteList(c.Categories))
		}
		if len(or) > 0 {
			f = append(f, "("+strings.Join(or, " OR ")+")")
		}
	}
	return f
}

func meiliArtisanSort(q ArtisanQuery) []string {
	switch effectiveArtisanSort(q) {
	case SortDistance:
		return []string{geoSort(q.Point), "id:asc"}
	case SortRating:
		return []string{"rating:desc", "review_count:desc", "id:asc"}
	case SortPrice:
		return []string{"hourly_rate:asc", "id:asc"}
	}
	return nil
}

// effectiveArtisanSort resolves relevance without text to a concrete order.
func effectiveArtisanSort(q ArtisanQuery) Sort {
	if q.Sort == SortRelevance && strings.TrimSpace(q.Q) == "" {
		if q.Point != nil {
			return SortDistance
		}
		return SortRating
	}
	return q.Sort
}

func effectiveJobSort(q JobQuery) Sort {
	if q.Sort == SortRelevance && strings.TrimSpace(q.Q) == "" {
		if q.Point != nil {
			return SortDistance
		}
		return SortDate
	}
	return q.Sort
}

func meiliJobFilter(q JobQuery) []string {
	var f []string
	if q.Point != nil && q.RadiusKm > 0 {
		f = append(f, geoFilter(q.Point, q.RadiusKm))
	}
	if q.Category != "" {
		f = append(f, "category = "+quote(q.Category))
	}
	for _, s := range q.Skills {
		f = append(f, "skills = "+quote(s))
	}
	if q.BudgetMin != nil {
		f = append(f, "budget >= "+strconv.FormatInt(*q.BudgetMin, 10))
	}
	if q.BudgetMax != nil {
		f = append(f, "budget <= "+strconv.FormatInt(*q.BudgetMax, 10))
	}
	if q.Status != "" {
		f = append(f, "status = "+quote(q.Status))
	}
	if q.ClientID != 0 {
		f = append(f, "client_id = "+strconv.FormatInt(q.ClientID, 10))
	}
	if c := q.Candidates; c != nil {
		var or []string
		if len(c.Skills) > 0 {
			or = append(or, "skills IN "+quoteList(c.Skills))
		}
		if len(c.Categories) > 0 {
			or = append(or, "category IN "+quoteList(c.Categories))
		}
		if len(or) > 0 {
			f = append(f, "("+strings.Join(or, " OR ")+")")
		}
	}
	return f
}

func meiliJobSort(q JobQuery) []string {
	switch effectiveJobSort(q) {
	case SortDistance:
		return []string{geoSort(q.Point), "id:asc"}
	case SortDate:
		return []string{"created_ts:desc", "id:desc"}
	case SortPrice:
		return []string{"budget:desc", "id:asc"}
	}
	return nil
}

type meiliPage[T any] struct {
	Hits              []T                       `json:"hits"`
	TotalHits         int                       `json:"totalHits"`
	FacetDistribution map[string]map[string]int `json:"facetDistribution"`
}

// artisanRequest is the search request SearchArtisans sends (SearchArtisansDirect
// sends it too, for the benchmark's baseline).
func (m *Meili) artisanRequest(q ArtisanQuery) *meilisearch.SearchRequest {
	q.normalize()
	per := int64(q.PerPage)
	req := &meilisearch.SearchRequest{
		Filter:           meiliArtisanFilter(q),
		Sort:             meiliArtisanSort(q),
		Page:             int64(q.Page),
		HitsPerPage:      &per,
		MatchingStrategy: meilisearch.All,
	}
	if q.Facets {
		req.Facets = []string{"skills", "categories"}
	}
	return req
}

func (m *Meili) jobRequest(q JobQuery) *meilisearch.SearchRequest {
	q.normalize()
	per := int64(q.PerPage)
	req := &meilisearch.SearchRequest{
		Filter:           meiliJobFilter(q),
		Sort:             meiliJobSort(q),
		Page:             int64(q.Page),
		HitsPerPage:      &per,
		MatchingStrategy: meilisearch.All,
	}
	if q.Facets {
		req.Facets = []string{"skills", "category"}
	}
	return req
}

func (m *Meili) SearchArtisans(ctx context.Context, q ArtisanQuery) (ArtisanResults, error) {
	q.normalize()
	raw, err := m.client.Index(m.uid(Artisans)).SearchRaw(ctx, q.Q, m.artisanRequest(q))
	if err != nil {
		return ArtisanResults{}, meiliErr("search artisans", err)
	}
	var page meiliPage[meiliArtisan]
	if err := json.Unmarshal(*raw, &page); err != nil {
		return ArtisanResults{}, fmt.Errorf("search: decode meilisearch artisans: %w", err)
	}
	res := ArtisanResults{Total: page.TotalHits, Hits: make([]ArtisanHit, len(page.Hits))}
	for i, h := range page.Hits {
		res.Hits[i] = ArtisanHit{ArtisanDoc: h.ArtisanDoc, DistanceKm: distanceFrom(q.Point, h.Lat, h.Lng)}
	}
	if q.Facets {
		res.Facets = Facets{"skills": orEmpty(page.FacetDistribution["skills"]), "categories": orEmpty(page.FacetDistribution["categories"])}
	}
	return res, nil
}

func (m *Meili) SearchJobs(ctx context.Context, q JobQuery) (JobResults, error) {
	q.normalize()
	raw, err := m.client.Index(m.uid(Jobs)).SearchRaw(ctx, q.Q, m.jobRequest(q))
	if err != nil {
		return JobResults{}, meiliErr("search jobs", err)
	}
	var page meiliPage[meiliJob]
	if err := json.Unmarshal(*raw, &page); err != nil {
		return JobResults{}, fmt.Errorf("search: decode meilisearch jobs: %w", err)
	}
	res := JobResults{Total: page.TotalHits, Hits: make([]JobHit, len(page.Hits))}
	for i, h := range page.Hits {
		lat, lng := h.Lat, h.Lng
		res.Hits[i] = JobHit{JobDoc: h.JobDoc, DistanceKm: distanceFrom(q.Point, &lat, &lng)}
	}
	if q.Facets {
		res.Facets = Facets{"skills": orEmpty(page.FacetDistribution["skills"]), "category": orEmpty(page.FacetDistribution["category"])}
	}
	return res, nil
}

func orEmpty(m map[string]int) map[string]int {
	if m == nil {
		return map[string]int{}
	}
	return m
}

// Suggest combines typo-tolerant facet searches over artisan skills and
// categories with a typo-tolerant search over artisan names and job titles.
func (m *Meili) Suggest(ctx context.Context, q string, limit int) ([]Suggestion, error) {
	q = strings.TrimSpace(q)
	if q == "" {
		return []Suggestion{}, nil
	}
	var out []Suggestion
	seen := map[string]bool{}
	add := func(s Suggestion) {
		k := s.Kind + "\x00" + strings.ToLower(s.Text)
		if s.Text == "" || seen[k] || len(out) >= limit {
			return
		}
		seen[k] = true
		out = append(out, s)
	}
	for _, facet := range []struct{ name, kind string }{{"skills", "skill"}, {"categories", "category"}} {
		raw, err := m.client.Index(m.uid(Artisans)).FacetSearch(ctx, &meilisearch.FacetSearchRequest{FacetName: facet.name, FacetQuery: q})
		if err != nil {
			return nil, meiliErr("facet search", err)
		}
		var res struct {
			FacetHits []struct {
				Value string `json:"value"`
				Count int    `json:"count"`
			} `json:"facetHits"`
		}
		if err := json.Unmarshal(*raw, &res); err != nil {
			return nil, fmt.Errorf("search: decode facet search: %w", err)
		}
		slices.SortStableFunc(res.FacetHits, func(a, b struct {
			Value string `json:"value"`
			Count int    `json:"count"`
		}) int {
			return b.Count - a.Count
		})
		for i, h := range res.FacetHits {
			if i >= 3 {
				break
			}
			add(Suggestion{Text: h.Value, Kind: facet.kind})
		}
	}
	n := int64(max(limit, 1))
	resp, err := m.client.MultiSearch(ctx, &meilisearch.MultiSearchRequest{Queries: []*meilisearch.SearchRequest{
		{IndexUID: m.uid(Artisans), Query: q, Limit: n, AttributesToRetrieve: []string{"id", "name"}, AttributesToSearchOn: []string{"name"}},
		{IndexUID: m.uid(Jobs), Query: q, Limit: n, AttributesToRetrieve: []string{"id", "title"}, AttributesToSearchOn: []string{"title"}, Filter: `status = "open"`},
	}})
	if err != nil {
		return nil, meiliErr("multi-search suggestions", err)
	}
	for i, r := range resp.Results {
		for _, hit := range r.Hits {
			var doc struct {
				ID    int64  `json:"id"`
				Name  string `json:"name"`
				Title string `json:"title"`
			}
			b, err := json.Marshal(hit)
			if err != nil {
				continue
			}
			if json.Unmarshal(b, &doc) != nil {
				continue
			}
			if i == 0 {
				add(Suggestion{Text: doc.Name, Kind: "artisan", ID: doc.ID})
			} else {
				add(Suggestion{Text: doc.Title, Kind: "job", ID: doc.ID})
			}
		}
	}
	if out == nil {
		out = []Suggestion{}
	}
	return out, nil
}
