package sqlitestore

import (
	"errors"
	"io/fs"
	"os"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
)

// Name is the backend kind that the backends of OpenBackend report as
// Capabilities().Name.
const Name = "sqlite"

// Options configure OpenBackend.
type Options struct {
	// Create allows the file to be created when it does not exist;
	// without it a missing file is ErrNotFound.
	Create bool
	// ChunkSize is the chunk size of new shares, in bytes; zero means
	// cloud.DefaultChunkSize (512 KiB). Shares already stored keep
	// theirs.
	ChunkSize int64
	// ReadOnly makes every mutation fail with ErrPermissionDenied.
	ReadOnly bool
	// Wrap, when not nil, is applied to the store before cloud.New, so
	// that the backend works on Wrap(store): a hook for instrumentation
	// and for fault injection in tests. What it returns should keep the
	// store's Close and DeleteIf (embedding *Store does), or the file is
	// not closed with the backend and deletes are no longer conditional.
	Wrap func(*Store) cloud.ObjectStore
}

// OpenBackend opens the share store in the SQLite file at path: a
// complete sharestore.Backend, cloud.New over the Store. The backend's
// Close closes the file.
func OpenBackend(path string, o Options) (*cloud.Backend, error) {
	if !o.Create && path != "" {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, sharestore.Errorf(sharestore.ErrNotFound, "sqlitestore: %s does not exist (create it with sharestore mkbucket)", path)
		}
	}
	st, err := Open(path)
	if err != nil {
		return nil, err
	}
	var store cloud.ObjectStore = st
	if o.Wrap != nil {
		store = o.Wrap(st)
	}
	b, err := cloud.New(store, cloud.Options{Name: Name, ChunkSize: o.ChunkSize, ReadOnly: o.ReadOnly})
	if err != nil {
		st.Close()
		return nil, err
	}
	return b, nil
}
