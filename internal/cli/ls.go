package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/share"
)

// lsRecord is one line of `sharestore ls --json`.
type lsRecord struct {
	StorageIndex string `json:"storage_index"`
	Shnum        int    `json:"shnum"`
	Type         string `json:"type"`
	Version      int    `json:"version"`
	DataLength   int64  `json:"data_length"`
	Size         int64  `json:"size"`
	UsedSpace    int64  `json:"used_space"`
	Leases       int    `json:"leases"`
	DataSHA256   string `json:"data_sha256"`
}

func newLsCmd(e *env) *cobra.Command {
	var backend, prefix string
	var asJSON bool
	var pf pluginFlags
	cmd := &cobra.Command{
		Use:   "ls --backend disk:PATH [--prefix PP] [--json]",
		Short: "List every share with its type, version, lengths, lease count and data hash",
		Long: `ls lists every share in a backend, in prefix order. Each share's container
is classified (immutable, mutable or corrupt), its legacy lease records are
counted the way Tahoe-LAFS counts them, and its data is hashed with SHA-256 as
read through the backend. With --json it prints one JSON object per line:
storage_index, shnum, type, version, data_length, size, used_space, leases,
data_sha256.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if backend == "" {
				return usageErr(errors.New("ls: --backend is required (for example --backend disk:/var/tahoe/storage)"))
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
			b, err := openBackend(ctx, backend, false, pf)
			if err != nil {
				return err
			}
			defer b.Close()
			return interrupted(ctx, runLs(ctx, b, prefixes, asJSON, e.stdout), "ls", "")
		},
	}
	cmd.Flags().StringVar(&backend, "backend", "", "backend to list: disk:PATH (PATH is the storage directory containing shares/)")
	pf.add(cmd.Flags())
	cmd.Flags().StringVar(&prefix, "prefix", "", "list only this two-character prefix")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per share")
	return cmd
}

func runLs(ctx context.Context, b sharestore.Backend, prefixes []sharestore.Prefix, asJSON bool, out io.Writer) error {
	enc := json.NewEncoder(out)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	if !asJSON {
		fmt.Fprintln(tw, "STORAGE INDEX\tSHNUM\tTYPE\tVERSION\tDATA\tSIZE\tLEASES\tSHA256")
	}
	var n, corrupt int
	var total int64
	for _, p := range prefixes {
		var infos []sharestore.ShareInfo
		err := b.ListPrefix(ctx, p, func(info sharestore.ShareInfo) error {
			infos = append(infos, info)
			return nil
		})
		if err != nil {
			return err
		}
		for _, info := range infos {
			rec, err := inspectShare(ctx, b, info)
			if err != nil {
				return err
			}
			n++
			total += rec.Size
			if rec.Type == "corrupt" {
				corrupt++
			}
			if asJSON {
				if err := enc.Encode(rec); err != nil {
					return err
				}
				continue
			}
			sum := rec.DataSHA256
			if len(sum) > 16 {
				sum = sum[:16] + "…"
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%d\t%d\t%s\n", rec.StorageIndex, rec.Shnum, rec.Type, rec.Version, rec.DataLength, rec.Size, rec.Leases, sum)
		}
	}
	if !asJSON {
		tw.Flush()
		fmt.Fprintf(out, "%d shares (%d corrupt), %s stored\n", n, corrupt, humanize.IBytes(uint64(total)))
	}
	return nil
}

// inspectShare builds the ls record of one listed share: classification
// through the backend, legacy leases from the raw container, and the data
// hash through ReadShareData.
func inspectShare(ctx context.Context, b sharestore.Backend, info sharestore.ShareInfo) (lsRecord, error) {
	rec := lsRecord{StorageIndex: info.SI.String(), Shnum: info.Shnum, Size: info.Size, UsedSpace: info.UsedSpace, Type: "corrupt"}
	ss := b.Shareset(info.SI)
	sh, err := ss.Share(ctx, info.Shnum)
	if errors.Is(err, sharestore.ErrCorrupt) {
		return rec, nil
	}
	if err != nil {
		return rec, err
	}
	leases, err := countLeases(ctx, ss, info.Shnum)
	if errors.Is(err, sharestore.ErrCorrupt) {
		return rec, nil
	}
	if err != nil {
		return rec, err
	}
	h := sha256.New()
	const step = 1 << 20
	for off := int64(0); off < sh.DataLength; off += step {
		d, err := ss.ReadShareData(ctx, info.Shnum, off, step)
		if err != nil {
			return rec, err
		}
		h.Write(d)
	}
	rec.Type = sh.Type.String()
	rec.Version = sh.Version
	rec.DataLength = sh.DataLength
	rec.Size = sh.Size
	rec.Leases = leases
	rec.DataSHA256 = hex.EncodeToString(h.Sum(nil))
	return rec, nil
}

func countLeases(ctx context.Context, ss sharestore.Shareset, shnum int) (int, error) {
	rc, size, err := ss.OpenRaw(ctx, shnum)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	ra, ok := rc.(io.ReaderAt)
	if !ok {
		buf, err := io.ReadAll(rc)
		if err != nil {
			return 0, err
		}
		ra = bytes.NewReader(buf)
	}
	head := make([]byte, min(size, share.HeaderReadSize))
	if _, err := ra.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	hdr, err := share.Classify(head, size)
	if err != nil {
		return 0, err
	}
	leases, err := share.Leases(ra, hdr)
	if err != nil {
		return 0, err
	}
	return len(leases), nil
}
