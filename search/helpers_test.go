package search

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/mysharpjob/sharpjob/internal/testenv"
	"github.com/mysharpjob/sharpjob/store"
)

// kmPerDegree is the length of one degree of latitude on the sphere both engines
// use: R·π/180 with R = 6371 km. Points on one meridian are k·kmPerDegree·Δlat apart,
// which is how the geo tests compute their expected distances by hand.
const kmPerDegree = 6371.0 * 3.141592653589793 / 180 // 111.19492664455873

func mustDB(tb testing.TB) *store.DB {
	tb.Helper()
	ctx := context.Background()
	// Not tb.TempDir(): subtest names like "seed#0" put a '#' in its path, which
	// the file: URL parser reads as a fragment, so tests would share one file.
	dir, err := os.MkdirTemp("", "searchtest")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	db, err := store.Open(ctx, store.Config{URL: "file:" + filepath.Join(dir, "search.db")})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return db
}

var userSeq atomic.Int64

func mustUser(tb testing.TB, db *store.DB, name, role string) int64 {
	tb.Helper()
	var id int64
	email := fmt.Sprintf("u%d-%d@example.com", userSeq.Add(1), len(name))
	if err := db.W.QueryRow(`INSERT INTO users(name, email, password_hash, role) VALUES (?,?,?,?) RETURNING id`,
		name, email, "x", role).Scan(&id); err != nil {
		tb.Fatal(err)
	}
	return id
}

type artisanFixture struct {
	Name         string
	Skills       []string
	Categories   []string
	Rating       float64
	Reviews      int
	Rate         int64
	Verified     bool
	Availability string
	Lat, Lng     *float64
	Headline     string
}

func ptr[T any](v T) *T { return &v }

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func mustArtisan(tb testing.TB, db *store.DB, a artisanFixture) int64 {
	tb.Helper()
	uid := mustUser(tb, db, a.Name, "artisan")
	if a.Availability == "" {
		a.Availability = "available"
	}
	var lat, lng any
	if a.Lat != nil {
		lat, lng = *a.Lat, *a.Lng
	}
	if _, err := db.W.Exec(`INSERT INTO artisan_profiles(user_id, headline, bio, skills, categories, hourly_rate, lat, lng,
		city, availability, verified, rating, review_count) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		uid, a.Headline, "Experienced professional", jsonText(a.Skills), jsonText(a.Categories), a.Rate, lat, lng,
		"Lagos", a.Availability, a.Verified, a.Rating, a.Reviews); err != nil {
		tb.Fatal(err)
	}
	return uid
}

type jobFixture struct {
	Client      int64
	Title       string
	Description string
	Category    string
	Skills      []string
	Budget      int64
	Lat, Lng    float64
	Status      string
	CreatedAt   string
}

func mustJob(tb testing.TB, db *store.DB, j jobFixture) int64 {
	tb.Helper()
	if j.Status == "" {
		j.Status = "open"
	}
	if j.Description == "" {
		j.Description = "Details on site"
	}
	if j.CreatedAt == "" {
		j.CreatedAt = "2026-01-01T00:00:00.000Z"
	}
	var id int64
	if err := db.W.QueryRow(`INSERT INTO jobs(client_id, title, description, category, skills, budget, lat, lng, status, created_at)
		VALUES (?,?,?,?,?,?,?,?,?,?) RETURNING id`, j.Client, j.Title, j.Description, j.Category, jsonText(j.Skills), j.Budget,
		j.Lat, j.Lng, j.Status, j.CreatedAt).Scan(&id); err != nil {
		tb.Fatal(err)
	}
	return id
}

func mustDrain(tb testing.TB, db *store.DB, engine Engine) int {
	tb.Helper()
	n, err := NewSyncer(db, engine, nil).DrainOnce(context.Background())
	if err != nil {
		tb.Fatalf("drain: %v", err)
	}
	return n
}

// engineFactory builds a fresh, set-up engine over db.
type engineFactory func(t *testing.T, db *store.DB) Engine

var prefixSeq atomic.Int64

// engines returns, per engine, a setup run inside that engine's subtest (it
// starts Meilisearch once for all the cases) which returns the per-case factory.
func engines() map[string]func(t *testing.T) engineFactory {
	return map[string]func(t *testing.T) engineFactory{
		"embedded": func(*testing.T) engineFactory {
			return func(t *testing.T, db *store.DB) Engine {
				e := NewEmbedded(db)
				if _, err := e.Setup(context.Background()); err != nil {
					t.Fatal(err)
				}
				return e
			}
		},
		"meilisearch": func(t *testing.T) engineFactory {
			meili := testenv.StartMeili(t)
			return func(t *testing.T, db *store.DB) Engine {
				return mustMeili(t, meili.URL, fmt.Sprintf("t%d_", prefixSeq.Add(1)))
			}
		},
	}
}

func mustMeili(tb testing.TB, url, prefix string) *Meili {
	tb.Helper()
	e := NewMeili(MeiliConfig{URL: url, Key: testenv.MeiliKey, Prefix: prefix})
	if _, err := e.Setup(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { e.Close() })
	return e
}
