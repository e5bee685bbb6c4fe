package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/internal/units"
)

// copySourceHook, when set (by tests only), wraps the source backend of
// every copy run through the command: faults are injected on top of the
// real backend.
var copySourceHook func(sharestore.Backend) sharestore.Backend

// copyDestHook, when set (by tests only), wraps the destination backend
// of every copy run through the command, once its overlap with the
// source is checked.
var copyDestHook func(sharestore.Backend) sharestore.Backend

func newCopyCmd(e *env) *cobra.Command {
	var from, to, prefix string
	var transfers int
	var fromPlugin, toPlugin pluginFlags
	cmd := &cobra.Command{
		Use:   "copy --from BACKEND --to BACKEND [--prefix PP] [--transfers N] [--from-plugin PATH] [--to-plugin PATH]",
		Short: "Copy every share's raw container from one backend to another",
		Long: `copy copies every share's container, byte for byte as stored, from one
backend to another: for example a Tahoe disk store into a bucket

  sharestore copy --from disk:/var/tahoe/storage --to s3://bucket/server1?region=eu-west-1

Each copy is verified by reading it back from the destination and comparing
SHA-256 digests. Copying can be resumed: a share already present at the
destination with the same size and SHA-256 is skipped, so after a failure,
a kill or an interrupt (exit 130) the same command picks up where it
stopped. Nothing is ever deleted or changed at the source. Progress goes to
stderr: a bar on a terminal, one line per prefix otherwise.

--transfers N (default 8) copies up to N shares at once, each streamed
from the source to the destination, so at most N shares' data is in
memory. Progress still goes prefix by prefix, in order: a prefix is
reported once every share of it is copied, even when later prefixes'
shares are already done.

The source may be live. A share that is listed and then gone when it is
read (collected by the source's own crawler, say) is reported on stderr as
"vanished at source" and skipped; it does not fail the copy. A share whose
size changes while it is read is copied again; if it changes again it is
reported and skipped, and the copy exits 1 once every other share is done.
Rerunning copy copies it then.

Either side can be served by a backend plugin: --from-plugin PATH (and
--from-plugin-sha256 HEX) runs the source's backend in that plugin binary,
with --from passed to it through Configure; --to-plugin does the same for
the destination. That is how a store moves to or from a third-party backend:

  sharestore copy --from disk:/var/tahoe/storage \
      --to 'vendor://…' --to-plugin /usr/lib/sharestore/sharestore-backend-vendor` +
			pluginHelp("--to-plugin") + `

The plugin of --from-plugin takes them in the same way, from its own
--from-plugin-config, SHARESTORE_FROM_PLUGIN_OPTION_NAME,
SHARESTORE_FROM_PLUGIN_SECRET_NAME and --from-plugin-option.

` + backendHelp,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if from == "" || to == "" {
				return usageErr(errors.New("copy: --from and --to are required"))
			}
			if transfers < 1 {
				return usageErr(fmt.Errorf("copy: --transfers must be at least 1, not %d", transfers))
			}
			prefixes := sharestore.Prefixes()
			if prefix != "" {
				p, err := sharestore.ParsePrefix(prefix)
				if err != nil {
					return usageErr(err)
				}
				prefixes = []sharestore.Prefix{p}
			}
			// Both sides' flags are checked before either side opens.
			for _, pf := range []*pluginFlags{&fromPlugin, &toPlugin} {
				if err := pf.validate(); err != nil {
					return err
				}
			}
			ctx := cmd.Context()
			src, err := openBackend(ctx, from, false, &fromPlugin)
			if err != nil {
				return err
			}
			defer src.Close()
			if copySourceHook != nil {
				src = copySourceHook(src)
			}
			if fromPlugin.path == "" && toPlugin.path == "" {
				if err := checkDiskOverlap(from, to); err != nil {
					return err
				}
			}
			dst, err := openBackend(ctx, to, true, &toPlugin)
			if err != nil {
				return err
			}
			defer dst.Close()
			if err := checkCopyOverlap(src, dst, copyIdentity(src, from, &fromPlugin), copyIdentity(dst, to, &toPlugin)); err != nil {
				return err
			}
			if copyDestHook != nil {
				dst = copyDestHook(dst)
			}
			err = runCopy(ctx, src, dst, prefixes, transfers, e.stdout, e.stderr)
			return interrupted(ctx, err, "copy", "rerun the same copy to resume: shares already at the destination are verified and skipped")
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "source backend (disk:PATH, s3://…, gs://…, azblob://…)")
	cmd.Flags().StringVar(&to, "to", "", "destination backend")
	cmd.Flags().StringVar(&prefix, "prefix", "", "copy only this two-character prefix")
	cmd.Flags().IntVar(&transfers, "transfers", defaultTransfers, "number of shares copied at once")
	fromPlugin.addFor(cmd.Flags(), "from", e.stderr)
	toPlugin.addFor(cmd.Flags(), "to", e.stderr)
	return cmd
}

