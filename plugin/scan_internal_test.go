package plugin

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/sharestore/sharestore"
	pb "github.com/sharestore/sharestore/plugin/proto/backendv1"
)

// gatedLister is a backend whose ListPrefix lists one share per prefix,
// but for the prefixes in gate waits until the host has received the
// prefix before: a plugin that held that listing back would wait for
// ever, so each gate proves a listing went out at once.
type gatedLister struct {
	sharestore.Backend // nil: only ListPrefix is called
	gate               map[int]bool
	received           []chan struct{} // closed when the host has prefix i
}

func (g *gatedLister) ListPrefix(ctx context.Context, p sharestore.Prefix, fn func(sharestore.ShareInfo) error) error {
	i := p.Index()
	if g.gate[i] {
		select {
		case <-g.received[i-1]:
		case <-time.After(10 * time.Second):
			return sharestore.Errorf(sharestore.ErrInternal, "prefix %d: the listing of prefix %d never reached the host", i, i-1)
		case <-ctx.Done():
			return sharestore.CtxErr(ctx)
		}
	}
	var si sharestore.StorageIndex
	si[0] = byte(i)
	return fn(sharestore.ShareInfo{SI: si, Shnum: i % 256, Size: int64(i)})
}

// scanPages opens a raw ScanPrefixes stream to a server over b, sends
// the first request, reads the prefixes from first to upto and returns
// the index of the page each arrived in.
func scanPages(t *testing.T, b *gatedLister, first int, ahead, credit int32, upto int) map[int]int {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer()
	pb.RegisterBackendServer(gs, &server{b: b})
	go gs.Serve(lis)
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(context.Context, string) (net.Conn, error) { return lis.Dial() }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := pb.NewBackendClient(conn).ScanPrefixes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&pb.ScanRequest{First: string(sharestore.PrefixAt(first)), Ahead: ahead, Credit: credit}); err != nil {
		t.Fatal(err)
	}
	pageOf := map[int]int{}
	for page, next := 0, first; next < upto; page++ {
		msg, err := stream.Recv()
		if err != nil {
			t.Fatalf("after %d prefixes: %v", next-first, err)
		}
		for _, part := range msg.Parts {
			if want := string(sharestore.PrefixAt(next)); part.Prefix != want {
				t.Fatalf("got prefix %q, want %q", part.Prefix, want)
			}
			if len(part.Shares) != packedShareSize || !part.End {
				t.Fatalf("prefix %s: %d bytes, end %v", part.Prefix, len(part.Shares), part.End)
			}
			pageOf[next] = page
			close(b.received[next])
			next++
		}
	}
	return pageOf
}

func newGatedLister(gated ...int) *gatedLister {
	g := &gatedLister{gate: map[int]bool{}, received: make([]chan struct{}, sharestore.NumPrefixes)}
	for i := range g.received {
		g.received[i] = make(chan struct{})
	}
	for _, i := range gated {
		g.gate[i] = true
	}
	return g
}

// TestScanSendsWhatTheHostMayNeed checks the plugin side of the
// ScanRequest.ahead rule: with a window of 16, the first 8 of 16 granted
// prefixes go out one by one (each later listing waits for the earlier
// one to arrive), and the other 8, which the host cannot read before its
// next grant, share one page that goes out when the credit runs out.
func TestScanSendsWhatTheHostMayNeed(t *testing.T) {
	b := newGatedLister(1, 2, 3, 4, 5, 6, 7, 8)
	pageOf := scanPages(t, b, 0, 16, 16, 16)
	for i := 0; i < 8; i++ {
		if pageOf[i] != i {
			t.Errorf("prefix %d arrived in page %d, want %d (alone)", i, pageOf[i], i)
		}
	}
	for i := 8; i < 16; i++ {
		if pageOf[i] != 8 {
			t.Errorf("prefix %d arrived in page %d, want 8 (with the other held listings)", i, pageOf[i])
		}
	}
}

// TestScanWithoutAheadSendsEveryListing checks that a host that does not
// state its window gets every listing at once, and that no listing is
// held back once the credit reaches the last prefix.
func TestScanWithoutAheadSendsEveryListing(t *testing.T) {
	for _, tc := range []struct {
		first int
		ahead int32
	}{{0, 0}, {sharestore.NumPrefixes - 8, 16}} {
		t.Run(fmt.Sprintf("first=%d,ahead=%d", tc.first, tc.ahead), func(t *testing.T) {
			var gated []int
			for i := tc.first + 1; i < tc.first+8; i++ {
				gated = append(gated, i)
			}
			scanPages(t, newGatedLister(gated...), tc.first, tc.ahead, 8, tc.first+8)
		})
	}
}

// failingLister lists one share per prefix and fails at prefix fail.
type failingLister struct {
	sharestore.Backend // nil: only ListPrefix is called
	fail               int
}

func (f failingLister) ListPrefix(ctx context.Context, p sharestore.Prefix, fn func(sharestore.ShareInfo) error) error {
	if p.Index() == f.fail {
		return sharestore.Errorf(sharestore.ErrUnavailable, "listing %s failed", p)
	}
	var si sharestore.StorageIndex
	si[0] = byte(p.Index())
	return fn(sharestore.ShareInfo{SI: si, Shnum: 1, Size: 1})
}

// TestScanErrorComesAfterEveryEarlierListing checks that when a listing
// fails, the listings the plugin held back before it still reach the
// host, and the error only then: so the host charges it to the prefix
// that failed, not to an earlier one it was waiting for.
func TestScanErrorComesAfterEveryEarlierListing(t *testing.T) {
	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer()
	pb.RegisterBackendServer(gs, &server{b: failingLister{fail: 12}})
	go gs.Serve(lis)
	defer gs.Stop()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(context.Context, string) (net.Conn, error) { return lis.Dial() }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := pb.NewBackendClient(conn).ScanPrefixes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A window of 16: listings 8..15 are ones the plugin holds back.
	if err := stream.Send(&pb.ScanRequest{First: string(sharestore.PrefixAt(0)), Ahead: 16, Credit: 16}); err != nil {
		t.Fatal(err)
	}
	next := 0
	for {
		msg, err := stream.Recv()
		if err != nil {
			if next != 12 {
				t.Fatalf("the error came after %d listings, want the 12 before the prefix that failed: %v", next, err)
			}
			if !strings.Contains(err.Error(), "listing "+string(sharestore.PrefixAt(12))+" failed") {
				t.Fatalf("error %v, want prefix 12's", err)
			}
			return
		}
		for _, part := range msg.Parts {
			if want := string(sharestore.PrefixAt(next)); part.Prefix != want || !part.End {
				t.Fatalf("got part of prefix %q (end %v), want all of %q", part.Prefix, part.End, want)
			}
			next++
		}
	}
}
