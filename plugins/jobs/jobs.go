// Package jobs is the jobs domain plugin: jobs now; applications (bids), milestones
// and reviews register on the same router as they arrive (one file each).
//
// Reads build their JSON inside SQLite (json_object) so the guest only wraps bytes:
// guest code runs 8–28× slower than native under the host's interruptible wazero
// configuration, so it is kept lean.
package jobs

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/mysharpjob/sharpjob/plugins/sdk"
)

// Routes is the plugin's router; wasm/main.go serves it, the host's native baseline links it.
func Routes() *sdk.Router {
	rt := sdk.NewRouter()
	rt.Handle("POST", "/api/jobs", createJob)
	rt.Handle("GET", "/api/jobs", listJobs)
	rt.Handle("GET", "/api/jobs/{id}", showJob)
	rt.Handle("PATCH", "/api/jobs/{id}", updateJob)
	rt.Handle("DELETE", "/api/jobs/{id}", deleteJob)
	return rt
}

// jobJSON renders one job (alias j, its client u) as a JSON object.
const jobJSON = `json_object(
	'id', j.id, 'client_id', j.client_id, 'artisan_id', j.artisan_id,
	'title', j.title, 'description', j.description, 'category', j.category,
	'skills', json(j.skills), 'budget', j.budget, 'currency', j.currency,
	'lat', j.lat, 'lng', j.lng, 'address', j.address, 'status', j.status,
	'created_at', j.created_at, 'updated_at', j.updated_at,
	'client', json_object('id', u.id, 'name', u.name, 'avatar_url', u.avatar_url))`

const selectJob = `SELECT ` + jobJSON + `, j.client_id, j.status, j.artisan_id FROM jobs j JOIN users u ON u.id = j.client_id WHERE j.id = ?`

var (
	statuses   = []string{"open", "in_progress", "completed", "cancelled"}
	currencies = []string{"NGN", "USD", "GHS", "KES", "ZAR"}
)

// loaded is a job row as the handlers need it.
type loaded struct {
	json      []byte
	clientID  int64
	status    string
	artisanID int64
}

func load(id int64) (loaded, bool, error) {
	res, err := sdk.Query(selectJob, id)
	if err != nil || res.Len() == 0 {
		return loaded{}, false, err
	}
	return loaded{json: res.Bytes(0, 0), clientID: res.Int(0, 1), status: string(res.Bytes(0, 2)), artisanID: res.Int(0, 3)}, true, nil
}

func data(status int, obj []byte) sdk.Response {
	body := make([]byte, 0, len(obj)+9)
	body = append(append(append(body, `{"data":`...), obj...), '}')
	return sdk.RawJSON(status, body)
}

func serverError(err error) sdk.Response { return sdk.ServerError(fmt.Errorf("jobs: %w", err)) }

// owned loads the job in the path for its client: 401, 404 and 403 come ready.
func owned(r *sdk.Request) (int64, loaded, sdk.Response, bool) {
	u := r.User()
	if u.ID == 0 {
		return 0, loaded{}, sdk.Unauthenticated(), false
	}
	id, ok := r.ParamID("id")
	if !ok {
		return 0, loaded{}, sdk.NotFound(), false
	}
	job, found, err := load(id)
	if err != nil {
		return 0, loaded{}, serverError(err), false
	}
	if !found {
		return 0, loaded{}, sdk.NotFound(), false
	}
	if job.clientID != u.ID {
		return 0, loaded{}, sdk.Forbidden(), false
	}
	return id, job, sdk.Response{}, true
}

func showJob(r *sdk.Request) sdk.Response {
	id, ok := r.ParamID("id")
	if !ok {
		return sdk.NotFound()
	}
	job, found, err := load(id)
	if err != nil {
		return serverError(err)
	}
	if !found {
		return sdk.NotFound()
	}
	return data(200, job.json)
}

// jobFields validates a create (required) or an update (sometimes) body.
type jobFields struct {
	set  []string // "column = ?" for an update
	args []any
}

