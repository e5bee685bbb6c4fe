package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/conformance/fixture"
)

// bigShare is the size of the share the subprocess tests stop in the
// middle of: several reads of io.Copy's buffer.
const bigShare = 1 << 20

// midShare is the line the copy child prints once it has handed half of
// the big share to the destination; the parent then signals it.
const midShare = "mid-share"

// stallingSource hands the first half of every share of at least
// bigShare bytes to the reader, then prints midShare and waits for the
// copy's context to end (as it does on SIGINT) or for the process to be
// killed.
type stallingSource struct{ sharestore.Backend }

func (s stallingSource) Shareset(si sharestore.StorageIndex) sharestore.Shareset {
	return stallingShareset{s.Backend.Shareset(si)}
}

type stallingShareset struct{ sharestore.Shareset }

func (s stallingShareset) OpenRaw(ctx context.Context, shnum int) (io.ReadCloser, int64, error) {
	rc, size, err := s.Shareset.OpenRaw(ctx, shnum)
	if err != nil || size < bigShare {
		return rc, size, err
	}
	return &stallingReader{ReadCloser: rc, ctx: ctx, left: size / 2}, size, nil
}

type stallingReader struct {
	io.ReadCloser
	ctx  context.Context
	left int64
}

func (r *stallingReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		fmt.Println(midShare)
		<-r.ctx.Done()
		return 0, r.ctx.Err()
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.ReadCloser.Read(p)
	r.left -= int64(n)
	return n, err
}

// TestCopyChild is the sharestore process of the copy subprocess tests:
// it runs Main with the arguments in SHARESTORE_COPY_CHILD (JSON), its
// source stalling in the middle of the big share, and exits with Main's
// code. It runs only when those tests start it.
func TestCopyChild(t *testing.T) {
	spec := os.Getenv("SHARESTORE_COPY_CHILD")
	if spec == "" {
		t.Skip("run by the copy subprocess tests")
	}
	var args []string
	if err := json.Unmarshal([]byte(spec), &args); err != nil {
		t.Fatal(err)
	}
	copySourceHook = func(b sharestore.Backend) sharestore.Backend { return stallingSource{b} }
	os.Exit(Main(args, os.Stdin, os.Stdout, os.Stderr))
}

// copyChild runs `sharestore copy --from disk:src --to disk:dst` in a
// subprocess, sends it sig once it is in the middle of the big share, and
// returns its exit code and stderr.
func copyChild(t *testing.T, src, dst string, sig syscall.Signal) (int, string) {
	t.Helper()
	args, _ := json.Marshal([]string{"copy", "--from", "disk:" + src, "--to", "disk:" + dst})
	cmd := exec.Command(os.Args[0], "-test.run=^TestCopyChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SHARESTORE_COPY_CHILD="+string(args))
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	signaled := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if sc.Text() == midShare && !signaled {
			cmd.Process.Signal(sig)
			signaled = true
		}
	}
	err = cmd.Wait()
	if !signaled {
		t.Fatalf("the copy never reached the middle of the big share: %v\n%s", err, errb.String())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), errb.String()
}

// resumeStore is a disk store of a few small shares and one big one.
func resumeStore(t *testing.T) (string, sharestore.ShareID) {
	t.Helper()
	src, _ := copyStore(t, 5)
	b, err := disk.Open(src, disk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	big := sharestore.ShareID{SI: sharestore.StorageIndex{0xfe, 1, 2, 3}, Shnum: 4}
	c := fixture.ImmutableV2(bytes.Repeat([]byte("0123456789abcdef"), bigShare/16))
	if err := b.Shareset(big.SI).PutRaw(context.Background(), big.Shnum, bytes.NewReader(c), int64(len(c))); err != nil {
		t.Fatal(err)
	}
	return src, big
}

// rerunCopy runs copy in process, without faults, and checks that it
// completes and that the destination then lists exactly as the source.
func rerunCopy(t *testing.T, src, dst string) {
	t.Helper()
	code, out, errOut := run(t, "copy", "--from", "disk:"+src, "--to", "disk:"+dst)
	if code != 0 {
		t.Fatalf("rerun: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	if got, want := lsJSON(t, dst), lsJSON(t, src); got != want {
		t.Fatalf("after the rerun the destination differs from the source:\n%s\nwant\n%s", got, want)
	}
}

// A copy killed with SIGKILL in the middle of a share leaves that
// share's upload in the destination's incoming/; rerunning the same copy
// completes it. (This depends on the disk backend recognising the dead
// upload of a killed process and writing past it.)
func TestCopyResumesAfterSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a subprocess")
	}
	src, big := resumeStore(t)
	dst := filepath.Join(t.TempDir(), "dst")
	code, errOut := copyChild(t, src, dst, syscall.SIGKILL)
	if code != -1 {
		t.Fatalf("the killed copy exited %d: %s", code, errOut)
	}
	if _, err := os.Stat(sharePath(dst, big)); !os.IsNotExist(err) {
		t.Fatalf("the big share is already at the destination (%v): the kill came too late", err)
	}
	rerunCopy(t, src, dst)
}

// SIGINT in the middle of a copy ends it with exit 130 and a message
// that the copy can be rerun; the rerun completes it.
func TestCopySIGINTExits130(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a subprocess")
	}
	src, _ := resumeStore(t)
	dst := filepath.Join(t.TempDir(), "dst")
	code, errOut := copyChild(t, src, dst, syscall.SIGINT)
	if code != exitInterrupted || !strings.Contains(errOut, "copy: interrupted; rerun the same copy to resume") {
		t.Fatalf("copy after SIGINT: exit %d, stderr %s; want %d and the rerun hint", code, errOut, exitInterrupted)
	}
	rerunCopy(t, src, dst)
}

// A rerun of copy completes over the leftovers a killed copy leaves in
// the destination's incoming/: an upload file under Tahoe's own name
// (incoming/PP/SI/N, what PutRaw wrote before it used per-call names) and
// a per-call temporary file (incoming/PP/SI/N.put-…).
func TestCopyResumesOverLeftovers(t *testing.T) {
	for _, tc := range []struct {
		name string
		file func(shnum int) string
	}{
		// Passes only with the disk backend's PutRaw that writes to a
		// per-call name and tells a dead leftover from a live upload;
		// before it, PutRaw refuses: "already being written".
		{"tahoe name N, needs the disk branch", func(shnum int) string { return itoa(shnum) }},
		{"per-call temporary name", func(shnum int) string { return itoa(shnum) + ".put-4f2a9c" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, big := resumeStore(t)
			dst := filepath.Join(t.TempDir(), "dst")
			b, err := disk.Open(dst, disk.Options{Create: true})
			if err != nil {
				t.Fatal(err)
			}
			b.Close()
			s := big.SI.String()
			left := filepath.Join(dst, "shares", "incoming", s[:2], s, tc.file(big.Shnum))
			if err := os.MkdirAll(filepath.Dir(left), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(left, bytes.Repeat([]byte("0123456789abcdef"), 1000), 0o644); err != nil {
				t.Fatal(err)
			}
			rerunCopy(t, src, dst)
		})
	}
}
