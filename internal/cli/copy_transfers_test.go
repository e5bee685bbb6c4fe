package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/conformance/fixture"
	"github.com/sharestore/sharestore/internal/emulators"
)

// spreadStore builds a disk store of shares in nPrefixes distinct
// prefixes, perPrefix storage indexes each with one to three shares of
// assorted sizes, and returns its root, its prefixes in copy order and
// its share IDs.
func spreadStore(t *testing.T, nPrefixes, perPrefix int) (string, []sharestore.Prefix, []sharestore.ShareID) {
	t.Helper()
	root := t.TempDir()
	b, err := disk.Open(root, disk.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rng := rand.New(rand.NewPCG(16, uint64(nPrefixes*perPrefix)))
	var ids []sharestore.ShareID
	var prefixes []sharestore.Prefix
	for k := 0; k < nPrefixes; k++ {
		for j := 0; j < perPrefix; j++ {
			var si sharestore.StorageIndex
			for i := range si {
				si[i] = byte(rng.UintN(256))
			}
			// The first 10 bits are the prefix: distinct first bytes,
			// the next two bits clear.
			si[0], si[1] = byte(k*251/nPrefixes), si[1]&0x3f
			for shnum := 0; shnum <= int(rng.UintN(3)); shnum++ {
				data := make([]byte, 50+rng.UintN(4000))
				for i := range data {
					data[i] = byte(rng.UintN(256))
				}
				c := fixture.ImmutableV1(data)
				if err := b.Shareset(si).PutRaw(context.Background(), shnum, bytes.NewReader(c), int64(len(c))); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, sharestore.ShareID{SI: si, Shnum: shnum})
			}
			if j == 0 {
				prefixes = append(prefixes, si.Prefix())
			}
		}
	}
	slices.SortFunc(prefixes, func(a, b sharestore.Prefix) int { return a.Index() - b.Index() })
	return root, prefixes, ids
}