// copyStats counts a copy run's shares by outcome.
type copyStats struct {
	copied, skipped int
	vanished        int // listed at the source, then gone
	unstable        int // changed at the source on both attempts
	bytes           int64
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// runCopy copies every share under prefixes from src to dst, with at
// most transfers shares in flight at once, reporting progress and
// skipped shares on stderr and the totals on stdout. Shares that vanish
// at the source are not an error; shares that kept changing at the
// source fail the run (exit 1) after every other share is copied.
func runCopy(ctx context.Context, src, dst sharestore.Backend, prefixes []sharestore.Prefix, transfers int, stdout, stderr io.Writer) error {
	stderr = &lockedWriter{w: stderr} // the transfers write to it at once
	pr := newCopyProgress(prefixes, stderr)
	start := time.Now()
	err := copyAll(ctx, src, dst, prefixes, transfers, pr, stderr)
	st := pr.done()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "copied %d shares (%s), skipped %d already present, in %s\n", st.copied, units.Bytes(st.bytes), st.skipped, time.Since(start).Round(time.Millisecond))
	if st.vanished > 0 {
		fmt.Fprintf(stdout, "%d shares vanished at the source during the copy (listed, then gone) and were skipped\n", st.vanished)
	}
	if st.unstable > 0 {
		return fmt.Errorf("copy: %d shares changed at the source while being copied, twice each, and were not copied; rerun the same copy to copy them", st.unstable)
	}
	return nil
}

func listAll(ctx context.Context, b sharestore.Backend, p sharestore.Prefix) ([]sharestore.ShareInfo, error) {
	var out []sharestore.ShareInfo
	err := b.ListPrefix(ctx, p, func(info sharestore.ShareInfo) error {
		out = append(out, info)
		return nil
	})
	return out, err
}

// rawDigest returns the SHA-256 and length of a share's stored container.
func rawDigest(ctx context.Context, b sharestore.Backend, id sharestore.ShareID) ([]byte, int64, error) {
	rc, _, err := b.Shareset(id.SI).OpenRaw(ctx, id.Shnum)
	if err != nil {
		return nil, 0, err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return nil, 0, err
	}
	return h.Sum(nil), n, nil
}

// copyOutcome is what became of one listed source share.
type copyOutcome int

const (
	copiedShare   copyOutcome = iota // written to the destination and verified
	skippedShare                     // already at the destination, identical
	vanishedShare                    // listed at the source, then not found there
	changedShare                     // its size changed at the source while it was read
)

// copyShare copies one listed share, trying once more when the share
// changes at the source while it is read. candidate says the destination
// holds a share of the listed size, which is skipped if its bytes match.
// It returns the outcome and, for a copied share, its size; an error is
// fatal to the whole copy.
func copyShare(ctx context.Context, src, dst sharestore.Backend, info sharestore.ShareInfo, candidate bool, stderr io.Writer) (copyOutcome, int64, error) {
	id := info.ID()
	if candidate {
		same, err := sameRaw(ctx, src, dst, id)
		if errors.Is(err, sharestore.ErrNotFound) {
			return vanishedShare, 0, nil
		}
		if err != nil {
			return 0, 0, err
		}
		if same {
			return skippedShare, 0, nil
		}
	}
	out, n, err := copyRaw(ctx, src, dst, id)
	if err == nil && out == changedShare {
		fmt.Fprintf(stderr, "copy: changed at source while being read: %s shnum %d; copying it again\n", id.SI, id.Shnum)
		out, n, err = copyRaw(ctx, src, dst, id)
	}
	return out, n, err
}

