package mem_test

import (
	"context"
	"testing"

	"github.com/sharestore/sharestore/backends/cloud"
	"github.com/sharestore/sharestore/backends/mem"
	"github.com/sharestore/sharestore/conformance"
)

// harness gives every subtest a fresh mem backend with opts.
func harness(opts mem.Options) conformance.CloudHarness {
	return conformance.CloudHarness{New: func(context.Context, conformance.TB) (*cloud.Backend, error) { return mem.New(opts) }}
}

// The defaults: whole 512 KiB chunks and 1000-object pages.
func TestConformance(t *testing.T) {
	conformance.RunBackend(t, harness(mem.Options{}))
}

// Tiny chunks and pages, under a key prefix: every share spans many
// chunks and every listing many pages.
func TestConformanceSmallChunksAndPages(t *testing.T) {
	conformance.RunBackend(t, harness(mem.Options{ChunkSize: 1000, PageSize: 7, KeyPrefix: "srv1"}))
}

// Version 2 containers.
func TestConformanceContainerV2(t *testing.T) {
	conformance.RunBackend(t, harness(mem.Options{ContainerVersion: 2}))
}

// Read-only: every mutation is refused by the shared layer, and the
// suite checks that nothing is written.
func TestConformanceReadOnly(t *testing.T) {
	conformance.RunBackend(t, harness(mem.Options{ReadOnly: true}))
}

// The crawlers reach the golden results under either listing plan,
// with pages small enough that range listings cross prefixes mid-page.
func TestCrawlers(t *testing.T) {
	for _, plan := range []cloud.ListPlan{cloud.PlanPrefix, cloud.PlanRange} {
		t.Run(string(plan), func(t *testing.T) {
			conformance.RunCrawlers(t, harness(mem.Options{ChunkSize: 1000, PageSize: 7, ListPlan: plan}))
		})
	}
}
