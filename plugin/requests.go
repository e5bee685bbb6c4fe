package plugin

import (
	"context"

	"github.com/sharestore/sharestore"
	pb "github.com/sharestore/sharestore/plugin/proto/backendv1"
)

// Request counts cross the boundary in the Info response: the plugin
// reports its backend's counts since it was configured, and the host adds
// the last counts of every earlier plugin process, so that a restart
// never makes the host's counts go down.

func requestsToPB(r sharestore.StoreRequests) *pb.StoreRequests {
	out := &pb.StoreRequests{}
	for _, op := range sharestore.StoreOps {
		c, ok := r[op]
		if !ok {
			continue
		}
		out.Ops = append(out.Ops, &pb.OpCounts{Op: string(op), Ok: c.OK, NotFound: c.NotFound, Throttled: c.Throttled, Failed: c.Failed, Canceled: c.Canceled, Retries: c.Retries})
	}
	return out
}

// requestsFromPB converts a plugin's counts; an op the host does not
// know is dropped, since it could not be shown under its own name.
func requestsFromPB(r *pb.StoreRequests) sharestore.StoreRequests {
	out := sharestore.StoreRequests{}
	for _, c := range r.GetOps() {
		op := sharestore.StoreOp(c.Op)
		known := false
		for _, k := range sharestore.StoreOps {
			known = known || k == op
		}
		if !known {
			continue
		}
		out[op] = sharestore.OpCounts{OK: c.Ok, NotFound: c.NotFound, Throttled: c.Throttled, Failed: c.Failed, Canceled: c.Canceled, Retries: c.Retries}
	}
	return out
}

// storeRequests is the server's side: the counts of the configured
// backend, or nil when it keeps none.
func (s *server) storeRequests(ctx context.Context, b sharestore.Backend) (*pb.StoreRequests, error) {
	r, ok, err := sharestore.StoreRequestsOf(ctx, b)
	if err != nil || !ok {
		return nil, err
	}
	return requestsToPB(r), nil
}

// requestTally is the host's side: the counts of the plugin processes
// that have exited, and the last counts read from the running one.
type requestTally struct {
	gone    sharestore.StoreRequests // every earlier process, as last read
	last    sharestore.StoreRequests // the running process, as last read
	from    *instance                // the process last was read from
	counted bool                     // some process reported counts
}

// StoreRequests implements sharestore.RequestCounter with one Info call
// to the running plugin: the requests its backend reports, plus those
// every earlier process of this Backend reported last before it exited
// (requests an exited process made after its last report are not
// known). It returns ErrUnimplemented when the plugin's backend keeps no
// counts; sharestore.StoreRequestsOf then reports none.
func (b *Backend) StoreRequests(ctx context.Context) (sharestore.StoreRequests, error) {
	return b.c.storeRequests(ctx)
}

func (b *client) storeRequests(ctx context.Context) (sharestore.StoreRequests, error) {
	inst, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := inst.rpc.Info(ctx, &pb.InfoRequest{})
	if err != nil {
		return nil, b.rpcErr(ctx, inst, err, "info")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	t := &b.tally
	if t.from != inst {
		t.gone, t.last, t.from = t.gone.Add(t.last), nil, inst
	}
	if resp.Requests != nil {
		t.last, t.counted = requestsFromPB(resp.Requests), true
	}
	if !t.counted {
		return nil, sharestore.Errorf(sharestore.ErrUnimplemented, "plugin %s: its backend keeps no request counts", b.path)
	}
	return t.gone.Add(t.last), nil
}
