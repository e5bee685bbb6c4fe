package main

import (
	"context"
	"fmt"

	"github.com/sharestore/sharestore/backends/cloud"
	"github.com/sharestore/sharestore/examples/sqlitestore"
)

// bug is a test hook for the sharestore repository's own tests, which
// check that sharestore conformance catches a backend that breaks the
// contract. It is empty, and the plugin correct, unless the binary is
// built with -ldflags "-X main.bug=NAME", which plants the known bug
// NAME (see planted). A backend of your own has no such thing.
var bug string

// planted returns the Options.Wrap that plants the bug name, nil for
// none:
//
//	delete-prefix  deleting a key deletes every key that starts with it,
//	               so that deleting shnum 1 also deletes 10 to 19 and 100
//	               (the bug of Tahoe's cloud backend)
//	list-1000      a listing stops after its first page (1000 keys)
func planted(name string) (func(*sqlitestore.Store) cloud.ObjectStore, error) {
	switch name {
	case "":
		return nil, nil
	case "delete-prefix":
		return func(s *sqlitestore.Store) cloud.ObjectStore { return deletePrefix{s} }, nil
	case "list-1000":
		return func(s *sqlitestore.Store) cloud.ObjectStore { return firstPage{s} }, nil
	}
	return nil, fmt.Errorf("unknown planted bug %q (want delete-prefix or list-1000)", name)
}

// deletePrefix is the delete-prefix bug: Delete and DeleteIf remove
// every key that starts with the key as well.
type deletePrefix struct{ *sqlitestore.Store }

func (s deletePrefix) Delete(ctx context.Context, key string) error {
	if err := s.Store.Delete(ctx, key); err != nil {
		return err
	}
	return s.alsoUnder(ctx, key)
}

func (s deletePrefix) DeleteIf(ctx context.Context, key, version string) error {
	if err := s.Store.DeleteIf(ctx, key, version); err != nil {
		return err
	}
	return s.alsoUnder(ctx, key)
}

func (s deletePrefix) alsoUnder(ctx context.Context, key string) error {
	for {
		p, err := s.Store.List(ctx, key, "")
		if err != nil || len(p.Objects) == 0 {
			return err
		}
		for _, o := range p.Objects {
			if err := s.Store.Delete(ctx, o.Key); err != nil {
				return err
			}
		}
	}
}

// firstPage is the list-1000 bug: every listing ends with its first
// page.
type firstPage struct{ *sqlitestore.Store }

func (s firstPage) List(ctx context.Context, prefix, token string) (cloud.Page, error) {
	p, err := s.Store.List(ctx, prefix, token)
	p.Next = ""
	return p, err
}
