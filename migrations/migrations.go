// Package migrations holds the numbered schema files (NNNN_description.sql).
// They are embedded into the binary and applied in order by store.Migrate,
// each in its own transaction; an applied file is never edited.
package migrations

import "embed"

//go:embed *.sql
var FS embed.FS
