package search

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/mysharpjob/sharpjob/store"
)

// Syncer drains search_outbox into an Engine. Triggers write the outbox rows in the
// same transaction as every domain change (migrations/0001_schema.sql), so writers
// never touch it. For each batch of due rows, in id order, the Syncer loads the
// CURRENT database row of every (index, doc_id) the batch names — duplicates
// coalesce to one document — upserts the ones that exist and deletes the ones that
// are gone, and marks the rows done only after the engine confirmed it applied the
// change. A failure leaves the rows pending with attempts, last_error and an
// exponential next_attempt_at; nothing is lost while the engine is down.
//
// Delivery is at least once; because a document is keyed by its row id and is
// always rebuilt from the current row, a replay changes nothing, so every write is
// searchable exactly once. Run exactly one Syncer per database: it is the only
// writer to the engine, so a later push always carries a newer row. (Two writers
// could interleave "load" and "push" so that an older state lands last.)
type Syncer struct {
	db     *store.DB
	engine Engine
	logger *slog.Logger

	// Tunables; set before Run.
	BatchSize  int           // rows per batch (default 500)
	Poll       time.Duration // how often Run looks for work without a Notify (default 200ms)
	MinBackoff time.Duration // first retry delay (default 250ms)
	MaxBackoff time.Duration // retry delay cap (default 10s)
	Retention  time.Duration // done rows older than this are purged by Run (default 24h)

	wake chan struct{}

	mu      sync.Mutex
	lastErr error
	done    int64 // rows marked done since start
	failed  int64 // row attempts that failed since start
}

// NewSyncer returns a drainer of db's outbox into engine.
func NewSyncer(db *store.DB, engine Engine, logger *slog.Logger) *Syncer {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Syncer{db: db, engine: engine, logger: logger,
		BatchSize: 500, Poll: 200 * time.Millisecond, MinBackoff: 250 * time.Millisecond,
		MaxBackoff: 10 * time.Second, Retention: 24 * time.Hour,
		wake: make(chan struct{}, 1)}
}

