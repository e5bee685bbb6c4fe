package mem

import (
	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
)

// Name is the backend kind a mem backend reports in Capabilities.
const Name = "mem"

// Options configure New. The zero value is a backend with the cloud
// layer's defaults: 512 KiB chunks, version 1 containers, no key prefix
// and DefaultPageSize listings.
type Options struct {
	// Store is the store to keep shares in; nil means a new, empty one.
	// Two backends over one Store see each other's shares, like two
	// processes over one bucket.
	Store *Store
	// PageSize, when positive, sets the Store's listing page size (see
	// Store.SetPageSize).
	PageSize int
	// KeyPrefix is put in front of every key (cloud.Options.KeyPrefix).
	KeyPrefix string
	// ChunkSize is the chunk size of new shares; zero means
	// cloud.DefaultChunkSize.
	ChunkSize int64
	// NodeID is recorded in new mutable containers.
	NodeID sharestore.NodeID
	// ContainerVersion is the version of new containers, 1 or 2 (0
	// means 1).
	ContainerVersion int
	// ReadOnly makes every mutation fail with ErrPermissionDenied
	// (cloud.Options.ReadOnly).
	ReadOnly bool
	// ListPlan is how scans list the store (cloud.Options.ListPlan).
	ListPlan cloud.ListPlan
}

// New returns a backend that keeps its shares in memory, in opts.Store or
// in a new Store: the cloud layer over a Store, with Capabilities().Name
// "mem". The store answers at once and never fails on its own, so the
// layer's retry policy only ever sees cancellations. Backend.Store returns
// the *Store, for tests that plant or inspect objects. An invalid option
// is ErrInvalidArgument.
func New(opts Options) (*cloud.Backend, error) {
	st := opts.Store
	if st == nil {
		st = NewStore()
	}
	if opts.PageSize > 0 {
		st.SetPageSize(opts.PageSize)
	}
	return cloud.New(st, cloud.Options{
		Name:             Name,
		KeyPrefix:        opts.KeyPrefix,
		ChunkSize:        opts.ChunkSize,
		NodeID:           opts.NodeID,
		ContainerVersion: opts.ContainerVersion,
		ReadOnly:         opts.ReadOnly,
		ListPlan:         opts.ListPlan,
	})
}