// rawShares reads every share's stored container from the backend at
// spec.
func rawShares(t *testing.T, spec string) map[sharestore.ShareID][]byte {
	t.Helper()
	ctx := context.Background()
	b, err := openBackend(ctx, spec, false, &pluginFlags{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	out := map[sharestore.ShareID][]byte{}
	for _, p := range sharestore.Prefixes() {
		infos, err := listAll(ctx, b, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, info := range infos {
			rc, _, err := b.Shareset(info.SI).OpenRaw(ctx, info.Shnum)
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			out[info.ID()] = data
		}
	}
	return out
}

// sameShares fails the test unless got holds exactly the shares of want,
// byte for byte.
func sameShares(t *testing.T, what string, got, want map[sharestore.ShareID][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d shares, want %d", what, len(got), len(want))
	}
	for id, w := range want {
		if g, ok := got[id]; !ok {
			t.Errorf("%s: %s missing", what, id)
		} else if !bytes.Equal(g, w) {
			t.Errorf("%s: %s holds %d bytes that differ from the source's %d", what, id, len(g), len(w))
		}
	}
}

// minioURL starts MinIO (or skips), creates a bucket for the test and
// returns an s3:// URL of a fresh key prefix in it.
func minioURL(t *testing.T, bucket string) string {
	t.Helper()
	srv := emulators.Get(t, emulators.MinIO)
	t.Setenv("AWS_ACCESS_KEY_ID", emulators.MinIOUser)
	t.Setenv("AWS_SECRET_ACCESS_KEY", emulators.MinIOPassword)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	u := "s3://" + bucket + "?region=us-east-1&path_style=true&endpoint=" + srv.Endpoint
	if code, _, errOut := run(t, "mkbucket", "--backend", u); code != 0 {
		t.Fatalf("mkbucket: exit %d: %s", code, errOut)
	}
	return fmt.Sprintf("s3://%s/t%d?region=us-east-1&path_style=true&endpoint=%s", bucket, time.Now().UnixNano(), srv.Endpoint)
}

// A copy of a store of several prefixes and many shares gives the same
// destination, byte for byte, with one transfer and with 16, into a disk
// store and into MinIO.
func TestCopyTransfersSameAsSerial(t *testing.T) {
	src, _, ids := spreadStore(t, 6, 25)
	want := rawShares(t, "disk:"+src)
	if len(want) != len(ids) {
		t.Fatalf("the source lists %d shares, want %d", len(want), len(ids))
	}
	serial := "disk:" + filepath.Join(t.TempDir(), "serial")
	dests := []struct{ name, spec, transfers string }{
		{"disk, 1 transfer", serial, "1"},
		{"disk, 16 transfers", "disk:" + filepath.Join(t.TempDir(), "dst16"), "16"},
		{"MinIO, 16 transfers", minioURL(t, "copy-transfers"), "16"},
	}
	for _, d := range dests {
		code, out, errOut := run(t, "copy", "--from", "disk:"+src, "--to", d.spec, "--transfers", d.transfers)
		if code != 0 || !strings.Contains(out, fmt.Sprintf("copied %d shares", len(ids))) {
			t.Fatalf("%s: exit %d, stdout %q, stderr %s", d.name, code, out, errOut)
		}
		sameShares(t, d.name, rawShares(t, d.spec), want)
	}
	sameShares(t, "16 transfers against the serial copy", rawShares(t, dests[1].spec), rawShares(t, serial))
}

// transferCounter counts the PutRaw requests in flight on the backend it
// wraps, and holds each until n are, so that a copy allowed n transfers
// reaches n; after wait it lets every request through.
type transferCounter struct {
	n           int32
	wait        time.Duration
	inFlight    atomic.Int32
	peak        atomic.Int32
	reachedOnce sync.Once
	reached     chan struct{}
	puts        atomic.Int32
}

func newTransferCounter(n int, wait time.Duration) *transferCounter {
	return &transferCounter{n: int32(n), wait: wait, reached: make(chan struct{})}
}

func (c *transferCounter) wrap(b sharestore.Backend) sharestore.Backend {
	return sharestore.Intercept(b, sharestore.Hooks{
		Request: func(ctx context.Context, r sharestore.Request) error {
			if r.Op != sharestore.ReqPutRaw {
				return nil
			}
			c.puts.Add(1)
			now := c.inFlight.Add(1)
			for p := c.peak.Load(); now > p && !c.peak.CompareAndSwap(p, now); p = c.peak.Load() {
			}
			if now >= c.n {
				c.reachedOnce.Do(func() { close(c.reached) })
			}
			select {
			case <-c.reached:
			case <-time.After(c.wait): // fewer than n ever came at once
			}
			return nil
		},
		Done: func(r sharestore.Request, err error, _ time.Duration) {
			if r.Op == sharestore.ReqPutRaw {
				c.inFlight.Add(-1)
			}
		},
	})
}

// --transfers N writes N shares to MinIO at once, and never more.
func TestCopyTransfersBounded(t *testing.T) {
	src, _, ids := spreadStore(t, 3, 12)
	for _, n := range []int{1, 5} {
		c := newTransferCounter(n, 5*time.Second)
		copyDestHook = c.wrap
		t.Cleanup(func() { copyDestHook = nil })
		dst := minioURL(t, "copy-bounded")
		code, out, errOut := run(t, "copy", "--from", "disk:"+src, "--to", dst, "--transfers", itoa(n))
		if code != 0 {
			t.Fatalf("--transfers %d: exit %d, stdout %q, stderr %s", n, code, out, errOut)
		}
		if got := int(c.puts.Load()); got != len(ids) {
			t.Fatalf("--transfers %d: %d writes, want one per share, %d", n, got, len(ids))
		}
		if got := int(c.peak.Load()); got != n {
			t.Fatalf("--transfers %d: at most %d writes were in flight at once, want exactly %d", n, got, n)
		}
	}
}

// --transfers below 1 is a usage error that names the flag, before
// either side is opened.
func TestCopyTransfersUsage(t *testing.T) {
	src, _ := copyStore(t, 2)
	for _, n := range []string{"0", "-3"} {
		dst := filepath.Join(t.TempDir(), "dst")
		code, _, errOut := run(t, "copy", "--from", "disk:"+src, "--to", "disk:"+dst, "--transfers", n)
		if code != exitUsage || !strings.Contains(errOut, "--transfers must be at least 1, not "+n) {
			t.Fatalf("--transfers %s: exit %d, stderr %q; want %d naming the flag", n, code, errOut, exitUsage)
		}
		if _, err := disk.Open(dst, disk.Options{}); err == nil {
			t.Fatalf("--transfers %s: the destination was created", n)
		}
	}
}

// closeCounter wraps a backend and calls onClose each time a reader that
// its OpenRaw returned is closed: for the destination of a fresh copy,
// once a share's verification has read it back.
type closeCounter struct {
	sharestore.Backend
	onClose func()
}

func (c closeCounter) Shareset(si sharestore.StorageIndex) sharestore.Shareset {
	return closeCounterSet{c.Backend.Shareset(si), c.onClose}
}

type closeCounterSet struct {
	sharestore.Shareset
	onClose func()
}

func (s closeCounterSet) OpenRaw(ctx context.Context, shnum int) (io.ReadCloser, int64, error) {
	rc, n, err := s.Shareset.OpenRaw(ctx, shnum)
	if err != nil {
		return rc, n, err
	}
	return closeHook{rc, s.onClose}, n, nil
}

type closeHook struct {
	io.ReadCloser
	onClose func()
}

func (c closeHook) Close() error {
	err := c.ReadCloser.Close()
	c.onClose()
	return err
}

// reportedPrefix is a progress line of copy's stderr.
var reportedPrefix = regexp.MustCompile(`(?m)^copy: prefix ([a-z2-7]{2}) \(`)

// A concurrent copy interrupted while one share of its third prefix is
// stuck has by then copied every other share, later prefixes' too; its
// progress never went past the stuck share's prefix, and rerunning the
// copy copies that share and skips the rest, giving the whole store.
func TestCopyTransfersInterruptedResumes(t *testing.T) {
	src, prefixes, ids := spreadStore(t, 6, 8)
	var stuck sharestore.ShareID
	for _, id := range ids {
		if id.SI.Prefix() == prefixes[2] {
			stuck = id
			break
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srcB, err := disk.Open(src, disk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srcB.Close()
	stuckSrc := sharestore.Intercept(srcB, sharestore.Hooks{Request: func(ctx context.Context, r sharestore.Request) error {
		if r.Op == sharestore.ReqOpenRaw && r.SI == stuck.SI && r.Shnum == stuck.Shnum {
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}})
	dstRoot := filepath.Join(t.TempDir(), "dst")
	dstB, err := disk.Open(dstRoot, disk.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	var verified atomic.Int32
	dst := closeCounter{dstB, func() {
		if int(verified.Add(1)) == len(ids)-1 {
			cancel() // every share but the stuck one is copied
		}
	}}
	var out, errOut bytes.Buffer
	err = runCopy(ctx, stuckSrc, dst, sharestore.Prefixes(), 4, &out, &errOut)
	dstB.Close()
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), stuck.String()) {
		t.Fatalf("interrupted copy: %v, want context.Canceled naming %s; stderr:\n%s", err, stuck, errOut.String())
	}
	var reported []string
	for _, m := range reportedPrefix.FindAllStringSubmatch(errOut.String(), -1) {
		reported = append(reported, m[1])
	}
	if want := []string{string(prefixes[0]), string(prefixes[1])}; !slices.Equal(reported, want) {
		t.Fatalf("progress reported prefixes %v, want only %v, those before the stuck share's %s:\n%s",
			reported, want, prefixes[2], errOut.String())
	}
	got := rawShares(t, "disk:"+dstRoot)
	if _, ok := got[stuck]; ok || len(got) != len(ids)-1 {
		t.Fatalf("the interrupted copy left %d shares (the stuck one: %v), want all %d others", len(got), ok, len(ids)-1)
	}
	code, stdout, stderr := run(t, "copy", "--from", "disk:"+src, "--to", "disk:"+dstRoot, "--transfers", "4")
	if code != 0 || !strings.Contains(stdout, "copied 1 shares") || !strings.Contains(stdout, fmt.Sprintf("skipped %d already present", len(ids)-1)) {
		t.Fatalf("rerun: exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	sameShares(t, "after the rerun", rawShares(t, "disk:"+dstRoot), rawShares(t, "disk:"+src))
}

// The first failed write stops the copy: no share is started after it
// beyond those already handed to a transfer, the copy waits for those in
// flight (one is held until after the failure), exits 1 naming the share
// that failed, and nothing is deleted at either end.
func TestCopyTransfersStopAtFirstError(t *testing.T) {
	const transfers, failAt, holdAt = 4, 10, 9
	src, _, ids := spreadStore(t, 3, 12)
	before := rawShares(t, "disk:"+src)
	var (
		mu        sync.Mutex
		puts      int
		failedID  sharestore.ShareID
		failed    = make(chan struct{})
		inFlight  atomic.Int32
		succeeded atomic.Int32
		deletes   atomic.Int32
	)
	countDeletes := func(b sharestore.Backend) sharestore.Backend {
		return sharestore.Intercept(b, sharestore.Hooks{Request: func(_ context.Context, r sharestore.Request) error {
			if r.Op == sharestore.ReqDeleteShare {
				deletes.Add(1)
			}
			return nil
		}})
	}
	withSource(t, countDeletes)
	copyDestHook = func(b sharestore.Backend) sharestore.Backend {
		return sharestore.Intercept(countDeletes(b), sharestore.Hooks{
			Request: func(_ context.Context, r sharestore.Request) error {
				if r.Op != sharestore.ReqPutRaw {
					return nil
				}
				mu.Lock()
				puts++
				k := puts
				if k == failAt {
					failedID = sharestore.ShareID{SI: r.SI, Shnum: r.Shnum}
				}
				mu.Unlock()
				switch k {
				case failAt:
					close(failed)
					return sharestore.Errorf(sharestore.ErrUnavailable, "injected write failure")
				case holdAt:
					<-failed
					// Still in flight well after the failure: a copy that
					// did not wait for it would have returned by now.
					time.Sleep(100 * time.Millisecond)
				}
				inFlight.Add(1)
				return nil
			},
			Done: func(r sharestore.Request, err error, _ time.Duration) {
				if r.Op == sharestore.ReqPutRaw {
					inFlight.Add(-1)
					if err == nil {
						succeeded.Add(1)
					}
				}
			},
		})
	}
	t.Cleanup(func() { copyDestHook = nil })
	dst := filepath.Join(t.TempDir(), "dst")
	code, out, errOut := run(t, "copy", "--from", "disk:"+src, "--to", "disk:"+dst, "--transfers", itoa(transfers))
	if n := inFlight.Load(); n != 0 {
		t.Fatalf("copy returned with %d writes still in flight", n)
	}
	if code != exitFailure || !strings.Contains(errOut, "copy "+failedID.String()+": write destination: ") || !strings.Contains(errOut, "injected write failure") {
		t.Fatalf("exit %d, stdout %q, stderr %s; want %d naming %s", code, out, errOut, exitFailure, failedID)
	}
	mu.Lock()
	started := puts
	mu.Unlock()
	if started < failAt || started > failAt+transfers-1 {
		t.Fatalf("%d writes were started, want %d to %d: none after the failure but those already handed out (of %d shares)",
			started, failAt, failAt+transfers-1, len(ids))
	}
	if got := rawShares(t, "disk:"+dst); len(got) != int(succeeded.Load()) || len(got) != started-1 {
		t.Fatalf("the destination holds %d shares, want the %d written (%d started, one failed)", len(got), succeeded.Load(), started)
	}
	if n := deletes.Load(); n != 0 {
		t.Fatalf("%d deletes", n)
	}
	sameShares(t, "the source after the failed copy", rawShares(t, "disk:"+src), before)
}
