package driver

import (
	"context"
	"errors"

	"github.com/sharestore/sharestore"
)

// ClassifyAll builds what Shares returns from a storage index's listing,
// infos, sorted by shnum: classify reads one share's header. A share
// classify finds corrupt (ErrCorrupt) goes to corrupt, one that has
// vanished since it was listed (ErrNotFound) is left out, and any other
// error, or ctx ending, stops the walk and is returned.
func ClassifyAll(ctx context.Context, infos []sharestore.ShareInfo, classify func(sharestore.ShareInfo) (sharestore.Share, error)) (shares []sharestore.Share, corrupt []int, err error) {
	for _, info := range infos {
		if err := sharestore.CtxErr(ctx); err != nil {
			return nil, nil, err
		}
		sh, err := classify(info)
		switch {
		case errors.Is(err, sharestore.ErrCorrupt):
			corrupt = append(corrupt, info.Shnum)
		case errors.Is(err, sharestore.ErrNotFound):
			// deleted since listed
		case err != nil:
			return nil, nil, err
		default:
			shares = append(shares, sh)
		}
	}
	return shares, corrupt, nil
}
