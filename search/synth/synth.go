// Package synth generates realistic synthetic artisans and jobs around Nigerian
// cities, written straight into the database so the outbox triggers fire as for
// any other write. The search tests and benchmark use it; `sharpjob seed` may too.
package synth

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/mysharpjob/sharpjob/store"
)

// City is a seeding centre.
type City struct {
	Name     string
	Lat, Lng float64
	Weight   int // relative population share
}

// Cities are the centres data is scattered around (within ~20 km).
var Cities = []City{
	{"Lagos", 6.5244, 3.3792, 30}, {"Abuja", 9.0765, 7.3986, 14}, {"Port Harcourt", 4.8156, 7.0498, 10},
	{"Ibadan", 7.3775, 3.9470, 10}, {"Kano", 12.0022, 8.5920, 10}, {"Enugu", 6.4584, 7.5464, 6},
	{"Benin City", 6.3350, 5.6037, 6}, {"Kaduna", 10.5105, 7.4165, 5}, {"Abeokuta", 7.1475, 3.3619, 4},
	{"Jos", 9.8965, 8.8583, 3}, {"Calabar", 4.9757, 8.3417, 2},
}

// Trades maps a category to its skills.
var Trades = map[string][]string{
	"plumbing":    {"plumbing", "pipe fitting", "water heater installation", "drain cleaning", "borehole repair"},
	"electrical":  {"electrical", "wiring", "solar installation", "inverter repair", "generator repair"},
	"carpentry":   {"carpentry", "furniture making", "roofing", "door fitting", "cabinet making"},
	"painting":    {"painting", "wall screeding", "pop ceiling", "wallpaper", "spray painting"},
	"masonry":     {"masonry", "tiling", "plastering", "bricklaying", "interlocking paving"},
	"automotive":  {"auto repair", "panel beating", "vulcanizing", "auto electrical", "car ac repair"},
	"tailoring":   {"tailoring", "fashion design", "embroidery", "alterations", "aso ebi"},
	"cleaning":    {"cleaning", "fumigation", "laundry", "post construction cleaning", "upholstery cleaning"},
	"appliances":  {"ac repair", "refrigerator repair", "washing machine repair", "tv repair", "phone repair"},
	"welding":     {"welding", "gate fabrication", "burglary proof", "aluminium windows", "steel works"},
	"hair beauty": {"hairdressing", "barbing", "makeup", "braiding", "nail technician"},
	"catering":    {"catering", "small chops", "cake baking", "event cooking", "grill"},
}

var categories = func() []string {
	out := make([]string, 0, len(Trades))
	for c := range Trades {
		out = append(out, c)
	}
	// stable order for reproducible data
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}()

var (
	firstNames = []string{"Adaeze", "Babatunde", "Chinedu", "Damilola", "Emeka", "Folake", "Gbenga", "Halima", "Ifeanyi", "Jumoke",
		"Kelechi", "Lami", "Musa", "Ngozi", "Olumide", "Patience", "Rasheed", "Segun", "Temitope", "Uche", "Yetunde", "Zainab",
		"Abdullahi", "Bisi", "Chiamaka", "Dayo", "Efe", "Funmi", "Ibrahim", "Kunle", "Nneka", "Obinna", "Sade", "Tunde", "Yusuf"}
	lastNames = []string{"Adeyemi", "Okafor", "Bello", "Eze", "Ogunleye", "Nwosu", "Abubakar", "Olawale", "Okonkwo", "Adebayo",
		"Ibrahim", "Uzo", "Balogun", "Chukwu", "Danjuma", "Ekwueme", "Fashola", "Lawal", "Mohammed", "Obi", "Salami", "Yakubu"}
	headlines = []string{"Experienced %s specialist", "Reliable %s, fast response", "Certified %s professional", "%s expert with 10 years on the job", "Affordable %s services"}
	jobTitles = []string{"Need %s for my flat in %s", "Urgent %s in %s", "%s for new office in %s", "Looking for %s this weekend, %s", "%s job in %s, materials provided"}
	areas     = []string{"Lekki", "Ikeja", "Yaba", "Surulere", "Wuse", "Garki", "Maitama", "GRA", "Bodija", "Rumuokoro", "Sabon Gari", "Independence Layout", "Ring Road"}
)

// Options sizes the data.
type Options struct {
	Artisans, Jobs int
	Seed           uint64
	Batch          int // rows per transaction (default 1000)
}

