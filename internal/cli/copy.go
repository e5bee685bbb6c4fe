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

	"github.com/dustin/go-humanize"
	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/sharestore/sharestore"
)

func newCopyCmd(e *env) *cobra.Command {
	var from, to, prefix string
	var fromPlugin, toPlugin pluginFlags
	cmd := &cobra.Command{
		Use:   "copy --from BACKEND --to BACKEND [--prefix PP] [--from-plugin PATH] [--to-plugin PATH]",
		Short: "Copy every share's raw container from one backend to another",
		Long: `copy copies every share's container, byte for byte as stored, from one
backend to another: for example a Tahoe disk store into a bucket

  sharestore copy --from disk:/var/tahoe/storage --to s3://bucket/server1?region=eu-west-1

Each copy is verified by reading it back from the destination and comparing
SHA-256 digests. Copying can be resumed: a share already present at the
destination with the same size and SHA-256 is skipped. Nothing is ever
deleted or changed at the source. Progress goes to stderr: a bar on a
terminal, one line per prefix otherwise.

Either side can be served by a backend plugin: --from-plugin PATH (and
--from-plugin-sha256 HEX) runs the source's backend in that plugin binary,
with --from passed to it through Configure; --to-plugin does the same for
the destination. That is how a store moves to or from a third-party backend:

  sharestore copy --from disk:/var/tahoe/storage \
      --to 'vendor://…' --to-plugin /usr/lib/sharestore/sharestore-backend-vendor`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if from == "" || to == "" {
				return usageErr(errors.New("copy: --from and --to are required"))
			}
			prefixes := sharestore.Prefixes()
			if prefix != "" {
				p, err := sharestore.ParsePrefix(prefix)
				if err != nil {
					return usageErr(err)
				}
				prefixes = []sharestore.Prefix{p}
			}
			ctx := cmd.Context()
			src, err := openBackend(ctx, from, false, fromPlugin)
			if err != nil {
				return err
			}
			defer src.Close()
			dst, err := openBackend(ctx, to, true, toPlugin)
			if err != nil {
				return err
			}
			defer dst.Close()
			return runCopy(ctx, src, dst, prefixes, e.stdout, e.stderr)
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "source backend (disk:PATH, s3://…, gs://…, azblob://…)")
	cmd.Flags().StringVar(&to, "to", "", "destination backend")
	cmd.Flags().StringVar(&prefix, "prefix", "", "copy only this two-character prefix")
	fromPlugin.addFor(cmd.Flags(), "from")
	toPlugin.addFor(cmd.Flags(), "to")
	return cmd
}

type copyStats struct {
	copied, skipped int
	bytes           int64
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

func runCopy(ctx context.Context, src, dst sharestore.Backend, prefixes []sharestore.Prefix, stdout, stderr io.Writer) error {
	var st copyStats
	var bar *progressbar.ProgressBar
	if isTerminal(stderr) {
		bar = progressbar.NewOptions(len(prefixes), progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetDescription("copying"), progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
	}
	start := time.Now()
	for i, p := range prefixes {
		before := st
		if err := copyPrefix(ctx, src, dst, p, &st); err != nil {
			return err
		}
		if bar != nil {
			bar.Describe(fmt.Sprintf("copying %s: %d copied, %d skipped", p, st.copied, st.skipped))
			bar.Add(1)
		} else if st.copied != before.copied || st.skipped != before.skipped {
			fmt.Fprintf(stderr, "copy: prefix %s (%d/%d): %d copied, %d already present\n", p, i+1, len(prefixes), st.copied-before.copied, st.skipped-before.skipped)
		}
	}
	if bar != nil {
		bar.Finish()
	}
	fmt.Fprintf(stdout, "copied %d shares (%s), skipped %d already present, in %s\n", st.copied, humanize.IBytes(uint64(st.bytes)), st.skipped, time.Since(start).Round(time.Millisecond))
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

func copyPrefix(ctx context.Context, src, dst sharestore.Backend, p sharestore.Prefix, st *copyStats) error {
	infos, err := listAll(ctx, src, p)
	if err != nil || len(infos) == 0 {
		return err
	}
	existing, err := listAll(ctx, dst, p)
	if err != nil {
		return err
	}
	have := map[sharestore.ShareID]int64{}
	for _, info := range existing {
		have[info.ID()] = info.Size
	}
	for _, info := range infos {
		id := info.ID()
		if size, ok := have[id]; ok && size == info.Size {
			a, _, err := rawDigest(ctx, src, id)
			if err != nil {
				return fmt.Errorf("copy %s: read source: %w", id, err)
			}
			b, _, err := rawDigest(ctx, dst, id)
			if err != nil {
				return fmt.Errorf("copy %s: read destination: %w", id, err)
			}
			if bytes.Equal(a, b) {
				st.skipped++
				continue
			}
		}
		rc, size, err := src.Shareset(id.SI).OpenRaw(ctx, id.Shnum)
		if err != nil {
			return fmt.Errorf("copy %s: read source: %w", id, err)
		}
		h := sha256.New()
		err = dst.Shareset(id.SI).PutRaw(ctx, id.Shnum, io.TeeReader(rc, h), size)
		rc.Close()
		if err != nil {
			return fmt.Errorf("copy %s: write destination: %w", id, err)
		}
		got, n, err := rawDigest(ctx, dst, id)
		if err != nil {
			return fmt.Errorf("copy %s: verify: %w", id, err)
		}
		if n != size || !bytes.Equal(got, h.Sum(nil)) {
			return fmt.Errorf("copy %s: verify: the destination holds %d bytes with SHA-256 %x, the source %d bytes with %x", id, n, got, size, h.Sum(nil))
		}
		st.copied++
		st.bytes += size
	}
	return nil
}
