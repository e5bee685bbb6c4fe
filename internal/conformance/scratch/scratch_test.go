package scratch_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/internal/conformance/runner"
	"github.com/sharestore/sharestore/internal/conformance/scratch"
)

func TestLocation(t *testing.T) {
	for _, c := range []struct{ base, want string }{
		{"disk:/srv/x", "disk:/srv/x/RUN-0007"},
		{"s3://bucket/pre?region=us-east-1&endpoint=http://127.0.0.1:9000", "s3://bucket/pre/RUN-0007?region=us-east-1&endpoint=http://127.0.0.1:9000"},
		{"gs://bucket?auth=none", "gs://bucket/RUN-0007?auth=none"},
		{"sqlite:/tmp/{scratch}.db", "sqlite:/tmp/RUN-0007.db"},
		{"sqlite:/tmp/dir", "sqlite:/tmp/dir/RUN-0007"},
	} {
		h, err := scratch.New(c.base, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := h.Location(7)
		run := got[strings.Index(got, "conformance-") : strings.Index(got, "conformance-")+len("conformance-12345678")]
		if got = strings.Replace(got, run, "RUN", 1); got != c.want {
			t.Errorf("Location of %s = %s, want %s", c.base, got, c.want)
		}
	}
	if _, err := scratch.New("", nil); err == nil {
		t.Error("an empty base was accepted")
	}
}

// Every scratch disk store, with what was stored and planted in it, is
// gone when its test ends, even a test that failed; only the base
// directory is left.
func TestDiskScratchRemoved(t *testing.T) {
	base := t.TempDir()
	h, _ := scratch.New("disk:"+base, func(ctx context.Context, loc string) (sharestore.Backend, error) {
		return disk.Open(strings.TrimPrefix(loc, "disk:"), disk.Options{Create: true})
	})
	var roots []string
	for i := range 2 {
		s := runner.NewScope(context.Background(), "t", t.TempDir())
		s.Do(func(tb *runner.Scope) {
			b, err := h.NewBackend(tb.Context(), tb)
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(func() { b.Close() })
			root, _ := sharestore.LocalRoot(b)
			roots = append(roots, root)
			si := sharestore.StorageIndex{1}
			c := append([]byte{0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0}, 'x')
			if err := b.Shareset(si).PutRaw(tb.Context(), 0, bytes.NewReader(c), int64(len(c))); err != nil {
				tb.Fatal(err)
			}
			if err := h.PlantObject(tb.Context(), tb, b, "stray.txt", []byte("x")); err != nil {
				tb.Fatal(err)
			}
			if i == 1 {
				tb.Fatal("this test fails")
			}
		})
		if _, err := os.Stat(filepath.Join(roots[i], "stray.txt")); err != nil {
			t.Fatalf("planted object missing before cleanup: %v", err)
		}
		s.Close()
		if strings.Contains(s.Output(), "remove scratch") {
			t.Errorf("cleanup failed: %s", s.Output())
		}
	}
	if left, _ := os.ReadDir(base); len(left) != 0 {
		t.Errorf("left in the scratch base: %v", left)
	}
}

// A harness for a plugin without a harness service refuses to plant,
// with the reason the suite skips on.
func TestNoPlant(t *testing.T) {
	h, _ := scratch.New("x:{scratch}", nil)
	h.NoPlant = "plugin p offers no harness service"
	err := h.PlantObject(context.Background(), nil, nil, "k", nil)
	if !errors.Is(err, sharestore.ErrUnimplemented) || !strings.Contains(err.Error(), "no harness service") {
		t.Errorf("PlantObject: %v", err)
	}
}
