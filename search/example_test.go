package search_test

import (
	"fmt"

	"github.com/mysharpjob/sharpjob/search"
)

func ExampleHaversineKm() {
	lagos, ibadan := search.Point{Lat: 6.5244, Lng: 3.3792}, search.Point{Lat: 7.3775, Lng: 3.9470}
	fmt.Printf("%.1f km\n", search.HaversineKm(lagos, ibadan))
	// Output: 113.7 km
}

func ExampleScoreMatch() {
	lat, lng := 6.6, 3.4
	job := search.JobDoc{Title: "Install water heater", Category: "plumbing", Skills: []string{"plumbing", "electrical"}, Lat: 6.5, Lng: 3.4}
	artisan := search.ArtisanDoc{Name: "Ada", Skills: []string{"plumbing"}, Categories: []string{"plumbing"},
		Lat: &lat, Lng: &lng, Rating: 4.5, ReviewCount: 12, Verified: true, Availability: "busy"}
	s := search.ScoreMatch(job, artisan, 50)
	fmt.Println("score", s.Total, "matched", s.MatchedSkills)
	for _, p := range s.Parts {
		fmt.Printf("%-12s %5.2f / %2.0f  %s\n", p.Name, p.Points, p.Weight, p.Detail)
	}
	// Output:
	// score 68.08 matched [plumbing]
	// skills       20.00 / 40  1 of 2 skills
	// distance     15.55 / 20  11.1 km of 50
	// rating       13.50 / 15  4.5 / 5
	// reviews       6.52 / 10  12 reviews
	// verified     10.00 / 10  verified
	// availability  2.50 /  5  busy
}
