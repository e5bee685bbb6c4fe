package cli

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/sharestore/sharestore"
)

// defaultTransfers is copy's --transfers default: as many shares in
// flight as rclone's --transfers default.
const defaultTransfers = 8

// copyAll copies the shares of prefixes, in order, with at most transfers
// shares in flight. It lists one prefix at a time, source and
// destination, and hands each listed share to a transfer; listing goes
// on to the next prefix while the transfers of earlier ones run, so the
// transfers of several prefixes overlap. A transfer streams its share, so
// at most transfers shares' data is held at once.
//
// The first hard error (a failed transfer, or a failed listing) starts
// no new transfer; copyAll waits for those in flight and returns it. A
// transfer's error names its share. When ctx ends, copyAll stops the
// same way and returns an error: it never returns nil without every
// listed share having finished.
func copyAll(ctx context.Context, src, dst sharestore.Backend, prefixes []sharestore.Prefix, transfers int, pr *copyProgress, stderr io.Writer) error {
	var g errgroup.Group
	g.SetLimit(transfers)
	var failed atomic.Bool
	for i, p := range prefixes {
		if failed.Load() {
			break
		}
		if err := ctx.Err(); err != nil {
			failed.Store(true)
			g.Wait()
			return err
		}
		infos, have, err := listForCopy(ctx, src, dst, p)
		if err != nil {
			failed.Store(true)
			if werr := g.Wait(); werr != nil {
				return werr
			}
			return err
		}
		pr.listed(i, len(infos))
		for _, info := range infos {
			size, present := have[info.ID()]
			// Go blocks while transfers shares are in flight; a share
			// whose turn comes after a failure is not started.
			g.Go(func() error {
				if failed.Load() {
					return nil
				}
				if err := ctx.Err(); err != nil {
					failed.Store(true)
					return err
				}
				out, n, err := copyShare(ctx, src, dst, info, present && size == info.Size, stderr)
				if err != nil {
					failed.Store(true)
					return err
				}
				pr.finished(i, info.ID(), out, n)
				return nil
			})
		}
	}
	return g.Wait()
}

// listForCopy lists prefix p at the source, and, when it holds shares,
// at the destination, whose sizes it returns by share.
func listForCopy(ctx context.Context, src, dst sharestore.Backend, p sharestore.Prefix) ([]sharestore.ShareInfo, map[sharestore.ShareID]int64, error) {
	infos, err := listAll(ctx, src, p)
	if err != nil {
		return nil, nil, fmt.Errorf("copy: list prefix %s at the source: %w", p, err)
	}
	if len(infos) == 0 {
		return nil, nil, nil
	}
	existing, err := listAll(ctx, dst, p)
	if err != nil {
		return nil, nil, fmt.Errorf("copy: list prefix %s at the destination: %w", p, err)
	}
	have := make(map[sharestore.ShareID]int64, len(existing))
	for _, info := range existing {
		have[info.ID()] = info.Size
	}
	return infos, have, nil
}
