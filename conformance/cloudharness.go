package conformance

import (
	"context"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
)

// CloudHarness is the Harness of a backend built on the object-store
// interface (cloud.New over a cloud.ObjectStore): the whole harness an
// adapter's author needs to run RunBackend and RunCrawlers.
type CloudHarness struct {
	// New returns a fresh, empty backend for one subtest, as
	// Harness.NewBackend does.
	New func(ctx context.Context, t TB) (*cloud.Backend, error)
}

// NewBackend implements Harness with New.
func (h CloudHarness) NewBackend(ctx context.Context, t TB) (sharestore.Backend, error) {
	return h.New(ctx, t)
}

// PlantObject implements Harness: one Put of key, under b's key prefix,
// straight to b's ObjectStore. b must be the *cloud.Backend that New
// returned.
func (CloudHarness) PlantObject(ctx context.Context, t TB, b sharestore.Backend, key string, data []byte) error {
	cb, ok := b.(*cloud.Backend)
	if !ok {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "conformance: CloudHarness given a %T, not a *cloud.Backend", b)
	}
	return cb.Store().Put(ctx, cb.KeyPrefix()+key, data)
}
