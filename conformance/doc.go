// Package conformance holds the contract tests that every
// sharestore.Backend must pass: disk, the object stores, plugins and
// third-party backends alike.
//
// RunBackend runs the backend contract: listings (order, completeness,
// sizes, stray objects), classification of valid and corrupt containers,
// clamped reads, PutRaw and OpenRaw, immutable uploads, Tahoe's mutable
// test-and-set operation in its exact order of effects, deletion,
// per-storage-index atomicity, the storage index's lock a DeleteShare
// guard runs under (it holds off test-and-set, PutRaw and the Close of an
// upload on that storage index, is released when the guard returns, and
// leaves other storage indexes free) and cancellation. Subtest names
// carry the numbers of Tahoe-LAFS's storage-server scenarios where one
// applies; docs/scenarios.md in the repository says what each number
// checks.
// Every subtest gets a fresh backend from the Harness and closes it.
//
// RunCrawlers plants a fixture of shares and lease database rows through
// the Harness, runs the accounting and bucket-counting crawlers through
// eight scenarios (expiration off and on, a lost database, failed and
// raced deletes, a dry run, a short history) and compares the results
// with golden files shared by every backend; docs/scenarios.md gives the
// fixture and the numbers each scenario must reach.
//
// The container fixtures the tests plant are built byte by byte in the
// fixture subpackage, independently of the share package.
//
// # Running the suite against your backend
//
// A backend author implements Harness in a _test.go file and calls
// RunBackend from a test function:
//
//	package mybackend_test
//
//	import (
//		"context"
//		"os"
//		"path/filepath"
//		"testing"
//
//		"github.com/sharestore/sharestore"
//		"github.com/sharestore/sharestore/conformance"
//		"example.com/mybackend"
//	)
//
//	type harness struct{}
//
//	func (harness) NewBackend(ctx context.Context, t conformance.TB) (sharestore.Backend, error) {
//		// Fresh and empty for every subtest; mutable containers must
//		// record the all-zero node ID.
//		return mybackend.Open(t.TempDir(), mybackend.Options{})
//	}
//
//	func (harness) PlantObject(ctx context.Context, t conformance.TB, b sharestore.Backend, key string, data []byte) error {
//		// Store data under key ("shares/aa/<si>/not-a-share", "stray.txt", …)
//		// without going through b. Return sharestore.ErrUnimplemented if
//		// the backend has no raw namespace; those tests are then skipped.
//		root := b.(*mybackend.Backend).Root()
//		path := filepath.Join(root, filepath.FromSlash(key))
//		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
//			return err
//		}
//		return os.WriteFile(path, data, 0o644)
//	}
//
//	func TestConformance(t *testing.T) {
//		conformance.RunBackend(t, harness{})
//	}
//
// Then run it like any test, selecting groups or subtests with -run:
//
//	go test -race -run 'TestConformance/Mutable/' ./...
//
// Tests that need something the backend does not declare in its
// Capabilities are skipped, never failed: a ReadOnly backend skips every
// test that writes and is checked to refuse mutations with
// ErrPermissionDenied instead, and a backend that declares eventual list
// consistency gets bounded retries on listing assertions. Passing -short
// walks a sample of the 1024 prefixes instead of all of them.
package conformance
