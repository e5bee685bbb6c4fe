package plugin

import (
	"context"
	"sync"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/conformance"
	"github.com/sharestore/sharestore/internal/conformance/runner"
	pb "github.com/sharestore/sharestore/plugin/proto/backendv1"
)

// ServeOption changes what Serve serves.
type ServeOption func(*serveConfig)

type serveConfig struct {
	harness conformance.Harness
}

// WithHarness makes Serve also serve h, the plugin's conformance
// harness, through the protocol's Harness service: a host that certifies
// the plugin (sharestore conformance --plugin PATH) then has h make each
// test's fresh backend, and plant raw objects beside it, inside the
// plugin's own process. h is the Harness the author runs the suite with
// under go test; its TB's TempDir directories and Cleanup functions end
// with the scratch backend, or when the plugin exits.
func WithHarness(h conformance.Harness) ServeOption {
	return func(c *serveConfig) { c.harness = h }
}

// harnessServer serves the Harness service: it makes srv's backend a
// scratch backend of h.
type harnessServer struct {
	pb.UnimplementedHarnessServer
	srv *server
	h   conformance.Harness

	mu    sync.Mutex
	scope *runner.Scope
}

func (hs *harnessServer) NewScratch(ctx context.Context, req *pb.NewScratchRequest) (*pb.NewScratchResponse, error) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.scope != nil {
		return nil, toStatus(sharestore.Errorf(sharestore.ErrConflict, "plugin already serves a scratch backend"))
	}
	s := runner.NewScope(context.Background(), req.Name, "")
	var b sharestore.Backend
	var err error
	s.Do(func(tb *runner.Scope) { b, err = hs.h.NewBackend(ctx, tb) })
	switch {
	case s.Skipped():
		s.Close()
		return &pb.NewScratchResponse{Skip: s.SkipReason()}, nil
	case s.Failed():
		s.Close()
		return nil, toStatus(sharestore.Errorf(sharestore.ErrInternal, "harness NewBackend failed: %s", s.Output()))
	case err != nil:
		s.Close()
		return nil, toStatus(err)
	case b == nil:
		s.Close()
		return nil, toStatus(sharestore.Errorf(sharestore.ErrInternal, "harness NewBackend returned a nil backend and no error"))
	}
	hs.scope = s
	hs.srv.mu.Lock()
	hs.srv.b = b
	hs.srv.mu.Unlock()
	return &pb.NewScratchResponse{Capabilities: capsToPB(b.Capabilities())}, nil
}

func (hs *harnessServer) Plant(ctx context.Context, req *pb.PlantRequest) (*pb.PlantResponse, error) {
	hs.mu.Lock()
	s := hs.scope
	hs.mu.Unlock()
	b, err := hs.srv.backend()
	if err != nil || s == nil {
		return nil, toStatus(sharestore.Errorf(sharestore.ErrInvalidArgument, "Plant before NewScratch"))
	}
	s.Do(func(tb *runner.Scope) { err = hs.h.PlantObject(ctx, tb, b, req.Key, req.Data) })
	if err == nil && s.Failed() {
		err = sharestore.Errorf(sharestore.ErrInternal, "harness PlantObject failed: %s", s.Output())
	}
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.PlantResponse{}, nil
}

func (hs *harnessServer) DropScratch(ctx context.Context, _ *pb.DropScratchRequest) (*pb.DropScratchResponse, error) {
	out, failed := hs.drop()
	return &pb.DropScratchResponse{Output: out, Failed: failed}, nil
}

// drop closes the scratch backend, then runs the harness's cleanups; it
// returns what they logged and whether one failed.
func (hs *harnessServer) drop() (string, bool) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.scope == nil {
		return "", false
	}
	hs.srv.close()
	s := hs.scope
	hs.scope = nil
	s.Close()
	return s.Output(), s.Failed()
}