func readJob(f *sdk.Fields, presence bool) jobFields {
	var j jobFields
	add := func(col string, v any) {
		j.set = append(j.set, col+" = ?")
		j.args = append(j.args, v)
	}
	if v, ok := f.String("title", presence, 5, 120); ok {
		add("title", v)
	}
	if v, ok := f.String("description", presence, 20, 5000); ok {
		add("description", v)
	}
	if v, ok := f.String("category", presence, 2, 60); ok {
		add("category", strings.ToLower(v))
	}
	if v, ok := f.Strings("skills", presence, 1, 20, 50); ok {
		b, _ := json.Marshal(v)
		add("skills", string(b))
	}
	if v, ok := f.Int("budget", presence, 100, 1_000_000_000_000); ok {
		add("budget", v)
	}
	if v, ok := f.OneOf("currency", sdk.Sometimes, currencies...); ok {
		add("currency", v)
	}
	lat, latOK := f.Float("lat", presence, -90, 90)
	lng, lngOK := f.Float("lng", presence, -180, 180)
	if f.Has("lat") != f.Has("lng") { // a point is both or neither
		missing, other := "lng", "lat"
		if !f.Has("lat") {
			missing, other = "lat", "lng"
		}
		if !presence { // when required, the missing one already has its error
			f.Errors().Add(missing, "The "+missing+" field is required when "+other+" is present.")
		}
	}
	if latOK && lngOK {
		add("lat", lat)
		add("lng", lng)
	}
	if v, ok := f.String("address", sdk.Sometimes, 0, 255); ok {
		add("address", v)
	}
	return j
}

var jobKeys = []string{"title", "description", "category", "skills", "budget", "currency", "lat", "lng", "address"}

func createJob(r *sdk.Request) sdk.Response {
	u := r.User()
	if u.ID == 0 {
		return sdk.Unauthenticated()
	}
	if u.Role != "client" {
		return sdk.Error(403, "Only clients can post jobs.")
	}
	f, resp, ok := sdk.ParseFields(r)
	if !ok {
		return resp
	}
	f.Unknown(jobKeys...)
	j := readJob(f, sdk.Required)
	if !f.Valid() {
		return f.Invalid()
	}
	cols := make([]string, 0, len(j.set)+1)
	marks := make([]string, 0, len(j.set)+1)
	for _, s := range j.set {
		cols = append(cols, strings.TrimSuffix(s, " = ?"))
		marks = append(marks, "?")
	}
	cols, marks = append(cols, "client_id"), append(marks, "?")
	args := append(j.args, u.ID)
	res, err := sdk.Exec(`INSERT INTO jobs (`+strings.Join(cols, ", ")+`) VALUES (`+strings.Join(marks, ", ")+`) RETURNING id`, args...)
	if err != nil {
		return serverError(err)
	}
	job, found, err := load(res.Int(0, 0))
	if err != nil || !found {
		return serverError(errors.Join(err, errors.New("created job not found")))
	}
	return data(201, job.json)
}

// allowedTransitions: what the job's client may move a job to, by status.
var allowedTransitions = map[string][]string{
	"open":        {"cancelled"},
	"in_progress": {"completed", "cancelled"},
}

func updateJob(r *sdk.Request) sdk.Response {
	id, job, resp, ok := owned(r)
	if !ok {
		return resp
	}
	f, resp, ok := sdk.ParseFields(r)
	if !ok {
		return resp
	}
	f.Unknown(append(jobKeys, "status")...)
	j := readJob(f, sdk.Sometimes)
	newStatus, hasStatus := f.OneOf("status", sdk.Sometimes, statuses...)
	if hasStatus && newStatus != job.status {
		allowed := false
		for _, s := range allowedTransitions[job.status] {
			allowed = allowed || s == newStatus
		}
		if !allowed {
			f.Errors().Add("status", "A job cannot move from "+job.status+" to "+newStatus+".")
		} else {
			j.set, j.args = append(j.set, "status = ?"), append(j.args, newStatus)
		}
	}
	if len(j.set) > 0 && job.status != "open" && !(len(j.set) == 1 && hasStatus) {
		f.Errors().Add("job", "Only open jobs can be edited; this one is "+job.status+".")
	}
	if !f.Valid() {
		return f.Invalid()
	}
	if len(j.set) == 0 {
		return data(200, job.json)
	}
	j.set = append(j.set, "updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')")
	if _, err := sdk.Exec(`UPDATE jobs SET `+strings.Join(j.set, ", ")+` WHERE id = ?`, append(j.args, id)...); err != nil {
		return serverError(err)
	}
	updated, _, err := load(id)
	if err != nil {
		return serverError(err)
	}
	kind := "updated"
	if hasStatus && newStatus != job.status {
		kind = "status_changed"
	}
	notifyJob(id, job, kind, updated.json)
	return data(200, updated.json)
}

