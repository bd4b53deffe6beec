package search

import "testing"

func TestEngineFromEnv(t *testing.T) {
	db := mustDB(t)
	t.Setenv("MEILI_URL", "")
	e, err := EngineFromEnv(db, nil)
	if _, ok := e.(*Embedded); !ok || err != nil || e.Name() != "embedded" {
		t.Errorf("without MEILI_URL: %T %v", e, err)
	}
	t.Setenv("MEILI_URL", "http://127.0.0.1:1")
	t.Setenv("MEILI_MASTER_KEY", "k")
	t.Setenv("MEILI_INDEX_PREFIX", "staging_")
	e, err = EngineFromEnv(db, nil)
	m, ok := e.(*Meili)
	if !ok || err != nil || m.uid(Jobs) != "staging_jobs" || e.Name() != "meilisearch" {
		t.Errorf("with MEILI_URL: %T %v", e, err)
	}
}
