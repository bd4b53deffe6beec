package search

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/mysharpjob/sharpjob/store"
)

// EngineFromEnv picks the engine: Meilisearch when MEILI_URL is set (with
// MEILI_MASTER_KEY and the optional MEILI_INDEX_PREFIX), else the embedded engine
// on db. Call Prepare before serving.
func EngineFromEnv(db *store.DB, logger *slog.Logger) (Engine, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if u := os.Getenv("MEILI_URL"); u != "" {
		logger.Info("search engine: meilisearch", "url", u, "index_prefix", os.Getenv("MEILI_INDEX_PREFIX"))
		return NewMeili(MeiliConfig{URL: u, Key: os.Getenv("MEILI_MASTER_KEY"), Prefix: os.Getenv("MEILI_INDEX_PREFIX")}), nil
	}
	if db == nil {
		return nil, fmt.Errorf("search: no MEILI_URL and no database for the embedded engine")
	}
	logger.Info("search engine: embedded (libSQL FTS5); set MEILI_URL for Meilisearch")
	return NewEmbedded(db), nil
}

// Prepare runs engine.Setup and rebuilds (into fresh indexes, then swapped in) any
// index whose settings changed, so a settings change never takes search down.
func Prepare(ctx context.Context, db *store.DB, engine Engine, logger *slog.Logger) error {
	stale, err := engine.Setup(ctx)
	if err != nil {
		return err
	}
	if len(stale) == 0 {
		return nil
	}
	if logger != nil {
		logger.Info("search settings changed; rebuilding", "indexes", stale)
	}
	return reindex(ctx, db, engine, stale, nil)
}

// Reindex rebuilds both indexes from the database into fresh indexes and swaps
// each in atomically; progress (may be nil) sees documents done out of the total.
//
// Nothing written meanwhile is lost: Reindex notes the outbox high-water mark
// before reading, and after the swaps queues again every document an outbox row
// above the mark names (writes that reached the old index while the new one was
// filling); the Syncer then applies their current rows to the new index. The
// Syncer keeps running throughout (in the server; a `sharpjob reindex` run
// without a server leaves those rows for the next start).
func Reindex(ctx context.Context, db *store.DB, engine Engine, progress func(done, total int)) error {
	return reindex(ctx, db, engine, []Index{Artisans, Jobs}, progress)
}

// ReindexBatch is how many documents Reindex reads and sends at a time.
var ReindexBatch = 5000

func reindex(ctx context.Context, db *store.DB, engine Engine, indexes []Index, progress func(done, total int)) error {
	if progress == nil {
		progress = func(int, int) {}
	}
	var mark int64
	if err := db.R.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM search_outbox`).Scan(&mark); err != nil {
		return fmt.Errorf("search: reindex: outbox mark: %w", err)
	}
	total := 0
	for _, index := range indexes {
		table := "artisan_profiles"
		if index == Jobs {
			table = "jobs"
		}
		var n int
		if err := db.R.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
			return fmt.Errorf("search: reindex: count %s: %w", table, err)
		}
		total += n
	}
	done := 0
	progress(0, total)
	for _, index := range indexes {
		err := engine.Rebuild(ctx, index, func(put func(Batch) error) error {
			return scanAll(ctx, db.R, index, ReindexBatch, func(b Batch) error {
				if err := put(b); err != nil {
					return err
				}
				done += b.Len()
				progress(min(done, max(total, done)), max(total, done))
				return nil
			})
		})
		if err != nil {
			return fmt.Errorf("search: reindex %s: %w", index, err)
		}
	}
	// Replay everything written since the mark into the new indexes: re-queue
	// those documents so the Syncer sends their current rows. Not pushed from here:
	// a second writer to the engine could land an older state after the Syncer's
	// newer one; with one writer, the last push is always the newest row.
	names := make([]any, 0, len(indexes))
	for _, index := range indexes {
		names = append(names, string(index))
	}
	if _, err := db.W.ExecContext(ctx, `INSERT INTO search_outbox(index_name, doc_id, op)
		SELECT index_name, doc_id, 'upsert' FROM search_outbox
		WHERE id > ? AND index_name IN (`+placeholders(len(names))+`)
		GROUP BY index_name, doc_id ORDER BY min(id)`, append([]any{mark}, names...)...); err != nil {
		return fmt.Errorf("search: reindex: replay: %w", err)
	}
	if progress != nil {
		progress(max(done, total), max(done, total))
	}
	return nil
}