// Generate writes opts.Artisans artisans (users + profiles), opts.Jobs/8+1 clients
// and opts.Jobs jobs. progress (may be nil) sees rows done out of the total.
func Generate(ctx context.Context, db *store.DB, opts Options, progress func(done, total int)) error {
	if opts.Batch <= 0 {
		opts.Batch = 1000
	}
	if progress == nil {
		progress = func(int, int) {}
	}
	gen := NewGenerator(opts.Seed) // the record shapes; rng below draws what only direct writes set
	rng := gen.rng
	clients := opts.Jobs/8 + 1
	total := opts.Artisans + clients + opts.Jobs
	done := 0
	stamp := time.Now().UnixNano()
	// Clients first, so jobs can reference them.
	clientIDs := make([]int64, 0, clients)
	err := batches(ctx, db, clients, opts.Batch, func(tx *sql.Tx, i int) error {
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO users(name, email, password_hash, role, is_verified) VALUES (?,?,?,?,1) RETURNING id`,
			name(rng), fmt.Sprintf("client%d.%d@seed.sharpjob.test", stamp, i), "!", "client").Scan(&id)
		clientIDs = append(clientIDs, id)
		done++
		return err
	}, func() { progress(done, total) })
	if err != nil {
		return err
	}
	err = batches(ctx, db, opts.Artisans, opts.Batch, func(tx *sql.Tx, i int) error {
		a := gen.Artisan()
		verified := rng.IntN(3) == 0
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO users(name, email, password_hash, role, is_verified) VALUES (?,?,?,?,?) RETURNING id`,
			a.Name, fmt.Sprintf("artisan%d.%d@seed.sharpjob.test", stamp, i), "!", "artisan", verified).Scan(&id); err != nil {
			return err
		}
		reviews := rng.IntN(120)
		rating := 0.0
		if reviews > 0 {
			rating = math.Round((3+2*rng.Float64())*10) / 10
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO artisan_profiles(user_id, headline, bio, skills, categories, hourly_rate, lat, lng,
			address, city, availability, verified, rating, review_count) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
			id, a.Headline, a.Bio, jsonList(a.Skills), jsonList(a.Categories), a.HourlyRate, a.Lat, a.Lng,
			a.Address, a.City, a.Availability, verified, rating, reviews)
		done++
		return err
	}, func() { progress(done, total) })
	if err != nil {
		return err
	}
	return batches(ctx, db, opts.Jobs, opts.Batch, func(tx *sql.Tx, i int) error {
		j := gen.Job()
		status := []string{"open", "open", "open", "open", "in_progress", "completed", "cancelled"}[rng.IntN(7)]
		created := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(300*24*3600)) * time.Second)
		_, err := tx.ExecContext(ctx, `INSERT INTO jobs(client_id, title, description, category, skills, budget, lat, lng, address, status, created_at, updated_at)
			VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
			clientIDs[rng.IntN(len(clientIDs))], j.Title, j.Description, j.Category, jsonList(j.Skills), j.Budget,
			j.Lat, j.Lng, j.Address, status, created.Format("2006-01-02T15:04:05.000Z"), created.Format("2006-01-02T15:04:05.000Z"))
		done++
		return err
	}, func() { progress(done, total) })
}

func batches(ctx context.Context, db *store.DB, n, size int, row func(tx *sql.Tx, i int) error, after func()) error {
	for start := 0; start < n; start += size {
		tx, err := db.W.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("synth: begin: %w", err)
		}
		for i := start; i < min(start+size, n); i++ {
			if err := row(tx, i); err != nil {
				tx.Rollback()
				return fmt.Errorf("synth: row %d: %w", i, err)
			}
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("synth: commit: %w", err)
		}
		after()
	}
	return nil
}

func pickCity(rng *rand.Rand) City {
	total := 0
	for _, c := range Cities {
		total += c.Weight
	}
	n := rng.IntN(total)
	for _, c := range Cities {
		if n < c.Weight {
			return c
		}
		n -= c.Weight
	}
	return Cities[0]
}

// scatter returns a point within maxKm of the city, denser near the centre.
func scatter(rng *rand.Rand, c City, maxKm float64) (float64, float64) {
	d := maxKm * math.Sqrt(rng.Float64()) * rng.Float64()
	theta := 2 * math.Pi * rng.Float64()
	dLat := d / 111.195 * math.Cos(theta)
	dLng := d / (111.195 * math.Cos(c.Lat*math.Pi/180)) * math.Sin(theta)
	return math.Round((c.Lat+dLat)*1e6) / 1e6, math.Round((c.Lng+dLng)*1e6) / 1e6
}

func name(rng *rand.Rand) string {
	return firstNames[rng.IntN(len(firstNames))] + " " + lastNames[rng.IntN(len(lastNames))]
}

func appendUnique(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

func jsonList(v []string) string {
	b, _ := json.Marshal(v)
	return string(b)
}
