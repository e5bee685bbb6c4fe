package cloud

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/sharestore/sharestore"
)

// listObjects pages through every object under rel (relative to the key
// prefix) and calls fn with each key relative to the key prefix. Each
// page is retried on its own. A page that does not advance (the same
// token again, or keys that do not strictly increase) is ErrInternal.
func (b *chunked) listObjects(ctx context.Context, rel string, fn func(rel string, o Object) error) error {
	_, err := b.listPages(ctx, rel, false, func(rel string, o Object, _ time.Time) error { return fn(rel, o) })
	return err
}

// fetchedPage is one page of a listing, with the time its request began.
type fetchedPage struct {
	pg  Page
	at  time.Time
	err error
}

// listPages is listObjects that also tells fn when the request for the
// object's page began, and returns when the request for the last page
// did. With ahead, the request for the next page goes out as soon as a
// page arrives, while fn handles that page's objects, so a long listing
// costs the store's time rather than the store's plus the caller's. It
// teaches the plan (see learned) the store's page size.
func (b *chunked) listPages(ctx context.Context, rel string, ahead bool, fn func(rel string, o Object, at time.Time) error) (time.Time, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	what := b.opts.Name + ": list " + b.kp + rel
	fetch := func(token string) fetchedPage {
		f := fetchedPage{at: b.recent.clock()}
		f.err = b.do(ctx, sharestore.StoreList, what, func(ctx context.Context) error {
			var err error
			f.pg, err = b.store.List(ctx, b.kp+rel, token)
			return err
		})
		return f
	}
	var pending chan fetchedPage // the next page's request, under way
	defer func() {
		if pending != nil {
			cancel()
			<-pending
		}
	}()
	token, last := "", ""
	var at time.Time
	for page := 1; ; page++ {
		if err := sharestore.CtxErr(ctx); err != nil {
			return at, err
		}
		var f fetchedPage
		if pending != nil {
			f, pending = <-pending, nil
		} else {
			f = fetch(token)
		}
		at = f.at
		if f.err != nil {
			return at, f.err
		}
		pg := f.pg
		if pg.Next != "" {
			if pg.Next == token {
				return at, sharestore.Errorf(sharestore.ErrInternal, "%s: page %d is not making progress (the same page token again)", what, page)
			}
			b.learned.sawPage(len(pg.Objects))
			if ahead {
				ch, next := make(chan fetchedPage, 1), pg.Next
				pending = ch
				go func() { ch <- fetch(next) }()
			}
		}
		for _, o := range pg.Objects {
			if last != "" && o.Key <= last {
				return at, sharestore.Errorf(sharestore.ErrInternal, "%s: page %d is not making progress (key %q after %q)", what, page, o.Key, last)
			}
			last = o.Key
			k, ok := strings.CutPrefix(o.Key, b.kp)
			if !ok || !strings.HasPrefix(k, rel) {
				continue
			}
			if err := fn(k, o, at); err != nil {
				return at, err
			}
		}
		if pg.Next == "" {
			return at, nil
		}
		token = pg.Next
	}
}

// prefixCollector gathers one prefix's chunk objects, in listing order,
// into its shares.
type prefixCollector struct {
	cur     sharestore.StorageIndex
	group   sharesetListing
	all     []sharestore.ShareInfo
	sets    map[sharestore.StorageIndex]sharesetListing
	objects int // chunk objects added
}

// add adds one chunk object. Objects arrive in key order, so one storage
// index's objects are consecutive.
func (pc *prefixCollector) add(ref chunkRef, o Object) {
	if pc.sets == nil {
		pc.sets = map[sharestore.StorageIndex]sharesetListing{}
	}
	if ref.SI != pc.cur {
		pc.flush()
		pc.cur = ref.SI
	}
	if pc.group == nil {
		pc.group = sharesetListing{}
	}
	pc.group.add(ref, o)
	pc.objects++
}

func (pc *prefixCollector) flush() {
	if len(pc.group) > 0 {
		pc.all = append(pc.all, pc.group.infos(pc.cur)...)
		pc.sets[pc.cur] = pc.group
		pc.group = nil
	}
}

// finish returns the prefix's shares in (SI, shnum) order, and its chunk
// objects by storage index. Keys list in text order, which is not
// storage index order (base32 puts digits after letters), hence the
// sort.
func (pc *prefixCollector) finish() ([]sharestore.ShareInfo, map[sharestore.StorageIndex]sharesetListing) {
	if pc.sets == nil {
		pc.sets = map[sharestore.StorageIndex]sharesetListing{}
	}
	pc.flush()
	slices.SortStableFunc(pc.all, func(a, b sharestore.ShareInfo) int { return a.ID().Compare(b.ID()) })
	return pc.all, pc.sets
}

// ListPrefix implements driver.Driver with one paged listing of
// shares/PP/: chunk sizes are summed per share, shares without chunk 0
// are skipped, and nothing is read. The prefix's ShareInfos (not its
// objects) are gathered and sorted before fn sees them: the working set
// is one prefix's shares.
func (b *chunked) ListPrefix(ctx context.Context, p sharestore.Prefix, fn func(sharestore.ShareInfo) error) error {
	var pc prefixCollector
	start := b.recent.clock()
	err := b.listObjects(ctx, prefixKey(p), func(rel string, o Object) error {
		if ref, ok := parseChunkKey(rel); ok {
			pc.add(ref, o)
		}
		return nil
	})
	if err != nil {
		return err
	}
	all, sets := pc.finish()
	b.recent.remember(p, start, sets)
	b.learned.sawPrefix(p.Index(), pc.objects)
	for _, info := range all {
		if err := sharestore.CtxErr(ctx); err != nil {
			return err
		}
		if err := fn(info); err != nil {
			return err
		}
	}
	return nil
}

// SharesetsForPrefix implements driver.Driver: the storage indexes
// under the prefix that have at least one share with a chunk 0.
func (b *chunked) SharesetsForPrefix(ctx context.Context, p sharestore.Prefix) ([]sharestore.StorageIndex, error) {
	var out []sharestore.StorageIndex
	err := b.ListPrefix(ctx, p, func(info sharestore.ShareInfo) error {
		out = appendSI(out, info)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []sharestore.StorageIndex{}
	}
	return out, nil
}

// appendSI appends info's storage index to sis unless it is already the
// last one: applied to shares in (SI, shnum) order, it gives the sorted
// storage indexes.
func appendSI(sis []sharestore.StorageIndex, info sharestore.ShareInfo) []sharestore.StorageIndex {
	if len(sis) == 0 || sis[len(sis)-1] != info.SI {
		sis = append(sis, info.SI)
	}
	return sis
}
