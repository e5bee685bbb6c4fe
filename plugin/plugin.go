// Package plugin runs a sharestore.Backend in a separate process, as a
// hashicorp/go-plugin gRPC plugin speaking sharestore.backend.v1, so that
// a host cannot tell the plugin from an in-process backend.
//
// A plugin binary's main is one call: plugin.Serve(factory). A host calls
// plugin.Open(ctx, path, cfg, opts), with the plugin's Config and the
// host-side HostOptions, and gets a sharestore.Backend.
//
// Lifecycle: the host starts the plugin with AutoMTLS and (optionally) a
// SHA-256 pin, then sends the configuration through the Configure RPC. If
// the plugin dies, the next call notices, restarts it with exponential
// backoff and re-Configures it; a call that failed because of the crash
// returns sharestore.ErrUnavailable. The plugin watches its parent and
// exits when the host is gone (a ppid poll, plus PR_SET_PDEATHSIG on
// Linux), so a SIGKILLed host leaves no plugin behind.
//
// Errors cross the boundary as a gRPC status carrying an ErrorDetail with
// the sharestore.Code, so errors.Is(err, sharestore.ErrNotFound) and
// errors.Is(err, context.Canceled) hold on the host as they do in process.
//
// Guards (sharestore.Guard) cannot cross a process boundary: the host
// runs DeleteShare's guard under a host-side per-SI lock, on the share's
// current listing information that the StatShare RPC fetches, and sends
// what the guard saw with the delete RPC. The plugin deletes only if,
// under its own lock of the storage index, the share is still that one
// (same size, modification time and version), and refuses with
// ErrConflict otherwise; with a backend that has
// Capabilities.ConditionalDelete the store itself checks the version
// once more. A share rewritten by anyone between the guard and the
// delete therefore survives.
package plugin

import (
	"context"
	"errors"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/internal/backendurl/redact"
	pb "github.com/sharestore/sharestore/plugin/proto/backendv1"
)

// HostGOMAXPROCS is the GOMAXPROCS a host should run with while the bulk
// of its work goes through a plugin, given the one it started with: one
// fewer, and at least 1. Otherwise the host's Go scheduler keeps waking
// threads for the processor the offloaded work left idle, and on a small
// machine they preempt the host's busy thread and compete with the
// plugin's: on two cores a crawl through the disk plugin was preempted
// 15-20 times as often as in process and took 1.25 times as long, and
// 1.03-1.07 times with one processor fewer (BENCHMARKS.md, "plugin").
// The plugin package never changes GOMAXPROCS itself; a host's main
// decides.
func HostGOMAXPROCS(procs int) int { return max(1, procs-1) }

// ProtocolVersion is the go-plugin protocol version of sharestore.backend.v1.
const ProtocolVersion = 1

// PluginName is the name of the single plugin a binary serves.
const PluginName = "backend"

// Handshake is the go-plugin handshake shared by hosts and plugins. The
// magic cookie only tells a user who runs a plugin binary by hand that it
// is not meant to be run that way; it is not a security measure.
var Handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "SHARESTORE_BACKEND_PLUGIN",
	MagicCookieValue: "c1f5d0b8-backend-v1",
}

const (
	// maxMsg is the gRPC message limit set on both sides. Streams keep
	// every message under about 1.1 MiB, so this is a safety margin, not
	// a working size.
	maxMsg = 8 << 20
	// chunkSize is the byte chunk of streamed reads and writes.
	chunkSize = 1 << 20
	// pageSize is the number of entries per listing page.
	pageSize = 1000
)

// grpcPlugin is the go-plugin glue for both sides.
type grpcPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	factory Factory        // server side only
	srv     *server        // server side only
	harness *harnessServer // server side only; nil without WithHarness
}

func (p *grpcPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterBackendServer(s, p.srv)
	if p.harness != nil {
		pb.RegisterHarnessServer(s, p.harness)
	}
	return nil
}

// rpcs are the host's clients of a plugin's services.
type rpcs struct {
	backend pb.BackendClient
	harness pb.HarnessClient
}

func (p *grpcPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, cc *grpc.ClientConn) (any, error) {
	return rpcs{pb.NewBackendClient(cc), pb.NewHarnessClient(cc)}, nil
}