// notifyJob broadcasts job.updated to the job's channel and its people's user channels.
// The write has committed; a failed broadcast is logged, never undone.
func notifyJob(id int64, job loaded, kind string, obj []byte) {
	channels := []string{"private-job." + strconv.FormatInt(id, 10), "private-user." + strconv.FormatInt(job.clientID, 10)}
	if job.artisanID != 0 {
		channels = append(channels, "private-user."+strconv.FormatInt(job.artisanID, 10))
	}
	payload := map[string]any{"type": kind, "job": json.RawMessage(obj)}
	if err := sdk.Broadcast(channels, "job.updated", payload); err != nil {
		sdk.Log(sdk.LevelWarn, "jobs: broadcast job.updated: "+err.Error())
	}
}

func deleteJob(r *sdk.Request) sdk.Response {
	id, job, resp, ok := owned(r)
	if !ok {
		return resp
	}
	if job.status != "open" {
		return sdk.Error(409, "Only open jobs can be deleted; this one is "+job.status+".")
	}
	if _, err := sdk.Batch(
		sdk.Stmt{SQL: `DELETE FROM job_applications WHERE job_id = ?`, Args: []any{id}},
		sdk.Stmt{SQL: `DELETE FROM milestones WHERE job_id = ?`, Args: []any{id}},
		sdk.Stmt{SQL: `DELETE FROM jobs WHERE id = ? AND status = 'open'`, Args: []any{id}},
	); err != nil {
		return serverError(err)
	}
	return sdk.JSON(200, map[string]string{"message": "Job deleted."})
}

func listJobs(r *sdk.Request) sdk.Response {
	errs := sdk.Errors{}
	perDefault := 15
	if v, ok := sdk.Config("JOBS_DEFAULT_PER_PAGE"); ok {
		if n, err := strconv.Atoi(v); err == nil && n > 0 && n <= 100 {
			perDefault = n
		}
	}
	page, per := sdk.PageParams(r, errs, perDefault, 100)
	where, args := []string{"1 = 1"}, []any{}
	if s := r.QueryValue("status"); s != "" {
		valid := false
		for _, x := range statuses {
			valid = valid || x == s
		}
		if !valid {
			errs.Add("status", "The selected status is invalid.")
		}
		where, args = append(where, "j.status = ?"), append(args, s)
	}
	if c := r.QueryValue("category"); c != "" {
		where, args = append(where, "j.category = ?"), append(args, strings.ToLower(c))
	}
	if c := r.QueryValue("client_id"); c != "" {
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil || n < 1 {
			errs.Add("client_id", "The client id field must be a positive integer.")
		}
		where, args = append(where, "j.client_id = ?"), append(args, n)
	}
	if len(errs) > 0 {
		return sdk.Invalid(errs)
	}
	cond := strings.Join(where, " AND ")
	res, err := sdk.Query(`SELECT `+jobJSON+`, count(*) OVER () FROM jobs j JOIN users u ON u.id = j.client_id WHERE `+cond+
		` ORDER BY j.created_at DESC, j.id DESC LIMIT ? OFFSET ?`, append(args, per, (page-1)*per)...)
	if err != nil {
		return serverError(err)
	}
	return sdk.RowsPage(r, res, page, per, func() (int, error) {
		c, err := sdk.Query(`SELECT count(*) FROM jobs j WHERE `+cond, args...)
		if err != nil {
			return 0, err
		}
		return int(c.Int(0, 0)), nil
	})
}
