package search

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/mysharpjob/sharpjob/store"
)

// Embedded is the search engine that needs no server: tables in the application's
// own libSQL database (migrations/0002_search.sql), FTS5 for text, a bounding box
// on indexed lat/lng plus an exact haversine in SQL for distance.
//
// Differences from Meilisearch, by design:
//   - no typo tolerance: every query word matches as a prefix ("plumb" finds
//     "plumber"), and every word must match (Meilisearch runs with
//     matchingStrategy "all" too, so the sets agree except for typos);
//   - relevance is FTS5's bm25 with column weights, not Meilisearch's ranking rules,
//     so the order of equally good text matches can differ;
//   - Rebuild replaces the tables in one write transaction instead of swapping
//     indexes; readers see the old rows until it commits, writers wait for it.
type Embedded struct {
	db *store.DB
}

var _ Engine = (*Embedded)(nil)

// NewEmbedded returns the engine over db; db must be migrated.
func NewEmbedded(db *store.DB) *Embedded { return &Embedded{db: db} }

func (e *Embedded) Name() string { return "embedded" }
func (e *Embedded) Close() error { return nil }

// Setup checks that the tables exist (migration 0002); there are no settings.
func (e *Embedded) Setup(ctx context.Context) ([]Index, error) {
	var n int
	if err := e.db.R.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name IN ('search_artisans','search_jobs','search_artisans_fts','search_jobs_fts')`).Scan(&n); err != nil {
		return nil, fmt.Errorf("search: embedded setup: %w", err)
	}
	if n != 4 {
		return nil, fmt.Errorf("search: embedded engine tables missing (migration 0002_search.sql not applied)")
	}
	return nil, nil
}

func lowerJSON(list []string) string {
	lc := make([]string, len(list))
	for i, s := range list {
		lc[i] = strings.ToLower(s)
	}
	b, _ := json.Marshal(lc)
	return string(b)
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func putArtisans(ctx context.Context, x execer, docs []ArtisanDoc) error {
	for _, d := range docs {
		if d.Skills == nil {
			d.Skills = []string{}
		}
		if d.Categories == nil {
			d.Categories = []string{}
		}
		doc, err := json.Marshal(d)
		if err != nil {
			return err
		}
		var lat, lng any
		if d.Lat != nil && d.Lng != nil {
			lat, lng = *d.Lat, *d.Lng
		}
		if _, err := x.ExecContext(ctx, `INSERT OR REPLACE INTO search_artisans(id, doc, skills_lc, categories_lc, lat, lng,
			hourly_rate, verified, availability, rating, review_count) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
			d.ID, string(doc), lowerJSON(d.Skills), lowerJSON(d.Categories), lat, lng, d.HourlyRate, d.Verified,
			d.Availability, d.Rating, d.ReviewCount); err != nil {
			return fmt.Errorf("search: embedded upsert artisan %d: %w", d.ID, err)
		}
		if _, err := x.ExecContext(ctx, `DELETE FROM search_artisans_fts WHERE rowid = ?`, d.ID); err != nil {
			return fmt.Errorf("search: embedded upsert artisan %d: %w", d.ID, err)
		}
		if _, err := x.ExecContext(ctx, `INSERT INTO search_artisans_fts(rowid, name, skills, headline, categories, city, bio)
			VALUES (?,?,?,?,?,?,?)`, d.ID, d.Name, strings.Join(d.Skills, " "), d.Headline, strings.Join(d.Categories, " "), d.City, d.Bio); err != nil {
			return fmt.Errorf("search: embedded upsert artisan %d: %w", d.ID, err)
		}
	}
	return nil
}