// toStatus converts a backend error into a gRPC status error carrying an
// ErrorDetail with the error's Code and message, credentials removed:
// the values of the secrets Configure received (knownSecrets), and
// whatever redact.String recognises. A factory's error may quote the URL
// or a credential it was given.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	code := sharestore.CodeOf(err)
	msg := redact.String(knownSecrets.scrub(err.Error()))
	st := status.New(grpcCode(code), msg)
	if d, derr := st.WithDetails(&pb.ErrorDetail{Code: code.String(), Message: msg}); derr == nil {
		st = d
	}
	return st.Err()
}

func grpcCode(c sharestore.Code) codes.Code {
	switch c {
	case sharestore.ErrNotFound:
		return codes.NotFound
	case sharestore.ErrCorrupt:
		return codes.DataLoss
	case sharestore.ErrInvalidArgument:
		return codes.InvalidArgument
	case sharestore.ErrOutOfRange:
		return codes.OutOfRange
	case sharestore.ErrConflict:
		return codes.AlreadyExists
	case sharestore.ErrPermissionDenied:
		return codes.PermissionDenied
	case sharestore.ErrThrottled:
		return codes.ResourceExhausted
	case sharestore.ErrUnavailable:
		return codes.Unavailable
	case sharestore.ErrUnimplemented:
		return codes.Unimplemented
	case sharestore.ErrCanceled:
		return codes.Canceled
	case sharestore.ErrDeadlineExceeded:
		return codes.DeadlineExceeded
	}
	return codes.Internal
}

// fromStatus converts an error from a gRPC call back into a sharestore
// error. A status with an ErrorDetail keeps its Code and message; a bare
// status (the transport's own, or the context's) is classified from its
// gRPC code. ctx is the call's context: if it ended, the error is its
// class, whatever the transport said. The plugin's message is redacted
// (redact.String) whatever the plugin did.
func fromStatus(ctx context.Context, err error, what string) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return sharestore.Wrap(sharestore.ErrCanceled, ctx.Err(), what)
	}
	st, ok := status.FromError(err)
	if !ok {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return sharestore.Wrap(sharestore.ErrCanceled, err, what)
		}
		return sharestore.Wrap(sharestore.ErrUnavailable, err, what)
	}
	for _, d := range st.Details() {
		if ed, ok := d.(*pb.ErrorDetail); ok {
			return &sharestore.Error{Code: sharestore.ParseCode(ed.Code), Msg: redact.String(ed.Message)}
		}
	}
	var c sharestore.Code
	switch st.Code() {
	case codes.Canceled:
		c = sharestore.ErrCanceled
	case codes.DeadlineExceeded:
		c = sharestore.ErrDeadlineExceeded
	case codes.Unavailable:
		c = sharestore.ErrUnavailable
	case codes.NotFound:
		c = sharestore.ErrNotFound
	case codes.InvalidArgument:
		c = sharestore.ErrInvalidArgument
	case codes.Unimplemented:
		c = sharestore.ErrUnimplemented
	case codes.ResourceExhausted:
		c = sharestore.ErrThrottled
	default:
		c = sharestore.ErrInternal
	}
	return sharestore.Errorf(c, "%s: plugin: %s", what, redact.String(st.Message()))
}

func capsFromPB(c *pb.Capabilities) sharestore.Capabilities {
	if c == nil {
		return sharestore.Capabilities{}
	}
	return sharestore.Capabilities{
		Name: c.Name, Version: c.Version, MaxObjectSize: c.MaxObjectSize, ChunkSize: c.ChunkSize,
		ConditionalWrites: c.ConditionalWrites, StrongListConsistency: c.StrongListConsistency, ReadOnly: c.ReadOnly,
		ConditionalDelete: c.ConditionalDelete,
	}
}

func capsToPB(c sharestore.Capabilities) *pb.Capabilities {
	return &pb.Capabilities{
		Name: c.Name, Version: c.Version, MaxObjectSize: c.MaxObjectSize, ChunkSize: c.ChunkSize,
		ConditionalWrites: c.ConditionalWrites, StrongListConsistency: c.StrongListConsistency, ReadOnly: c.ReadOnly,
		ConditionalDelete: c.ConditionalDelete,
	}
}
