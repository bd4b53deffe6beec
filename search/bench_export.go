package search

import (
	"context"
	"encoding/json"
	"fmt"
)

// SearchArtisansDirect sends q to Meilisearch exactly as SearchArtisans would and
// returns the raw response size, skipping decoding and the host: the benchmark's
// baseline for the host's overhead.
func (m *Meili) SearchArtisansDirect(ctx context.Context, q ArtisanQuery) (int, error) {
	q.normalize()
	raw, err := m.client.Index(m.uid(Artisans)).SearchRaw(ctx, q.Q, m.artisanRequest(q))
	if err != nil {
		return 0, meiliErr("search artisans", err)
	}
	return len(*raw), nil
}

// ArtisanRequestJSON is the Meilisearch search body SearchArtisans sends for q.
func (m *Meili) ArtisanRequestJSON(q ArtisanQuery) (string, error) {
	q.normalize()
	req := m.artisanRequest(q)
	req.Query = q.Q
	b, err := json.Marshal(req)
	if err != nil {
		return "", fmt.Errorf("search: encode request: %w", err)
	}
	return string(b), nil
}
