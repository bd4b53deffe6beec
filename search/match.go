package search

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Matching scores a (job, artisan) pair out of 100 points, from parts the UI can
// show one by one. The same function ranks a job's best artisans and an
// artisan's best jobs, so a pair scores the same from either side.
//
//	part          weight  value in [0, 1]
//	skills        40      share of the job's skills the artisan has; without job
//	                      skills, 1 if the artisan lists the job's category; a
//	                      category match without shared skills counts 0.25
//	distance      20      1 − distance/radius (0 beyond the radius or without a location)
//	rating        15      rating / 5
//	reviews       10      log(1+reviews) / log(1+50), capped at 1 (50 reviews = full marks)
//	verified      10      1 if verified
//	availability   5      available 1, busy 0.5, unavailable 0
//
// Candidates come from the engine first (within the radius, sharing a skill or a
// category, not unavailable), up to MatchCandidates of them, nearest first.
var MatchWeights = []struct {
	Name   string
	Weight float64
}{{"skills", 40}, {"distance", 20}, {"rating", 15}, {"reviews", 10}, {"verified", 10}, {"availability", 5}}

// MatchCandidates bounds how many candidates a match request scores.
const MatchCandidates = 200

// ScorePart is one term of a match score.
type ScorePart struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`  // in [0, 1]
	Weight float64 `json:"weight"` // points available
	Points float64 `json:"points"` // Value × Weight
	Detail string  `json:"detail"`
}

// Score is a pair's total (0–100) with its parts.
type Score struct {
	Total         float64     `json:"score"`
	Parts         []ScorePart `json:"parts"`
	MatchedSkills []string    `json:"matched_skills"`
	DistanceKm    *float64    `json:"distance_km"`
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// ScoreMatch scores artisan a for job j; radiusKm scales the distance part.
func ScoreMatch(j JobDoc, a ArtisanDoc, radiusKm float64) Score {
	if radiusKm <= 0 {
		radiusKm = 50
	}
	has := map[string]bool{}
	for _, s := range a.Skills {
		has[strings.ToLower(s)] = true
	}
	matched := []string{}
	for _, s := range j.Skills {
		if has[strings.ToLower(s)] && !slices.Contains(matched, s) {
			matched = append(matched, s)
		}
	}
	categoryMatch := slices.ContainsFunc(a.Categories, func(c string) bool { return strings.EqualFold(c, j.Category) })
	var skills float64
	var skillsDetail string
	switch {
	case len(j.Skills) > 0 && len(matched) > 0:
		skills = float64(len(matched)) / float64(len(j.Skills))
		skillsDetail = strconv.Itoa(len(matched)) + " of " + strconv.Itoa(len(j.Skills)) + " skills"
	case len(j.Skills) == 0 && categoryMatch:
		skills, skillsDetail = 1, "works in "+j.Category
	case categoryMatch:
		skills, skillsDetail = 0.25, "no shared skill; works in "+j.Category
	default:
		skillsDetail = "no shared skill or category"
	}
	var dist, distance float64
	distDetail := "no location"
	var distKm *float64
	if a.Lat != nil && a.Lng != nil {
		dist = HaversineKm(Point{j.Lat, j.Lng}, Point{*a.Lat, *a.Lng})
		distKm = roundKm(dist)
		distance = math.Max(0, 1-dist/radiusKm)
		distDetail = strconv.FormatFloat(*distKm, 'f', 1, 64) + " km of " + strconv.FormatFloat(radiusKm, 'f', -1, 64)
	}
	reviews := math.Min(1, math.Log1p(float64(a.ReviewCount))/math.Log1p(50))
	verified, verifiedDetail := 0.0, "not verified"
	if a.Verified {
		verified, verifiedDetail = 1, "verified"
	}
	avail := map[string]float64{"available": 1, "busy": 0.5}[a.Availability]
	values := map[string]struct {
		v      float64
		detail string
	}{
		"skills":       {skills, skillsDetail},
		"distance":     {distance, distDetail},
		"rating":       {math.Max(0, math.Min(1, a.Rating/5)), strconv.FormatFloat(a.Rating, 'f', 1, 64) + " / 5"},
		"reviews":      {reviews, strconv.Itoa(a.ReviewCount) + " reviews"},
		"verified":     {verified, verifiedDetail},
		"availability": {avail, a.Availability},
	}
	s := Score{MatchedSkills: matched, DistanceKm: distKm}
	total := 0.0
	for _, w := range MatchWeights {
		v := values[w.Name]
		p := ScorePart{Name: w.Name, Value: round2(v.v), Weight: w.Weight, Points: round2(v.v * w.Weight), Detail: v.detail}
		total += v.v * w.Weight
		s.Parts = append(s.Parts, p)
	}
	s.Total = round2(total)
	return s
}

// ArtisanMatch is one of a job's best artisans.
type ArtisanMatch struct {
	Artisan ArtisanHit `json:"artisan"`
	Score
}

// JobMatch is one of an artisan's best jobs.
type JobMatch struct {
	Job JobHit `json:"job"`
	Score
}

// MatchArtisans returns job's best artisans, best first (ties: nearer, then lower id).
func MatchArtisans(ctx context.Context, engine Engine, job JobDoc, radiusKm float64, limit int) ([]ArtisanMatch, error) {
	p := Point{job.Lat, job.Lng}
	q := ArtisanQuery{Point: &p, RadiusKm: radiusKm, Available: true, Sort: SortDistance, PerPage: MatchCandidates,
		Candidates: &Candidates{Skills: job.Skills, Categories: nonEmpty(job.Category)}}
	res, err := engine.SearchArtisans(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]ArtisanMatch, 0, len(res.Hits))
	for _, h := range res.Hits {
		out = append(out, ArtisanMatch{Artisan: h, Score: ScoreMatch(job, h.ArtisanDoc, radiusKm)})
	}
	slices.SortStableFunc(out, func(a, b ArtisanMatch) int {
		return compareScores(a.Score, b.Score, a.Artisan.ID, b.Artisan.ID)
	})
	return out[:min(limit, len(out))], nil
}

// MatchJobs returns the open jobs best suited to artisan a, best first.
func MatchJobs(ctx context.Context, engine Engine, a ArtisanDoc, radiusKm float64, limit int) ([]JobMatch, error) {
	q := JobQuery{Status: "open", Sort: SortDate, PerPage: MatchCandidates,
		Candidates: &Candidates{Skills: a.Skills, Categories: a.Categories}}
	if p := a.Point(); p != nil {
		q.Point, q.RadiusKm, q.Sort = p, radiusKm, SortDistance
	}
	if len(a.Skills) == 0 && len(a.Categories) == 0 {
		return []JobMatch{}, nil
	}
	res, err := engine.SearchJobs(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]JobMatch, 0, len(res.Hits))
	for _, h := range res.Hits {
		out = append(out, JobMatch{Job: h, Score: ScoreMatch(h.JobDoc, a, radiusKm)})
	}
	slices.SortStableFunc(out, func(x, y JobMatch) int {
		return compareScores(x.Score, y.Score, x.Job.ID, y.Job.ID)
	})
	return out[:min(limit, len(out))], nil
}

func compareScores(a, b Score, idA, idB int64) int {
	if a.Total != b.Total {
		if a.Total > b.Total {
			return -1
		}
		return 1
	}
	da, db := math.Inf(1), math.Inf(1)
	if a.DistanceKm != nil {
		da = *a.DistanceKm
	}
	if b.DistanceKm != nil {
		db = *b.DistanceKm
	}
	if da != db {
		if da < db {
			return -1
		}
		return 1
	}
	switch {
	case idA < idB:
		return -1
	case idA > idB:
		return 1
	}
	return 0
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}