// sameRaw reports whether src and dst hold the same container for id. A
// share missing at the source is ErrNotFound.
func sameRaw(ctx context.Context, src, dst sharestore.Backend, id sharestore.ShareID) (bool, error) {
	a, _, err := rawDigest(ctx, src, id)
	if err != nil {
		return false, fmt.Errorf("copy %s: read source: %w", id, err)
	}
	b, _, err := rawDigest(ctx, dst, id)
	if errors.Is(err, sharestore.ErrNotFound) {
		return false, nil // gone at the destination since it was listed: copy it
	}
	if err != nil {
		return false, fmt.Errorf("copy %s: read destination: %w", id, err)
	}
	return bytes.Equal(a, b), nil
}

// copyRaw streams one share's container from src into dst and verifies
// the copy by reading it back. A share not found at the source, or not
// found part way through, is vanishedShare; one whose bytes do not match
// the size the source gave when it was opened is changedShare. Either way
// PutRaw has failed and nothing was stored.
func copyRaw(ctx context.Context, src, dst sharestore.Backend, id sharestore.ShareID) (copyOutcome, int64, error) {
	rc, size, err := src.Shareset(id.SI).OpenRaw(ctx, id.Shnum)
	if errors.Is(err, sharestore.ErrNotFound) {
		return vanishedShare, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("copy %s: read source: %w", id, err)
	}
	sr := &sourceReader{r: rc, size: size}
	h := sha256.New()
	err = dst.Shareset(id.SI).PutRaw(ctx, id.Shnum, io.TeeReader(sr, h), size)
	rc.Close()
	switch {
	case errors.Is(sr.err, errSourceChanged):
		return changedShare, 0, nil
	case errors.Is(sr.err, sharestore.ErrNotFound):
		return vanishedShare, 0, nil
	case sr.err != nil:
		return 0, 0, fmt.Errorf("copy %s: read source: %w", id, sr.err)
	case err != nil:
		return 0, 0, fmt.Errorf("copy %s: write destination: %w", id, err)
	}
	got, n, err := rawDigest(ctx, dst, id)
	if err != nil {
		return 0, 0, fmt.Errorf("copy %s: verify: %w", id, err)
	}
	if n != size || !bytes.Equal(got, h.Sum(nil)) {
		return 0, 0, fmt.Errorf("copy %s: verify: the destination holds %d bytes with SHA-256 %x, the source %d bytes with %x", id, n, got, size, h.Sum(nil))
	}
	return copiedShare, size, nil
}

// errSourceChanged is a source share that ended before, or went on past,
// the size its backend gave when it was opened.
var errSourceChanged = errors.New("the share changed at the source while it was read")

// sourceReader reads a source share of a known size. It yields exactly
// size bytes and then io.EOF, or fails with errSourceChanged when the
// stream ends early or holds more; it records the first failure of the
// source itself, so that a failed PutRaw can be blamed on the right end.
type sourceReader struct {
	r    io.Reader
	size int64
	n    int64
	err  error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.n == s.size {
		var one [1]byte
		if m, _ := io.ReadFull(s.r, one[:]); m > 0 {
			s.err = errSourceChanged
			return 0, s.err
		}
		return 0, io.EOF
	}
	if int64(len(p)) > s.size-s.n {
		p = p[:s.size-s.n]
	}
	m, err := s.r.Read(p)
	s.n += int64(m)
	switch {
	case errors.Is(err, io.EOF) && s.n < s.size:
		s.err = errSourceChanged
	case err != nil && !errors.Is(err, io.EOF):
		s.err = err
	}
	if s.err != nil {
		return m, s.err
	}
	return m, nil
}

// copyIdentity is backendIdentity of one side of a copy, with the options
// of its plugin flags (resolved when it was opened).
func copyIdentity(b sharestore.Backend, spec string, pf *pluginFlags) string {
	var options map[string]string
	if pf.path != "" {
		if set, err := pf.settings(); err == nil {
			options = set.options
		}
	}
	id, _ := backendIdentity(b, spec, options)
	return id
}
