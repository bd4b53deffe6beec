//go:build libsqlclient

package store

import (
	"database/sql"
	"errors"
	"fmt"

	_ "github.com/tursodatabase/libsql-client-go/libsql"
)

// Driver names the linked libSQL driver.
const Driver = "libsql-client-go"

var errNoCgo = errors.New("store: this build (tag libsqlclient) reaches remote libSQL servers only; set DATABASE_URL to libsql://, http:// or https://")

func openLocal(string) (*DB, error) { return nil, errNoCgo }

func openReplica(string, string, string) (*DB, error) { return nil, errNoCgo }

func openRemote(u string) (*DB, error) {
	db, err := sql.Open("libsql", u)
	if err != nil {
		return nil, fmt.Errorf("store: open remote %s: %w", redact(u), err)
	}
	db.SetMaxIdleConns(16)
	return &DB{R: db, W: db, Mode: ModeRemote}, nil
}