func putJobs(ctx context.Context, x execer, docs []JobDoc) error {
	for _, d := range docs {
		if d.Skills == nil {
			d.Skills = []string{}
		}
		doc, err := json.Marshal(d)
		if err != nil {
			return err
		}
		if _, err := x.ExecContext(ctx, `INSERT OR REPLACE INTO search_jobs(id, doc, skills_lc, category_lc, lat, lng, budget,
			status, client_id, created_ts) VALUES (?,?,?,?,?,?,?,?,?,?)`,
			d.ID, string(doc), lowerJSON(d.Skills), strings.ToLower(d.Category), d.Lat, d.Lng, d.Budget, d.Status, d.ClientID, d.CreatedTS); err != nil {
			return fmt.Errorf("search: embedded upsert job %d: %w", d.ID, err)
		}
		if _, err := x.ExecContext(ctx, `DELETE FROM search_jobs_fts WHERE rowid = ?`, d.ID); err != nil {
			return fmt.Errorf("search: embedded upsert job %d: %w", d.ID, err)
		}
		if _, err := x.ExecContext(ctx, `INSERT INTO search_jobs_fts(rowid, title, skills, category, description, address)
			VALUES (?,?,?,?,?,?)`, d.ID, d.Title, strings.Join(d.Skills, " "), d.Category, d.Description, d.Address); err != nil {
			return fmt.Errorf("search: embedded upsert job %d: %w", d.ID, err)
		}
	}
	return nil
}

func (e *Embedded) Upsert(ctx context.Context, b Batch) error {
	if b.Len() == 0 {
		return nil
	}
	tx, err := e.db.W.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("search: embedded upsert: %w", err)
	}
	defer tx.Rollback()
	if err := putArtisans(ctx, tx, b.Artisans); err != nil {
		return err
	}
	if err := putJobs(ctx, tx, b.Jobs); err != nil {
		return err
	}
	return tx.Commit()
}

func tablesOf(index Index) (table, fts string, err error) {
	switch index {
	case Artisans:
		return "search_artisans", "search_artisans_fts", nil
	case Jobs:
		return "search_jobs", "search_jobs_fts", nil
	}
	return "", "", fmt.Errorf("search: unknown index %q", index)
}

