package search

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/mysharpjob/sharpjob/store"
)

// The SELECT lists that turn database rows into documents. Both the outbox drainer
// and Reindex read through them, so a document always reflects the current row.
const (
	artisanSelect = `SELECT p.user_id, u.name, p.headline, p.bio, p.skills, p.categories, p.hourly_rate,
	p.currency, p.lat, p.lng, p.city, p.address, p.availability, max(p.verified, u.is_verified), p.rating,
	p.review_count, p.updated_at
	FROM artisan_profiles p JOIN users u ON u.id = p.user_id`
	jobSelect = `SELECT j.id, j.client_id, j.title, j.description, j.category, j.skills, j.budget, j.currency,
	j.lat, j.lng, j.address, j.status, j.created_at FROM jobs j`
)

type scanner interface{ Scan(...any) error }

func scanArtisan(s scanner) (ArtisanDoc, error) {
	var (
		d            ArtisanDoc
		skills, cats string
		lat, lng     sql.NullFloat64
		verified     int64
	)
	if err := s.Scan(&d.ID, &d.Name, &d.Headline, &d.Bio, &skills, &cats, &d.HourlyRate, &d.Currency,
		&lat, &lng, &d.City, &d.Address, &d.Availability, &verified, &d.Rating, &d.ReviewCount, &d.UpdatedAt); err != nil {
		return d, err
	}
	d.Skills, d.Categories = jsonList(skills), jsonList(cats)
	if lat.Valid && lng.Valid {
		d.Lat, d.Lng = &lat.Float64, &lng.Float64
	}
	d.Verified = verified != 0
	return d, nil
}

func scanJob(s scanner) (JobDoc, error) {
	var (
		d      JobDoc
		skills string
	)
	if err := s.Scan(&d.ID, &d.ClientID, &d.Title, &d.Description, &d.Category, &skills, &d.Budget, &d.Currency,
		&d.Lat, &d.Lng, &d.Address, &d.Status, &d.CreatedAt); err != nil {
		return d, err
	}
	d.Skills = jsonList(skills)
	d.CreatedTS = parseTS(d.CreatedAt)
	return d, nil
}

// jsonList decodes a JSON array of strings, trimming blanks; bad JSON yields none.
func jsonList(s string) []string {
	var raw []string
	_ = json.Unmarshal([]byte(s), &raw)
	out := make([]string, 0, len(raw))
	for _, v := range raw {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func parseTS(s string) int64 {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Unix()
		}
	}
	return 0
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

func int64Args(ids []int64) []any {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return args
}

// loadArtisans reads the current documents for ids; ids without a profile are absent.
func loadArtisans(ctx context.Context, db *sql.DB, ids []int64) (map[int64]ArtisanDoc, error) {
	return loadByID(ctx, db, ids, artisanSelect+` WHERE p.user_id IN `, "artisans", scanArtisan, func(d ArtisanDoc) int64 { return d.ID })
}

// loadJobs reads the current documents for ids; deleted jobs are absent.
func loadJobs(ctx context.Context, db *sql.DB, ids []int64) (map[int64]JobDoc, error) {
	return loadByID(ctx, db, ids, jobSelect+` WHERE j.id IN `, "jobs", scanJob, func(d JobDoc) int64 { return d.ID })
}

// loadByID runs query (ending in "IN ") over ids in chunks of 500 and keys the
// scanned documents by id.
func loadByID[T any](ctx context.Context, db *sql.DB, ids []int64, query, what string,
	scan func(scanner) (T, error), id func(T) int64) (map[int64]T, error) {
	out := make(map[int64]T, len(ids))
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		rows, err := db.QueryContext(ctx, query+`(`+placeholders(len(chunk))+`)`, int64Args(chunk)...)
		if err != nil {
			return nil, fmt.Errorf("search: load %s: %w", what, err)
		}
		for rows.Next() {
			d, err := scan(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("search: scan %s: %w", what, err)
			}
			out[id(d)] = d
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// LoadArtisan reads one artisan document, or reports ok=false when there is no profile.
func LoadArtisan(ctx context.Context, db *store.DB, id int64) (ArtisanDoc, bool, error) {
	m, err := loadArtisans(ctx, db.R, []int64{id})
	d, ok := m[id]
	return d, ok, err
}

// LoadJob reads one job document, or reports ok=false when there is no such job.
func LoadJob(ctx context.Context, db *store.DB, id int64) (JobDoc, bool, error) {
	m, err := loadJobs(ctx, db.R, []int64{id})
	d, ok := m[id]
	return d, ok, err
}

// scanAll streams every document of index in id order, batch by batch (keyset
// pagination, so a long scan holds no read transaction open).
func scanAll(ctx context.Context, db *sql.DB, index Index, batch int, put func(Batch) error) error {
	var after int64 = -1 << 62
	for {
		var b Batch
		switch index {
		case Artisans:
			rows, err := db.QueryContext(ctx, artisanSelect+` WHERE p.user_id > ? ORDER BY p.user_id LIMIT ?`, after, batch)
			if err != nil {
				return fmt.Errorf("search: scan artisans: %w", err)
			}
			for rows.Next() {
				d, err := scanArtisan(rows)
				if err != nil {
					rows.Close()
					return err
				}
				b.Artisans = append(b.Artisans, d)
				after = d.ID
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		case Jobs:
			rows, err := db.QueryContext(ctx, jobSelect+` WHERE j.id > ? ORDER BY j.id LIMIT ?`, after, batch)
			if err != nil {
				return fmt.Errorf("search: scan jobs: %w", err)
			}
			for rows.Next() {
				d, err := scanJob(rows)
				if err != nil {
					rows.Close()
					return err
				}
				b.Jobs = append(b.Jobs, d)
				after = d.ID
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		default:
			return fmt.Errorf("search: unknown index %q", index)
		}
		if b.Len() == 0 {
			return nil
		}
		if err := put(b); err != nil {
			return err
		}
		if b.Len() < batch {
			return nil
		}
	}
}
