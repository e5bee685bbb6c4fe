//go:build unix

package disk

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/share"
)

// logBuf collects what a backend logs; the backend logs from several
// goroutines.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// snapshot returns every file under dir with its contents, and every
// directory, so that a test can show nothing there changed.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.IsDir():
			out[rel] = "<dir>"
		case d.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out[rel] = "<link " + target + ">"
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameSnapshot(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s: %s changed or vanished", what, k)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			t.Errorf("%s: %s appeared", what, k)
		}
	}
}

// The storage index all the escape tests plant outside the root: its
// prefix is "ac".
const outsideSI = "acaqcaibaeaqcaibaeaqcaibae"

// outsideShares makes, outside any storage directory, a directory that
// looks like shares/ac: an SI directory of outsideSI with two valid
// immutable shares. It returns that directory.
func outsideShares(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "outside-ac")
	dir := filepath.Join(out, outsideSI)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"0", "1"} {
		c := append(share.NewImmutableHeader(1, 5), "hello"...)
		if err := os.WriteFile(filepath.Join(dir, n), c, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// newLoggedBackend is newBackend with the warnings captured.
func newLoggedBackend(t *testing.T) (*Backend, string, *logBuf) {
	t.Helper()
	logs := &logBuf{}
	b, root := newBackend(t, Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	return b, root, logs
}

// escapeLayouts plant a symbolic link at one level of the layout that
// leads outside the root, to the directory outsideShares made:
// returns the link's path.
var escapeLayouts = map[string]func(t *testing.T, root, out string) string{
	"prefix dir": func(t *testing.T, root, out string) string {
		link := filepath.Join(root, "shares", "ac")
		mustSymlink(t, out, link)
		return link
	},
	"SI dir": func(t *testing.T, root, out string) string {
		link := filepath.Join(root, "shares", "ac", outsideSI)
		os.MkdirAll(filepath.Dir(link), 0o755)
		mustSymlink(t, filepath.Join(out, outsideSI), link)
		return link
	},
	"share file": func(t *testing.T, root, out string) string {
		dir := filepath.Join(root, "shares", "ac", outsideSI)
		os.MkdirAll(dir, 0o755)
		link := filepath.Join(dir, "0")
		mustSymlink(t, filepath.Join(out, outsideSI, "0"), link)
		return link
	},
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// A symbolic link at the prefix, SI or share level leading outside the
// root: nothing outside is listed, read, written or deleted, and the
// warning names the link.
func TestSymlinkEscapes(t *testing.T) {
	for name, plant := range escapeLayouts {
		t.Run(name, func(t *testing.T) {
			b, root, logs := newLoggedBackend(t)
			ctx := context.Background()
			out := outsideShares(t)
			link := plant(t, root, out)
			before := snapshot(t, out)
			id := si(t, outsideSI)
			ss := b.Shareset(id)

			// Listing and counting.
			n := 0
			if err := b.ListPrefix(ctx, "ac", func(sharestore.ShareInfo) error { n++; return nil }); err != nil || n != 0 {
				t.Errorf("ListPrefix listed %d shares through the link: %v", n, err)
			}
			if !strings.Contains(logs.String(), link) {
				t.Errorf("no warning names %s; log:\n%s", link, logs)
			}
			if sis, err := b.SharesetsForPrefix(ctx, "ac"); err != nil || (name != "share file" && len(sis) != 0) {
				t.Errorf("SharesetsForPrefix: %v %v", sis, err)
			}
			if shares, corrupt, err := ss.Shares(ctx); err != nil || len(shares)+len(corrupt) != 0 {
				t.Errorf("Shares: %v %v %v", shares, corrupt, err)
			}

			// Reading.
			if _, err := ss.Share(ctx, 0); !errors.Is(err, sharestore.ErrNotFound) {
				t.Errorf("Share: %v", err)
			}
			if d, err := ss.ReadShareData(ctx, 0, 0, 5); !errors.Is(err, sharestore.ErrNotFound) {
				t.Errorf("ReadShareData: %q %v", d, err)
			}
			if _, _, err := ss.OpenRaw(ctx, 0); !errors.Is(err, sharestore.ErrNotFound) {
				t.Errorf("OpenRaw: %v", err)
			}
			if hr, ok := any(b).(sharestore.HeaderReader); ok {
				hr.ReadHeaders(ctx, []sharestore.ShareID{{SI: id, Shnum: 0}, {SI: id, Shnum: 1}}, func(_ sharestore.ShareID, _ sharestore.Share, err error) {
					if !errors.Is(err, sharestore.ErrNotFound) {
						t.Errorf("ReadHeaders: %v", err)
					}
				})
			}

			// Deleting.
			for _, shnum := range []int{0, 1} {
				err := ss.DeleteShare(ctx, shnum, nil)
				if name == "share file" && shnum == 1 {
					continue // no share 1 inside the root: nothing to do
				}
				if !errors.Is(err, sharestore.ErrPermissionDenied) || !strings.Contains(err.Error(), link) {
					t.Errorf("DeleteShare(%d): %v", shnum, err)
				}
			}

			// Writing.
			writeErr := func(what string, err error) {
				t.Helper()
				if !errors.Is(err, sharestore.ErrPermissionDenied) || !strings.Contains(err.Error(), link) {
					t.Errorf("%s: %v; want ErrPermissionDenied naming %s", what, err, link)
				}
			}
			if name != "share file" { // there, share 0 exists and 2 may be written
				w, err := ss.WriteImmutable(ctx, 2, 5)
				if err == nil {
					w.Write(ctx, 0, []byte("evil!"))
					err = w.Close(ctx)
				}
				writeErr("WriteImmutable", err)
				_, _, err = ss.TestAndReadAndWrite(ctx, sharestore.WriteEnabler{1}, []sharestore.TestAndWrite{{Shnum: 3, Writes: []sharestore.DataVector{{Offset: 0, Data: []byte("evil")}}}}, nil)
				writeErr("TestAndReadAndWrite", err)
			}
			evil := append(share.NewImmutableHeader(1, 4), "evil"...)
			writeErr("PutRaw", ss.PutRaw(ctx, 0, bytes.NewReader(evil), int64(len(evil))))

			sameSnapshot(t, "outside the root", before, snapshot(t, out))
			if _, err := os.Lstat(link); err != nil {
				t.Errorf("the link itself was removed: %v", err)
			}
		})
	}
}

// A symbolic link as shares/incoming, or below it, leading outside:
// uploads write nothing there and CleanIncoming removes nothing there.
func TestSymlinkedIncoming(t *testing.T) {
	id := si(t, outsideSI)
	for _, level := range []string{"incoming", "incoming/ac", "incoming/ac/" + outsideSI} {
		t.Run(level, func(t *testing.T) {
			b, root, logs := newLoggedBackend(t)
			ctx := context.Background()
			out := t.TempDir()
			// The outside holds what a leftover would look like at that
			// level: old Tahoe uploads and a dead PutRaw file.
			leaf := filepath.Join(out, strings.Repeat("x/", strings.Count(level, "/")))
			rest := strings.Split("ac/"+outsideSI, "/")[strings.Count(level, "/"):]
			dir := filepath.Join(append([]string{leaf}, rest...)...)
			os.MkdirAll(dir, 0o755)
			os.WriteFile(filepath.Join(dir, "0"), []byte("outside upload"), 0o644)
			os.WriteFile(filepath.Join(dir, "1.put-00ff"), []byte("outside put"), 0o644)
			link := filepath.Join(root, "shares", filepath.FromSlash(level))
			os.MkdirAll(filepath.Dir(link), 0o755)
			mustSymlink(t, leaf, link)
			before := snapshot(t, out)

			ss := b.Shareset(id)
			if _, err := ss.WriteImmutable(ctx, 2, 5); !errors.Is(err, sharestore.ErrPermissionDenied) || !strings.Contains(err.Error(), link) {
				t.Errorf("WriteImmutable: %v", err)
			}
			if err := ss.PutRaw(ctx, 1, strings.NewReader("abc"), 3); !errors.Is(err, sharestore.ErrPermissionDenied) || !strings.Contains(err.Error(), link) {
				t.Errorf("PutRaw: %v", err)
			}
			removed, err := b.CleanIncoming(ctx, farFuture)
			if err != nil || len(removed) != 0 {
				t.Errorf("CleanIncoming removed %v: %v", removed, err)
			}
			if !strings.Contains(logs.String(), link) {
				t.Errorf("no warning names %s; log:\n%s", link, logs)
			}
			sameSnapshot(t, "outside the root", before, snapshot(t, out))
			if _, err := os.Lstat(link); err != nil {
				t.Errorf("the link itself was removed: %v", err)
			}
		})
	}
}

// farFuture is a CleanIncoming cutoff that every file is older than.
var farFuture = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)

// Open refuses a storage directory whose shares/ is a symbolic link.
func TestOpenRefusesSymlinkedShares(t *testing.T) {
	root := t.TempDir()
	real := filepath.Join(t.TempDir(), "shares")
	os.Mkdir(real, 0o755)
	mustSymlink(t, real, filepath.Join(root, "shares"))
	_, err := Open(root, Options{})
	if !errors.Is(err, sharestore.ErrInvalidArgument) || !strings.Contains(err.Error(), filepath.Join(root, "shares")+" is a symbolic link") {
		t.Fatalf("Open: %v", err)
	}
}

// Close while an upload is open: the upload can still finish, because
// it holds shares/ open.
func TestCloseWithUploadOpen(t *testing.T) {
	b, root := newBackend(t, Options{})
	ctx := context.Background()
	id := si(t, outsideSI)
	w, err := b.Shareset(id).WriteImmutable(ctx, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	if _, err := b.Shareset(id).Share(ctx, 0); !errors.Is(err, sharestore.ErrInvalidArgument) {
		t.Errorf("Share after Close: %v", err)
	}
	w.Write(ctx, 0, []byte("abc"))
	if err := w.Close(ctx); err != nil {
		t.Fatalf("upload after Close: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "shares", "ac", outsideSI, "0")); err != nil {
		t.Fatal(err)
	}
}