// Notify wakes Run at once (call after a write you want searchable quickly).
func (s *Syncer) Notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run drains until ctx is done. Engine failures are logged (once per change of
// error) and retried with backoff; Run returns only ctx's error.
func (s *Syncer) Run(ctx context.Context) error {
	poll := time.NewTicker(s.Poll)
	defer poll.Stop()
	lastPurge := time.Time{}
	for {
		_, err := s.DrainOnce(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			s.logger.Debug("search outbox drain failed", "err", err)
		}
		if time.Since(lastPurge) > time.Hour {
			lastPurge = time.Now()
			if err := s.purge(ctx); err != nil {
				s.logger.Warn("search outbox purge failed", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.wake:
		case <-poll.C:
		}
	}
}

// DrainOnce processes every row due now, batch by batch, and returns how many
// outbox rows it marked done. It stops at the first batch the engine rejected and
// returns that error (those rows are rescheduled).
func (s *Syncer) DrainOnce(ctx context.Context) (int, error) {
	total := 0
	for {
		rows, err := s.due(ctx)
		if err != nil {
			return total, err
		}
		if len(rows) == 0 { // nothing due: the last outcome stands
			return total, nil
		}
		done, err := s.process(ctx, rows)
		total += done
		s.mu.Lock()
		s.done += int64(done)
		if err != nil {
			s.failed += int64(len(rows) - done)
		}
		s.mu.Unlock()
		if err != nil {
			s.setErr(err)
			return total, err
		}
		if len(rows) < s.batchSize() {
			s.setErr(nil)
			return total, nil
		}
	}
}

func (s *Syncer) setErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil && (s.lastErr == nil || s.lastErr.Error() != err.Error()) {
		s.logger.Warn("search outbox: engine rejected a batch; will retry", "engine", s.engine.Name(), "err", err)
	} else if err == nil && s.lastErr != nil {
		s.logger.Info("search outbox: engine reachable again", "engine", s.engine.Name())
	}
	s.lastErr = err
}

func (s *Syncer) batchSize() int {
	if s.BatchSize <= 0 {
		return 500
	}
	return s.BatchSize
}

type outboxRow struct {
	id       int64
	index    Index
	docID    int64
	attempts int
}

func nowText() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z") }

func (s *Syncer) due(ctx context.Context) ([]outboxRow, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, index_name, doc_id, attempts FROM search_outbox
		WHERE done_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= ?)
		ORDER BY id LIMIT ?`, nowText(), s.batchSize())
	if err != nil {
		return nil, fmt.Errorf("search: read outbox: %w", err)
	}
	defer rows.Close()
	var out []outboxRow
	for rows.Next() {
		var r outboxRow
		var idx string
		if err := rows.Scan(&r.id, &idx, &r.docID, &r.attempts); err != nil {
			return nil, fmt.Errorf("search: read outbox: %w", err)
		}
		r.index = Index(idx)
		out = append(out, r)
	}
	return out, rows.Err()
}

// process applies one batch. When the engine rejects a multi-document batch for a
// reason other than being unreachable (a document it refuses), the rows are
// retried one document at a time so a single bad row cannot hold up the rest.
func (s *Syncer) process(ctx context.Context, rows []outboxRow) (int, error) {
	err := s.apply(ctx, s.db.R, rows)
	if err == nil {
		return len(rows), s.mark(ctx, rows, nil)
	}
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	keys := groupByDoc(rows)
	if errors.Is(err, ErrUnavailable) || len(keys) == 1 {
		return 0, errors.Join(err, s.mark(ctx, rows, err))
	}
	done := 0
	var firstErr error
	for _, group := range keys {
		if e := s.apply(ctx, s.db.R, group); e != nil {
			firstErr = errors.Join(firstErr, e)
			if err := s.mark(ctx, group, e); err != nil {
				return done, err
			}
			if errors.Is(e, ErrUnavailable) {
				break
			}
			continue
		}
		if err := s.mark(ctx, group, nil); err != nil {
			return done, err
		}
		done += len(group)
	}
	return done, firstErr
}

// groupByDoc splits rows by document, in order of first appearance.
func groupByDoc(rows []outboxRow) [][]outboxRow {
	type key struct {
		index Index
		id    int64
	}
	pos := map[key]int{}
	var out [][]outboxRow
	for _, r := range rows {
		k := key{r.index, r.docID}
		i, ok := pos[k]
		if !ok {
			i = len(out)
			pos[k] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], r)
	}
	return out
}

// apply pushes the current state of every document rows name.
func (s *Syncer) apply(ctx context.Context, db *sql.DB, rows []outboxRow) error {
	var artisanIDs, jobIDs []int64
	seen := map[Index]map[int64]bool{Artisans: {}, Jobs: {}}
	for _, r := range rows {
		m, ok := seen[r.index]
		if !ok || m[r.docID] {
			continue
		}
		m[r.docID] = true
		if r.index == Artisans {
			artisanIDs = append(artisanIDs, r.docID)
		} else {
			jobIDs = append(jobIDs, r.docID)
		}
	}
	return pushCurrent(ctx, db, s.engine, artisanIDs, jobIDs)
}

// pushCurrent loads the current rows for the ids and upserts or deletes each.
func pushCurrent(ctx context.Context, db *sql.DB, engine Engine, artisanIDs, jobIDs []int64) error {
	var (
		b                      Batch
		goneArtisans, goneJobs []int64
	)
	if len(artisanIDs) > 0 {
		docs, err := loadArtisans(ctx, db, artisanIDs)
		if err != nil {
			return err
		}
		for _, id := range artisanIDs {
			if d, ok := docs[id]; ok {
				b.Artisans = append(b.Artisans, d)
			} else {
				goneArtisans = append(goneArtisans, id)
			}
		}
	}
	if len(jobIDs) > 0 {
		docs, err := loadJobs(ctx, db, jobIDs)
		if err != nil {
			return err
		}
		for _, id := range jobIDs {
			if d, ok := docs[id]; ok {
				b.Jobs = append(b.Jobs, d)
			} else {
				goneJobs = append(goneJobs, id)
			}
		}
	}
	if b.Len() > 0 {
		if err := engine.Upsert(ctx, b); err != nil {
			return err
		}
	}
	if len(goneArtisans) > 0 {
		if err := engine.Delete(ctx, Artisans, goneArtisans); err != nil {
			return err
		}
	}
	if len(goneJobs) > 0 {
		if err := engine.Delete(ctx, Jobs, goneJobs); err != nil {
			return err
		}
	}
	return nil
}

// mark records the outcome for rows: done, or a failure with the next attempt time.
func (s *Syncer) mark(ctx context.Context, rows []outboxRow, failure error) error {
	if len(rows) == 0 {
		return nil
	}
	ids := make([]int64, len(rows))
	maxAttempts := 0
	for i, r := range rows {
		ids[i] = r.id
		maxAttempts = max(maxAttempts, r.attempts+1)
	}
	// A cancelled drain still records what the engine confirmed.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		var err error
		if failure == nil {
			_, err = s.db.W.ExecContext(wctx, `UPDATE search_outbox SET done_at = ?, attempts = attempts + 1, last_error = NULL
				WHERE id IN (`+placeholders(len(chunk))+`)`, append([]any{nowText()}, int64Args(chunk)...)...)
		} else {
			next := time.Now().UTC().Add(s.backoff(maxAttempts)).Format("2006-01-02T15:04:05.000Z")
			msg := failure.Error()
			if len(msg) > 1000 {
				msg = msg[:1000]
			}
			_, err = s.db.W.ExecContext(wctx, `UPDATE search_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?
				WHERE id IN (`+placeholders(len(chunk))+`)`, append([]any{msg, next}, int64Args(chunk)...)...)
		}
		if err != nil {
			return fmt.Errorf("search: mark outbox rows: %w", err)
		}
	}
	return nil
}

func (s *Syncer) backoff(attempts int) time.Duration {
	d := s.MinBackoff
	if d <= 0 {
		d = 250 * time.Millisecond
	}
	for i := 1; i < attempts && d < s.MaxBackoff; i++ {
		d *= 2
	}
	if s.MaxBackoff > 0 && d > s.MaxBackoff {
		d = s.MaxBackoff
	}
	return d
}

func (s *Syncer) purge(ctx context.Context) error {
	cutoff := time.Now().UTC().Add(-s.Retention).Format("2006-01-02T15:04:05.000Z")
	_, err := s.db.W.ExecContext(ctx, `DELETE FROM search_outbox WHERE done_at IS NOT NULL AND done_at < ?`, cutoff)
	return err
}

// Lag describes the outbox backlog, for /healthz and /metrics.
type Lag struct {
	Pending          int           `json:"pending"`            // rows not yet applied
	OldestAge        time.Duration `json:"-"`                  // age of the oldest pending row (0 when none)
	OldestAgeSeconds float64       `json:"oldest_age_seconds"` // the same, for JSON
	LastError        string        `json:"last_error,omitempty"`
	Synced           int64         `json:"synced"` // rows applied since start (counter, for /metrics)
	Failed           int64         `json:"failed"` // row attempts that failed since start (counter)
}

// Lag reads the backlog.
func (s *Syncer) Lag(ctx context.Context) (Lag, error) {
	var (
		l      Lag
		oldest sql.NullString
	)
	if err := s.db.R.QueryRowContext(ctx, `SELECT count(*), min(created_at) FROM search_outbox WHERE done_at IS NULL`).Scan(&l.Pending, &oldest); err != nil {
		return l, fmt.Errorf("search: outbox lag: %w", err)
	}
	if oldest.Valid {
		if t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(oldest.String)); err == nil {
			l.OldestAge = max(0, time.Since(t))
			l.OldestAgeSeconds = l.OldestAge.Seconds()
		}
	}
	s.mu.Lock()
	if s.lastErr != nil {
		l.LastError = s.lastErr.Error()
	}
	l.Synced, l.Failed = s.done, s.failed
	s.mu.Unlock()
	return l, nil
}

// Enqueue records that a document changed, inside the caller's transaction, for
// writes the schema's triggers do not cover (the plugins' "search" capability).
// The Syncer then sends the document's current row, or deletes it if the row is
// gone; op is informational ("upsert" or "delete").
func Enqueue(ctx context.Context, tx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}, index Index, docID int64, op string) error {
	if index != Artisans && index != Jobs {
		return fmt.Errorf("search: enqueue: unknown index %q", index)
	}
	if op != "upsert" && op != "delete" {
		return fmt.Errorf("search: enqueue: op %q: want upsert or delete", op)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO search_outbox(index_name, doc_id, op) VALUES (?, ?, ?)`, string(index), docID, op)
	if err != nil {
		return fmt.Errorf("search: enqueue %s %d: %w", index, docID, err)
	}
	return nil
}
