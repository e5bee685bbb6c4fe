# The README's test command is `make test`; .ci/run runs exactly that.
GO ?= go

.PHONY: test build vet cross fuzz bench generate emulators chromium postgres
# The cloud backends are tested against real emulators on loopback (MinIO,
# fake-gcs-server, Azurite), installed at pinned versions into .tools/ by
# scripts/install-emulators.sh. SHARESTORE_REQUIRE_EMULATORS=1 turns a
# missing emulator into a test failure instead of a skip.
#
# internal/cli/conformancetests runs sharestore conformance over every
# backend, in process and through its plugin; each cell's JUnit file and
# summary go into conformance-results/, and the summaries are printed at
# the end, whether the tests passed or not. The example backend,
# examples/sqlitestore, is a Go module of its own, which ./... does not
# reach: it is vetted and tested on its own.
#
# The status page is tested in Debian's Chromium, headless, installed by
# scripts/install-chromium.sh; the test's screenshot goes into
# test-artifacts/.
#
# Tests that need PostgreSQL run against a throwaway cluster of Debian's
# PostgreSQL server, installed by scripts/install-postgresql.sh and
# started by internal/emulators.
CONFORMANCE_DIR ?= $(CURDIR)/conformance-results
ARTIFACTS_DIR ?= $(CURDIR)/test-artifacts
test: vet emulators chromium postgres
	rm -rf $(CONFORMANCE_DIR) $(ARTIFACTS_DIR)
	SHARESTORE_REQUIRE_EMULATORS=1 SHARESTORE_CONFORMANCE_DIR=$(CONFORMANCE_DIR) SHARESTORE_ARTIFACTS_DIR=$(ARTIFACTS_DIR) $(GO) test -race -count=1 -timeout 30m ./...; \
		rc=$$?; cat $(CONFORMANCE_DIR)/*.txt 2>/dev/null; exit $$rc
	cd examples/sqlitestore && $(GO) test -race -count=1 -timeout 30m ./...

emulators:
	./scripts/install-emulators.sh

chromium:
	./scripts/install-chromium.sh

postgres:
	./scripts/install-postgresql.sh

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	cd examples/sqlitestore && $(GO) vet ./...

build:
	$(GO) build -buildvcs=auto -o bin/ ./cmd/...

# Vet the code and tests as built for the other systems operators run.
# Not part of test: with a cold build cache it compiles every dependency
# twice more (about 5 minutes on 2 cores).
CROSS ?= darwin/arm64 windows/amd64 freebsd/amd64
cross:
	@for p in $(CROSS); do echo "== $$p"; GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) vet ./... || exit 1; done

# Fuzz every parser for FUZZTIME each (default 60s).
FUZZTIME ?= 60s
fuzz:
	@for f in $$($(GO) test -list 'Fuzz.*' ./share | grep ^Fuzz); do \
		echo "== $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) ./share || exit 1; done

# Regenerate plugin/proto/backendv1 from backend.proto with the pinned
# generators named in plugin/proto/generate.sh.
generate:
	$(GO) generate ./plugin/proto/
