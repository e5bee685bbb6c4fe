package plugin

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/sharestore/sharestore"
	pb "github.com/sharestore/sharestore/plugin/proto/backendv1"
)

// versionedLister lists n shares in every prefix; share k has Version
// "v<k>" when versioned(k), and none otherwise.
type versionedLister struct {
	sharestore.Backend // nil: only ListPrefix is called
	n                  int
	versioned          func(k int) bool
}

func (v *versionedLister) info(p sharestore.Prefix, k int) sharestore.ShareInfo {
	var si sharestore.StorageIndex
	si[0], si[1], si[2] = byte(p.Index()), byte(k>>8), byte(k)
	i := sharestore.ShareInfo{SI: si, Shnum: k % 7, Size: int64(k), UsedSpace: int64(k), ModTime: time.Unix(1700000000, int64(k))}
	if v.versioned(k) {
		i.Version = "v" + strconv.Itoa(k)
	}
	return i
}

func (v *versionedLister) ListPrefix(ctx context.Context, p sharestore.Prefix, fn func(sharestore.ShareInfo) error) error {
	for k := range v.n {
		if err := fn(v.info(p, k)); err != nil {
			return err
		}
	}
	return nil
}

// scanVersions scans the first prefix of a server over b as the host's
// receive loop does and returns its listing.
func scanVersions(t *testing.T, b sharestore.Backend) []sharestore.ShareInfo {
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
	if err := stream.Send(&pb.ScanRequest{First: string(sharestore.PrefixAt(0)), Credit: 1}); err != nil {
		t.Fatal(err)
	}
	var out []sharestore.ShareInfo
	parts := 0
	for {
		msg, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		for _, part := range msg.Parts {
			parts++
			n := len(out)
			if out, err = unpackShares(out, part.Shares); err == nil {
				err = setVersions(out[n:], part.Versions)
			}
			if err != nil {
				t.Fatal(err)
			}
			if part.End {
				if parts < 2 {
					t.Fatalf("the listing came in %d part; the test needs it split", parts)
				}
				return out
			}
		}
	}
}

// Versions travel with a scan's packed listing, across the parts a large
// prefix is split into, whether every share, some or none has one.
func TestScanCarriesVersions(t *testing.T) {
	for name, versioned := range map[string]func(int) bool{
		"all":  func(int) bool { return true },
		"some": func(k int) bool { return k%3 == 1 },
		"late": func(k int) bool { return k > 1500 },
		"none": func(int) bool { return false },
	} {
		t.Run(name, func(t *testing.T) {
			b := &versionedLister{n: 2000, versioned: versioned}
			got := scanVersions(t, b)
			if len(got) != b.n {
				t.Fatalf("listed %d shares, want %d", len(got), b.n)
			}
			for k, g := range got {
				w := b.info(sharestore.PrefixAt(0), k)
				if g.SI != w.SI || g.Shnum != w.Shnum || g.Size != w.Size || !g.ModTime.Equal(w.ModTime) || g.Version != w.Version {
					t.Fatalf("share %d = %+v, want %+v", k, g, w)
				}
			}
		})
	}
}

// A part whose versions do not match its shares one for one is the
// plugin's fault, not a listing.
func TestSetVersionsCountMismatch(t *testing.T) {
	err := setVersions(make([]sharestore.ShareInfo, 3), []string{"a", "b"})
	if sharestore.CodeOf(err) != sharestore.ErrInternal {
		t.Fatalf("setVersions with 2 versions for 3 shares: %v, want ErrInternal", err)
	}
}
