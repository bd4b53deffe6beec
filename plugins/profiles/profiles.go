// Package profiles is the artisan profiles plugin: an artisan keeps their skills,
// trades, rates, location and availability; everyone can read a public profile.
// Every write lands in the search outbox through the schema's triggers, so search
// sees it without this plugin knowing search exists.
package profiles

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/mysharpjob/sharpjob/plugins/sdk"
)

// Routes is the plugin's router.
func Routes() *sdk.Router {
	rt := sdk.NewRouter()
	rt.Handle("GET", "/api/profile/artisan", mine)
	rt.Handle("PUT", "/api/profile/artisan", update)
	rt.Handle("GET", "/api/artisans/{id}", public)
	return rt
}

// profileJSON renders user u with profile p (LEFT JOIN: a new artisan has none yet).
const profileJSON = `json_object(
	'id', u.id, 'name', u.name, 'avatar_url', u.avatar_url, 'is_verified', json(CASE WHEN u.is_verified OR coalesce(p.verified, 0) THEN 'true' ELSE 'false' END),
	'headline', coalesce(p.headline, ''), 'bio', coalesce(p.bio, ''),
	'skills', json(coalesce(p.skills, '[]')), 'categories', json(coalesce(p.categories, '[]')),
	'hourly_rate', coalesce(p.hourly_rate, 0), 'currency', coalesce(p.currency, 'NGN'),
	'lat', p.lat, 'lng', p.lng, 'address', coalesce(p.address, ''), 'city', coalesce(p.city, ''),
	'availability', coalesce(p.availability, 'available'),
	'rating', coalesce(p.rating, 0), 'review_count', coalesce(p.review_count, 0),
	'member_since', u.created_at, 'updated_at', p.updated_at)`

func serverError(err error) sdk.Response { return sdk.ServerError(fmt.Errorf("profiles: %w", err)) }

func render(status int, userID int64, withReviews bool) sdk.Response {
	res, err := sdk.Query(`SELECT `+profileJSON+` FROM users u LEFT JOIN artisan_profiles p ON p.user_id = u.id
		WHERE u.id = ? AND u.role = 'artisan'`, userID)
	if err != nil {
		return serverError(err)
	}
	if res.Len() == 0 {
		return sdk.NotFound()
	}
	out := map[string]any{"data": json.RawMessage(res.Bytes(0, 0))}
	if withReviews {
		rev, err := sdk.Query(`SELECT json_object('id', r.id, 'job_id', r.job_id, 'rating', r.rating, 'comment', r.comment,
			'created_at', r.created_at, 'reviewer', json_object('id', w.id, 'name', w.name))
			FROM reviews r JOIN users w ON w.id = r.reviewer_id WHERE r.reviewee_id = ? ORDER BY r.id DESC LIMIT 5`, userID)
		if err != nil {
			return serverError(err)
		}
		recent := make([]json.RawMessage, rev.Len())
		for i := range recent {
			recent[i] = json.RawMessage(rev.Bytes(i, 0))
		}
		out["recent_reviews"] = recent
	}
	return sdk.JSON(status, out)
}

func artisanOnly(r *sdk.Request) (int64, sdk.Response, bool) {
	u := r.User()
	if u.ID == 0 {
		return 0, sdk.Unauthenticated(), false
	}
	if u.Role != "artisan" {
		return 0, sdk.Error(403, "Only artisans have an artisan profile."), false
	}
	return u.ID, sdk.Response{}, true
}

func mine(r *sdk.Request) sdk.Response {
	id, resp, ok := artisanOnly(r)
	if !ok {
		return resp
	}
	return render(200, id, false)
}

func public(r *sdk.Request) sdk.Response {
	id, ok := r.ParamID("id")
	if !ok {
		return sdk.NotFound()
	}
	return render(200, id, true)
}

// update sets the fields the body carries (all optional), creating the profile on
// first use.
func update(r *sdk.Request) sdk.Response {
	id, resp, ok := artisanOnly(r)
	if !ok {
		return resp
	}
	f, resp, ok := sdk.ParseFields(r)
	if !ok {
		return resp
	}
	f.Unknown("headline", "bio", "skills", "categories", "hourly_rate", "currency", "lat", "lng", "address", "city", "availability")
	cols, args := []string{}, []any{}
	add := func(col string, v any) { cols, args = append(cols, col), append(args, v) }
	if v, ok := f.String("headline", sdk.Sometimes, 0, 120); ok {
		add("headline", v)
	}
	if v, ok := f.String("bio", sdk.Sometimes, 0, 2000); ok {
		add("bio", v)
	}
	if v, ok := f.Strings("skills", sdk.Sometimes, 1, 30, 50); ok {
		b, _ := json.Marshal(v)
		add("skills", string(b))
	}
	if v, ok := f.Strings("categories", sdk.Sometimes, 0, 10, 50); ok {
		b, _ := json.Marshal(v)
		add("categories", string(b))
	}
	if v, ok := f.Int("hourly_rate", sdk.Sometimes, 0, 100_000_000_00); ok {
		add("hourly_rate", v)
	}
	if v, ok := f.OneOf("currency", sdk.Sometimes, "NGN", "USD", "GHS", "KES", "ZAR"); ok {
		add("currency", v)
	}
	lat, latOK := f.Float("lat", sdk.Sometimes, -90, 90)
	lng, lngOK := f.Float("lng", sdk.Sometimes, -180, 180)
	switch {
	case f.Has("lat") && !f.Has("lng"):
		f.Errors().Add("lng", "The lng field is required when lat is present.")
	case f.Has("lng") && !f.Has("lat"):
		f.Errors().Add("lat", "The lat field is required when lng is present.")
	case latOK && lngOK:
		add("lat", lat)
		add("lng", lng)
	}
	if v, ok := f.String("address", sdk.Sometimes, 0, 255); ok {
		add("address", v)
	}
	if v, ok := f.String("city", sdk.Sometimes, 0, 80); ok {
		add("city", v)
	}
	if v, ok := f.OneOf("availability", sdk.Sometimes, "available", "busy", "unavailable"); ok {
		add("availability", v)
	}
	if !f.Valid() {
		return f.Invalid()
	}
	if len(cols) == 0 {
		return render(200, id, false)
	}
	set := make([]string, len(cols))
	marks := make([]string, len(cols))
	for i, c := range cols {
		set[i] = c + " = excluded." + c
		marks[i] = "?"
	}
	set = append(set, "updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')")
	_, err := sdk.Exec(`INSERT INTO artisan_profiles (user_id, `+strings.Join(cols, ", ")+`) VALUES (?, `+strings.Join(marks, ", ")+`)
		ON CONFLICT (user_id) DO UPDATE SET `+strings.Join(set, ", "), append([]any{id}, args...)...)
	if err != nil {
		return serverError(err)
	}
	return render(200, id, false)
}
