package plugin

import (
	"context"

	"github.com/sharestore/sharestore"
	pb "github.com/sharestore/sharestore/plugin/proto/backendv1"
)

// The host side of sharestore.MetaStore: every plugin host Backend offers
// it, and a plugin whose backend keeps no records answers
// ErrUnimplemented.

var _ sharestore.MetaStore = (*client)(nil)

// ReadMeta implements sharestore.MetaStore through the plugin.
func (b *client) ReadMeta(ctx context.Context, name string) ([]byte, error) {
	inst, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := inst.rpc.ReadMeta(ctx, &pb.ReadMetaRequest{Name: name})
	if err != nil {
		return nil, b.rpcErr(ctx, inst, err, "read metadata record "+name)
	}
	return resp.Data, nil
}

// WriteMeta implements sharestore.MetaStore through the plugin.
func (b *client) WriteMeta(ctx context.Context, name string, data []byte) error {
	inst, err := b.get(ctx)
	if err != nil {
		return err
	}
	if _, err := inst.rpc.WriteMeta(ctx, &pb.WriteMetaRequest{Name: name, Data: data}); err != nil {
		return b.rpcErr(ctx, inst, err, "write metadata record "+name)
	}
	return nil
}

// metaStore returns the served backend's MetaStore, or ErrUnimplemented.
func (s *server) metaStore() (sharestore.MetaStore, error) {
	b, err := s.backend()
	if err != nil {
		return nil, err
	}
	m, ok := sharestore.MetaStoreOf(b)
	if !ok {
		return nil, sharestore.Errorf(sharestore.ErrUnimplemented, "backend %s keeps no metadata records", b.Capabilities().Name)
	}
	return m, nil
}

func (s *server) ReadMeta(ctx context.Context, req *pb.ReadMetaRequest) (*pb.ReadMetaResponse, error) {
	m, err := s.metaStore()
	if err != nil {
		return nil, toStatus(err)
	}
	data, err := m.ReadMeta(ctx, req.Name)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.ReadMetaResponse{Data: data}, nil
}

func (s *server) WriteMeta(ctx context.Context, req *pb.WriteMetaRequest) (*pb.WriteMetaResponse, error) {
	m, err := s.metaStore()
	if err != nil {
		return nil, toStatus(err)
	}
	if err := m.WriteMeta(ctx, req.Name, req.Data); err != nil {
		return nil, toStatus(err)
	}
	return &pb.WriteMetaResponse{}, nil
}
