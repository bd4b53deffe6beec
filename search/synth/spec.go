package synth

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Generator makes synthetic artisans and jobs one at a time, for writers that go
// through the API's own code paths (sharpjob seed) instead of straight to the tables.
type Generator struct{ rng *rand.Rand }

// NewGenerator is deterministic for a seed.
func NewGenerator(seed uint64) *Generator {
	return &Generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// ArtisanSpec is one artisan's registration name and profile.
type ArtisanSpec struct {
	Name, Headline, Bio         string
	Skills, Categories          []string
	HourlyRate                  int64
	Lat, Lng                    float64
	Address, City, Availability string
}

// JobSpec is one job posting.
type JobSpec struct {
	Title, Description, Category string
	Skills                       []string
	Budget                       int64
	Lat, Lng                     float64
	Address                      string
}

// Name is a plausible Nigerian full name.
func (g *Generator) Name() string { return name(g.rng) }

// Artisan makes an artisan around a city picked by population.
func (g *Generator) Artisan() ArtisanSpec {
	rng := g.rng
	city := pickCity(rng)
	lat, lng := scatter(rng, city, 20)
	cats := []string{categories[rng.IntN(len(categories))]}
	if rng.IntN(4) == 0 {
		cats = appendUnique(cats, categories[rng.IntN(len(categories))])
	}
	var skills []string
	for _, c := range cats {
		trade := Trades[c]
		for range 1 + rng.IntN(3) {
			skills = appendUnique(skills, trade[rng.IntN(len(trade))])
		}
	}
	return ArtisanSpec{
		Name:     name(rng),
		Headline: fmt.Sprintf(headlines[rng.IntN(len(headlines))], skills[0]),
		Bio:      fmt.Sprintf("I offer %s in %s and nearby areas. %s.", strings.Join(skills, ", "), city.Name, areas[rng.IntN(len(areas))]),
		Skills:   skills, Categories: cats,
		HourlyRate: int64(2+rng.IntN(40)) * 50000,
		Lat:        lat, Lng: lng,
		Address:      areas[rng.IntN(len(areas))] + ", " + city.Name,
		City:         city.Name,
		Availability: []string{"available", "available", "available", "busy", "unavailable"}[rng.IntN(5)],
	}
}

// Job makes a job around a city picked by population.
func (g *Generator) Job() JobSpec {
	rng := g.rng
	city := pickCity(rng)
	lat, lng := scatter(rng, city, 20)
	cat := categories[rng.IntN(len(categories))]
	trade := Trades[cat]
	var skills []string
	for range 1 + rng.IntN(2) {
		skills = appendUnique(skills, trade[rng.IntN(len(trade))])
	}
	return JobSpec{
		Title:       fmt.Sprintf(jobTitles[rng.IntN(len(jobTitles))], skills[0], areas[rng.IntN(len(areas))]),
		Description: fmt.Sprintf("Looking for a skilled hand for %s around %s, %s.", strings.Join(skills, " and "), areas[rng.IntN(len(areas))], city.Name),
		Category:    cat, Skills: skills,
		Budget: int64(1+rng.IntN(200)) * 100000,
		Lat:    lat, Lng: lng,
		Address: areas[rng.IntN(len(areas))] + ", " + city.Name,
	}
}