func (e *Embedded) Delete(ctx context.Context, index Index, ids []int64) error {
	table, fts, err := tablesOf(index)
	if err != nil || len(ids) == 0 {
		return err
	}
	tx, err := e.db.W.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("search: embedded delete: %w", err)
	}
	defer tx.Rollback()
	for start := 0; start < len(ids); start += 500 {
		chunk := int64Args(ids[start:min(start+500, len(ids))])
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE id IN (`+placeholders(len(chunk))+`)`, chunk...); err != nil {
			return fmt.Errorf("search: embedded delete: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+fts+` WHERE rowid IN (`+placeholders(len(chunk))+`)`, chunk...); err != nil {
			return fmt.Errorf("search: embedded delete: %w", err)
		}
	}
	return tx.Commit()
}

func (e *Embedded) Count(ctx context.Context, index Index) (int, error) {
	table, _, err := tablesOf(index)
	if err != nil {
		return 0, err
	}
	var n int
	err = e.db.R.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&n)
	return n, err
}

// Rebuild empties and refills the index tables inside one transaction.
func (e *Embedded) Rebuild(ctx context.Context, index Index, fill func(put func(Batch) error) error) error {
	table, fts, err := tablesOf(index)
	if err != nil {
		return err
	}
	tx, err := e.db.W.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("search: embedded rebuild: %w", err)
	}
	defer tx.Rollback()
	for _, t := range []string{table, fts} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+t); err != nil {
			return fmt.Errorf("search: embedded rebuild: %w", err)
		}
	}
	err = fill(func(b Batch) error {
		if index == Artisans {
			return putArtisans(ctx, tx, b.Artisans)
		}
		return putJobs(ctx, tx, b.Jobs)
	})
	if err != nil {
		return err
	}
	return tx.Commit()
}

// ftsQuery turns free text into an FTS5 query: every word, as a prefix, must match.
// cols optionally restricts the match to some columns.
func ftsQuery(q string, cols ...string) string {
	words := strings.FieldsFunc(strings.ToLower(q), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(words) == 0 {
		return ""
	}
	for i, w := range words {
		words[i] = `"` + w + `"*`
	}
	s := strings.Join(words, " ")
	if len(cols) > 0 {
		return "{" + strings.Join(cols, " ") + "}: (" + s + ")"
	}
	return s
}

// distanceSQL is the haversine distance in km from p to the row's lat/lng columns,
// with p's trigonometry folded into literals.
func distanceSQL(p Point, latCol, lngCol string) string {
	const rad = math.Pi / 180
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 17, 64) }
	sinLat := fmt.Sprintf("sin((radians(%s) - %s) / 2)", latCol, f(p.Lat*rad))
	sinLng := fmt.Sprintf("sin((radians(%s) - %s) / 2)", lngCol, f(p.Lng*rad))
	return fmt.Sprintf("(2 * %s * asin(min(1.0, sqrt(%s * %s + %s * cos(radians(%s)) * %s * %s))))",
		f(earthRadiusKm), sinLat, sinLat, f(math.Cos(p.Lat*rad)), latCol, sinLng, sinLng)
}

type sqlQuery struct {
	where []string
	args  []any
}

func (s *sqlQuery) add(cond string, args ...any) {
	s.where = append(s.where, cond)
	s.args = append(s.args, args...)
}

func (s *sqlQuery) whereSQL() string {
	if len(s.where) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(s.where, " AND ")
}

func inList(col string, values []string) (string, []any) {
	args := make([]any, len(values))
	for i, v := range values {
		args[i] = strings.ToLower(v)
	}
	return `EXISTS (SELECT 1 FROM json_each(` + col + `) WHERE value IN (` + placeholders(len(values)) + `))`, args
}

// baseQuery is the filtered candidate set as SQL: id, the lower-cased facet
// columns, the sort columns, dist and rank, with the radius applied to dist.
// artisanBase and jobBase build it; page and facets read it.
type baseQuery struct {
	sql   string
	args  []any
	table string // where the documents are, by id
}

func artisanBase(q ArtisanQuery) (baseQuery, error) {
	var s sqlQuery
	from := "search_artisans a"
	rank := "0"
	if m := ftsQuery(q.Q); m != "" {
		from += " JOIN search_artisans_fts f ON f.rowid = a.id"
		s.add("search_artisans_fts MATCH ?", m)
		rank = "bm25(search_artisans_fts, 10.0, 6.0, 4.0, 3.0, 2.0, 1.0)"
	}
	dist := "NULL"
	if q.Point != nil {
		dist = distanceSQL(*q.Point, "a.lat", "a.lng")
		if q.RadiusKm > 0 {
			minLat, maxLat, minLng, maxLng := boundingBox(*q.Point, q.RadiusKm)
			s.add("a.lat BETWEEN ? AND ? AND a.lng BETWEEN ? AND ?", minLat, maxLat, minLng, maxLng)
		}
	}
	for _, sk := range q.Skills {
		s.add("EXISTS (SELECT 1 FROM json_each(a.skills_lc) WHERE value = ?)", strings.ToLower(sk))
	}
	if q.Category != "" {
		s.add("EXISTS (SELECT 1 FROM json_each(a.categories_lc) WHERE value = ?)", strings.ToLower(q.Category))
	}
	if q.MinRating != nil {
		s.add("a.rating >= ?", *q.MinRating)
	}
	if q.Verified != nil {
		s.add("a.verified = ?", *q.Verified)
	}
	if q.MaxRate != nil {
		s.add("a.hourly_rate <= ?", *q.MaxRate)
	}
	if q.Available {
		s.add("a.availability != 'unavailable'")
	}
	if c := q.Candidates; c != nil && (len(c.Skills) > 0 || len(c.Categories) > 0) {
		var or []string
		var args []any
		if len(c.Skills) > 0 {
			cond, a := inList("a.skills_lc", c.Skills)
			or, args = append(or, cond), append(args, a...)
		}
		if len(c.Categories) > 0 {
			cond, a := inList("a.categories_lc", c.Categories)
			or, args = append(or, cond), append(args, a...)
		}
		s.add("("+strings.Join(or, " OR ")+")", args...)
	}
	inner := "SELECT a.id, a.skills_lc, a.categories_lc, a.rating, a.review_count, a.hourly_rate, " + dist + " AS dist, " + rank + " AS rank FROM " + from + s.whereSQL()
	outer := "SELECT * FROM (" + inner + ")"
	if q.Point != nil && q.RadiusKm > 0 {
		outer += " WHERE dist <= " + strconv.FormatFloat(q.RadiusKm, 'g', 17, 64)
	}
	return baseQuery{outer, s.args, "search_artisans"}, nil
}

func jobBase(q JobQuery) (baseQuery, error) {
	var s sqlQuery
	from := "search_jobs j"
	rank := "0"
	if m := ftsQuery(q.Q); m != "" {
		from += " JOIN search_jobs_fts f ON f.rowid = j.id"
		s.add("search_jobs_fts MATCH ?", m)
		rank = "bm25(search_jobs_fts, 10.0, 6.0, 4.0, 2.0, 1.0)"
	}
	dist := "NULL"
	if q.Point != nil {
		dist = distanceSQL(*q.Point, "j.lat", "j.lng")
		if q.RadiusKm > 0 {
			minLat, maxLat, minLng, maxLng := boundingBox(*q.Point, q.RadiusKm)
			s.add("j.lat BETWEEN ? AND ? AND j.lng BETWEEN ? AND ?", minLat, maxLat, minLng, maxLng)
		}
	}
	if q.Category != "" {
		s.add("j.category_lc = ?", strings.ToLower(q.Category))
	}
	for _, sk := range q.Skills {
		s.add("EXISTS (SELECT 1 FROM json_each(j.skills_lc) WHERE value = ?)", strings.ToLower(sk))
	}
	if q.BudgetMin != nil {
		s.add("j.budget >= ?", *q.BudgetMin)
	}
	if q.BudgetMax != nil {
		s.add("j.budget <= ?", *q.BudgetMax)
	}
	if q.Status != "" {
		s.add("j.status = ?", q.Status)
	}
	if q.ClientID != 0 {
		s.add("j.client_id = ?", q.ClientID)
	}
	if c := q.Candidates; c != nil && (len(c.Skills) > 0 || len(c.Categories) > 0) {
		var or []string
		var args []any
		if len(c.Skills) > 0 {
			cond, a := inList("j.skills_lc", c.Skills)
			or, args = append(or, cond), append(args, a...)
		}
		if len(c.Categories) > 0 {
			lc := make([]any, len(c.Categories))
			for i, v := range c.Categories {
				lc[i] = strings.ToLower(v)
			}
			or, args = append(or, "j.category_lc IN ("+placeholders(len(lc))+")"), append(args, lc...)
		}
		s.add("("+strings.Join(or, " OR ")+")", args...)
	}
	inner := "SELECT j.id, j.skills_lc, j.category_lc, j.budget, j.created_ts, " + dist + " AS dist, " + rank + " AS rank FROM " + from + s.whereSQL()
	outer := "SELECT * FROM (" + inner + ")"
	if q.Point != nil && q.RadiusKm > 0 {
		outer += " WHERE dist <= " + strconv.FormatFloat(q.RadiusKm, 'g', 17, 64)
	}
	return baseQuery{outer, s.args, "search_jobs"}, nil
}

func artisanOrder(q ArtisanQuery) string {
	switch effectiveArtisanSort(q) {
	case SortDistance:
		return "dist IS NULL, dist, id"
	case SortRating:
		return "rating DESC, review_count DESC, id"
	case SortPrice:
		return "hourly_rate, id"
	}
	return "rank, id"
}

func jobOrder(q JobQuery) string {
	switch effectiveJobSort(q) {
	case SortDistance:
		return "dist, id"
	case SortDate:
		return "created_ts DESC, id DESC"
	case SortPrice:
		return "budget DESC, id"
	}
	return "rank, id"
}

// page runs base ordered and limited, returning the docs and the exact total.
// The base carries no documents (they would be materialised for every match by
// the window count); the page's documents are read by id afterwards.
func (e *Embedded) page(ctx context.Context, b baseQuery, order string, page, perPage int) ([]string, int, error) {
	rows, err := e.db.R.QueryContext(ctx, "SELECT id, count(*) OVER () FROM ("+b.sql+") ORDER BY "+order+" LIMIT ? OFFSET ?",
		append(slices.Clone(b.args), perPage, (page-1)*perPage)...)
	if err != nil {
		return nil, 0, fmt.Errorf("search: embedded query: %w", err)
	}
	var (
		ids   []int64
		total int
	)
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id, &total); err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("search: embedded query: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("search: embedded query: %w", err)
	}
	if len(ids) == 0 {
		if page > 1 {
			if err := e.db.R.QueryRowContext(ctx, "SELECT count(*) FROM ("+b.sql+")", b.args...).Scan(&total); err != nil {
				return nil, 0, fmt.Errorf("search: embedded count: %w", err)
			}
		}
		return nil, total, nil
	}
	rows, err = e.db.R.QueryContext(ctx, "SELECT id, doc FROM "+b.table+" WHERE id IN ("+placeholders(len(ids))+")", int64Args(ids)...)
	if err != nil {
		return nil, 0, fmt.Errorf("search: embedded documents: %w", err)
	}
	defer rows.Close()
	byID := make(map[int64]string, len(ids))
	for rows.Next() {
		var (
			id  int64
			doc string
		)
		if err := rows.Scan(&id, &doc); err != nil {
			return nil, 0, fmt.Errorf("search: embedded documents: %w", err)
		}
		byID[id] = doc
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	docs := make([]string, 0, len(ids))
	for _, id := range ids {
		if doc, ok := byID[id]; ok {
			docs = append(docs, doc)
		}
	}
	return docs, total, nil
}

// facets counts documents per facet value over the base set, evaluated once for
// all facets. A path "$.x" counts the JSON array column x; a bare column name
// counts its values. Values come from the lower-cased filter columns, so the
// embedded engine reports facet values in lower case (Meilisearch keeps the
// first spelling it saw).
func (e *Embedded) facets(ctx context.Context, b baseQuery, columns map[string]string) (Facets, error) {
	out := Facets{}
	var parts []string
	var args []any
	for name, col := range columns {
		out[name] = map[string]int{}
		if rest, ok := strings.CutPrefix(col, "$."); ok {
			parts = append(parts, "SELECT ?, v.value, count(DISTINCT h.id) FROM h, json_each(h."+rest+") v GROUP BY v.value")
		} else {
			parts = append(parts, "SELECT ?, h."+col+", count(*) FROM h GROUP BY h."+col)
		}
		args = append(args, name)
	}
	rows, err := e.db.R.QueryContext(ctx, "WITH h AS MATERIALIZED ("+b.sql+") "+strings.Join(parts, " UNION ALL "),
		append(slices.Clone(b.args), args...)...)
	if err != nil {
		return nil, fmt.Errorf("search: embedded facets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			name string
			v    sql.NullString
			n    int
		)
		if err := rows.Scan(&name, &v, &n); err != nil {
			return nil, fmt.Errorf("search: embedded facets: %w", err)
		}
		if v.Valid && v.String != "" {
			out[name][v.String] = n
		}
	}
	return out, rows.Err()
}

// pageAndFacets runs the page query and, when asked, the facet query at the same
// time on two read connections.
func (e *Embedded) pageAndFacets(ctx context.Context, b baseQuery, order string, page, perPage int, paths map[string]string) ([]string, int, Facets, error) {
	var (
		facets   Facets
		facetErr error
		done     chan struct{}
	)
	if paths != nil {
		done = make(chan struct{})
		go func() {
			defer close(done)
			facets, facetErr = e.facets(ctx, b, paths)
		}()
	}
	docs, total, err := e.page(ctx, b, order, page, perPage)
	if done != nil {
		<-done
	}
	if err == nil {
		err = facetErr
	}
	return docs, total, facets, err
}

func (e *Embedded) SearchArtisans(ctx context.Context, q ArtisanQuery) (ArtisanResults, error) {
	q.normalize()
	b, err := artisanBase(q)
	if err != nil {
		return ArtisanResults{}, err
	}
	var paths map[string]string
	if q.Facets {
		paths = map[string]string{"skills": "$.skills_lc", "categories": "$.categories_lc"}
	}
	docs, total, facets, err := e.pageAndFacets(ctx, b, artisanOrder(q), q.Page, q.PerPage, paths)
	if err != nil {
		return ArtisanResults{}, err
	}
	res := ArtisanResults{Total: total, Hits: make([]ArtisanHit, len(docs)), Facets: facets}
	for i, doc := range docs {
		if err := json.Unmarshal([]byte(doc), &res.Hits[i].ArtisanDoc); err != nil {
			return ArtisanResults{}, fmt.Errorf("search: embedded decode artisan: %w", err)
		}
		res.Hits[i].DistanceKm = distanceFrom(q.Point, res.Hits[i].Lat, res.Hits[i].Lng)
	}
	return res, nil
}

func (e *Embedded) SearchJobs(ctx context.Context, q JobQuery) (JobResults, error) {
	q.normalize()
	b, err := jobBase(q)
	if err != nil {
		return JobResults{}, err
	}
	var paths map[string]string
	if q.Facets {
		paths = map[string]string{"skills": "$.skills_lc", "category": "category_lc"}
	}
	docs, total, facets, err := e.pageAndFacets(ctx, b, jobOrder(q), q.Page, q.PerPage, paths)
	if err != nil {
		return JobResults{}, err
	}
	res := JobResults{Total: total, Hits: make([]JobHit, len(docs)), Facets: facets}
	for i, doc := range docs {
		h := &res.Hits[i]
		if err := json.Unmarshal([]byte(doc), &h.JobDoc); err != nil {
			return JobResults{}, fmt.Errorf("search: embedded decode job: %w", err)
		}
		lat, lng := h.Lat, h.Lng
		h.DistanceKm = distanceFrom(q.Point, &lat, &lng)
	}
	return res, nil
}

// Suggest completes the last word as a prefix: skills and categories artisans
// list, artisan names and open job titles.
func (e *Embedded) Suggest(ctx context.Context, q string, limit int) ([]Suggestion, error) {
	out := []Suggestion{}
	prefix := strings.ToLower(strings.TrimSpace(q))
	if ftsQuery(q) == "" || limit <= 0 {
		return out, nil
	}
	seen := map[string]bool{}
	add := func(s Suggestion) {
		k := s.Kind + "\x00" + strings.ToLower(s.Text)
		if s.Text != "" && !seen[k] && len(out) < limit {
			seen[k] = true
			out = append(out, s)
		}
	}
	// Skills and categories: count values with the prefix among matching artisans.
	rows, err := e.db.R.QueryContext(ctx, `SELECT a.doc FROM search_artisans_fts f JOIN search_artisans a ON a.id = f.rowid
		WHERE search_artisans_fts MATCH ? LIMIT 500`, ftsQuery(q, "skills", "categories"))
	if err != nil {
		return nil, fmt.Errorf("search: embedded suggest: %w", err)
	}
	skillCount, catCount := map[string]int{}, map[string]int{}
	for rows.Next() {
		var doc string
		var d ArtisanDoc
		if rows.Scan(&doc) != nil || json.Unmarshal([]byte(doc), &d) != nil {
			continue
		}
		for _, s := range d.Skills {
			if strings.HasPrefix(strings.ToLower(s), prefix) {
				skillCount[s]++
			}
		}
		for _, c := range d.Categories {
			if strings.HasPrefix(strings.ToLower(c), prefix) {
				catCount[c]++
			}
		}
	}
	rows.Close()
	for _, group := range []struct {
		kind   string
		counts map[string]int
	}{{"skill", skillCount}, {"category", catCount}} {
		values := make([]string, 0, len(group.counts))
		for v := range group.counts {
			values = append(values, v)
		}
		slices.SortFunc(values, func(a, b string) int {
			if d := group.counts[b] - group.counts[a]; d != 0 {
				return d
			}
			return strings.Compare(a, b)
		})
		for i, v := range values {
			if i >= 3 {
				break
			}
			add(Suggestion{Text: v, Kind: group.kind})
		}
	}
	for _, src := range []struct{ kind, sql, match string }{
		{"artisan", `SELECT a.id, json_extract(a.doc, '$.name') FROM search_artisans_fts f JOIN search_artisans a ON a.id = f.rowid
			WHERE search_artisans_fts MATCH ? ORDER BY rank LIMIT ?`, ftsQuery(q, "name")},
		{"job", `SELECT j.id, json_extract(j.doc, '$.title') FROM search_jobs_fts f JOIN search_jobs j ON j.id = f.rowid
			WHERE search_jobs_fts MATCH ? AND j.status = 'open' ORDER BY rank LIMIT ?`, ftsQuery(q, "title")},
	} {
		rows, err := e.db.R.QueryContext(ctx, src.sql, src.match, limit)
		if err != nil {
			return nil, fmt.Errorf("search: embedded suggest: %w", err)
		}
		for rows.Next() {
			var (
				id   int64
				text sql.NullString
			)
			if rows.Scan(&id, &text) == nil {
				add(Suggestion{Text: text.String, Kind: src.kind, ID: id})
			}
		}
		rows.Close()
	}
	return out, nil
}
