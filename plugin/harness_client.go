package plugin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/conformance"
	pb "github.com/sharestore/sharestore/plugin/proto/backendv1"
)

// Harness is a conformance.Harness served by a plugin binary's Harness
// service (see WithHarness): each NewBackend starts the plugin once
// more and has its harness make a fresh scratch backend there, and
// PlantObject plants beside it in that process. It is safe for
// concurrent use.
type Harness struct {
	path string
	cfg  Config
	opts HostOptions
}

// dropTimeout bounds the plugin's cleanup of a scratch backend.
const dropTimeout = 30 * time.Second

// OpenHarness checks that the plugin binary at path serves the Harness
// service and returns its Harness. A plugin without one gives an error
// matching sharestore.ErrUnimplemented that names the binary; a binary
// that cannot start fails as Open does. cfg is kept for the plugin's
// restarts' sake only: a scratch backend is made by the plugin's harness,
// not configured; opts are as for Open.
func OpenHarness(ctx context.Context, path string, cfg Config, opts HostOptions) (*Harness, error) {
	h := &Harness{path: path, cfg: cfg, opts: withDefaults(path, opts)}
	c := &client{path: path, cfg: cfg, opts: h.opts, scratch: &scratchClient{probe: true}}
	inst, _, err := c.start(ctx)
	if err != nil {
		return nil, err
	}
	inst.kill()
	return h, nil
}

// NewBackend starts the plugin and has its harness make a fresh scratch
// backend, served to the host like any plugin backend, except that it
// is never restarted: calls after the plugin died fail with
// ErrUnavailable. Close (or t's cleanup, if the test never closes it)
// drops the scratch backend, which runs the harness's cleanups in the
// plugin, and stops the plugin. A harness that skipped in the plugin
// skips t with its reason.
func (h *Harness) NewBackend(ctx context.Context, t conformance.TB) (sharestore.Backend, error) {
	sc := &scratchClient{name: t.Name()}
	b, err := open(ctx, &client{path: h.path, cfg: h.cfg, opts: h.opts, scratch: sc})
	var skip *skipError
	if errors.As(err, &skip) {
		t.Skip(skip.reason)
	}
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() {
		b.Close()
		if sc.dropErr != nil {
			t.Errorf("%v", sc.dropErr)
		}
	})
	return b, nil
}

// PlantObject has the plugin's harness plant data under key beside b,
// which must come from h's NewBackend. A harness without a raw
// namespace answers ErrUnimplemented, and the suite skips.
func (h *Harness) PlantObject(ctx context.Context, t conformance.TB, b sharestore.Backend, key string, data []byte) error {
	pbk, ok := b.(*Backend)
	if !ok || pbk.c.scratch == nil {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "plugin harness: PlantObject given a %T, not a scratch backend of this harness", b)
	}
	inst, err := pbk.c.get(ctx)
	if err != nil {
		return err
	}
	if _, err := inst.harness.Plant(ctx, &pb.PlantRequest{Key: key, Data: data}); err != nil {
		return fromStatus(ctx, err, "plant "+key)
	}
	return nil
}

// Close releases h. Every scratch backend is stopped by its own Close.
func (h *Harness) Close() error { return nil }

// scratchClient is the part of a client that makes it the host side of
// one scratch backend.
type scratchClient struct {
	name    string
	probe   bool  // only check that the Harness service is there
	dropErr error // what went wrong when the scratch backend was dropped
}

// skipError reports that the plugin's harness skipped the test.
type skipError struct{ reason string }

func (e *skipError) Error() string { return "skipped: " + e.reason }

// start makes the scratch backend in inst (or, for a probe, checks that
// inst serves the Harness service).
func (sc *scratchClient) start(ctx context.Context, b *client, inst *instance) (sharestore.Capabilities, error) {
	var none sharestore.Capabilities
	if sc.probe {
		_, err := inst.harness.DropScratch(ctx, &pb.DropScratchRequest{})
		if status.Code(err) == codes.Unimplemented {
			return none, sharestore.Errorf(sharestore.ErrUnimplemented, "plugin %s serves no harness service (its main does not pass plugin.WithHarness to plugin.Serve)", b.path)
		}
		if err != nil {
			return none, fmt.Errorf("plugin %s: %w", b.path, fromStatus(ctx, err, "harness"))
		}
		return none, nil
	}
	resp, err := inst.harness.NewScratch(ctx, &pb.NewScratchRequest{Name: sc.name})
	if err != nil {
		e := fromStatus(ctx, err, "new scratch backend")
		return none, &sharestore.Error{Code: sharestore.CodeOf(e), Msg: fmt.Sprintf("plugin %s: harness: %v", b.path, e)}
	}
	if resp.Skip != "" {
		return none, &skipError{resp.Skip}
	}
	return capsFromPB(resp.Capabilities), nil
}

// drop has the plugin drop its scratch backend, and keeps what failed.
func (sc *scratchClient) drop(inst *instance) {
	ctx, cancel := context.WithTimeout(context.Background(), dropTimeout)
	defer cancel()
	resp, err := inst.harness.DropScratch(ctx, &pb.DropScratchRequest{})
	switch {
	case err != nil:
		sc.dropErr = fmt.Errorf("drop scratch backend: %w", fromStatus(ctx, err, "drop scratch backend"))
	case resp.Failed:
		sc.dropErr = fmt.Errorf("the plugin's harness cleanup failed: %s", strings.TrimSpace(resp.Output))
	}
}
