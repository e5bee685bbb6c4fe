package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"text/tabwriter"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/internal/config"
	"github.com/sharestore/sharestore/internal/units"
	"github.com/sharestore/sharestore/leasedb"
	"github.com/sharestore/sharestore/share"
)

// lsRecord is one line of `sharestore ls --json`. Sizes are bytes.
type lsRecord struct {
	StorageIndex string `json:"storage-index"`
	Shnum        int    `json:"shnum"`
	Type         string `json:"type"`
	Version      int    `json:"version"`
	DataLength   int64  `json:"data-length"`
	Size         int64  `json:"size"`
	UsedSpace    int64  `json:"used-space"`
	// ContainerLeases counts the lease records inside the container, as
	// Tahoe-LAFS reports them.
	ContainerLeases int `json:"container-leases"`
	// LeasedbLeases counts the share's leases in the lease database of
	// --state-dir; absent without it.
	LeasedbLeases *int `json:"leasedb-leases,omitempty"`
	// DataSHA256 is empty when the share was not hashed: its data is
	// larger than --max-hash-size, or it is corrupt.
	DataSHA256 string `json:"data-sha256"`
	// CorruptReason says why a corrupt share is corrupt; absent otherwise.
	CorruptReason string `json:"corrupt-reason,omitempty"`
}

// defaultMaxHashSize is ls's default --max-hash-size.
const defaultMaxHashSize = "1GiB"

func newLsCmd(e *env) *cobra.Command {
	var backend, prefix, maxHash, stateDir, leasedbFlag string
	var asJSON bool
	var pf pluginFlags
	cmd := &cobra.Command{
		Use:   "ls --backend disk:PATH [--prefix PP] [--json] [--max-hash-size SIZE]",
		Short: "List every share with its type, version, lengths, lease count and data hash",
		Long: `ls lists every share in a backend, in prefix order. Each share's container
is classified (immutable, mutable or corrupt), its legacy lease records are
counted the way Tahoe-LAFS counts them, and its data is hashed with SHA-256 as
read through the backend, streaming. Shares with more than --max-hash-size
bytes of data (default ` + defaultMaxHashSize + `) are listed without their hash ("-" in the
table, "" in JSON, and a count at the end), so that a huge or sparse share
does not stall the listing; raise the limit to hash them. With --json it
prints one JSON object per line: storage-index, shnum, type, version,
data-length, size, used-space (bytes), container-leases, data-sha256, and
corrupt-reason for a corrupt share. The text table gives sizes in IEC units
(KiB, MiB) and the JSON in bytes. Corrupt shares are listed again at the
end, each with the reason.

The LEASES column counts the lease records inside each share's container,
as Tahoe-LAFS reports them. A share a crawl has seen also has leases in the
crawl's lease database, which the container does not show: the sample
store's shares have none in their containers and one each in the lease
database. With --state-dir DIR (the crawl's), ls adds a LEASEDB column (and
leasedb-leases in JSON) with the lease database's count; the state
directory must belong to this backend, and is only read.

` + backendHelp + pluginHelp("--plugin"),
		Args: noArgs,
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
			limit, err := humanize.ParseBytes(maxHash)
			if err != nil || limit > math.MaxInt64 {
				return usageErr(fmt.Errorf("ls: --max-hash-size %q: want a size such as 1GiB or 500MB", maxHash))
			}
			if leasedbFlag != "" && stateDir == "" {
				return usageErr(errors.New("--leasedb needs --state-dir: the state directory says which backend the lease database is for"))
			}
			if err := config.CheckLeaseDB(config.FlagKeys, leasedbFlag); err != nil {
				return usageErr(err)
			}
			ctx := cmd.Context()
			b, err := openBackend(ctx, backend, false, &pf)
			if err != nil {
				return err
			}
			defer b.Close()
			opts := lsOptions{json: asJSON, maxHash: int64(limit)}
			if stateDir != "" {
				db, err := openLsLeasedb(ctx, stateDir, leasedbFlag, b, backend, &pf)
				if err != nil {
					return err
				}
				defer db.Close()
				opts.leasedb = db
			}
			return interrupted(ctx, runLs(ctx, b, prefixes, opts, e.stdout), "ls", "")
		},
	}
	cmd.Flags().StringVar(&backend, "backend", "", "backend to list (disk:PATH, s3://…, gs://…, azblob://…; see above)")
	cmd.Flags().StringVar(&stateDir, "state-dir", "", "also show each share's leases in this crawl state directory's lease database (read only)")
	cmd.Flags().StringVar(&leasedbFlag, "leasedb", "", "with --state-dir: the crawl's lease database, when it is not the state directory's SQLite file (sqlite:PATH or postgres://…)")
	pf.add(cmd.Flags(), e.stderr)
	cmd.Flags().StringVar(&prefix, "prefix", "", "list only this two-character prefix")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per share")
	cmd.Flags().StringVar(&maxHash, "max-hash-size", defaultMaxHashSize, "hash the data of shares up to this size only (e.g. 1GiB, 2TiB); larger ones are listed without a hash")
	return cmd
}

// lsOptions are ls's output form and hashing bound.
type lsOptions struct {
	json    bool
	maxHash int64       // shares with more data bytes are not hashed
	leasedb *leasedb.DB // with --state-dir: its lease database
}

func runLs(ctx context.Context, b sharestore.Backend, prefixes []sharestore.Prefix, opts lsOptions, out io.Writer) error {
	asJSON := opts.json
	enc := json.NewEncoder(out)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	if !asJSON {
		header := "STORAGE INDEX\tSHNUM\tTYPE\tVERSION\tDATA\tSIZE\tLEASES"
		if opts.leasedb != nil {
			header += "\tLEASEDB"
		}
		fmt.Fprintln(tw, header+"\tSHA256")
	}
	var n, unhashed int
	var corrupt []lsRecord
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
		dbLeases, err := leasedbCounts(ctx, opts.leasedb, p)
		if err != nil {
			return err
		}
		for _, info := range infos {
			rec, hashed, err := inspectShare(ctx, b, info, opts.maxHash)
			if err != nil {
				return err
			}
			if dbLeases != nil {
				c := dbLeases[info.ID()]
				rec.LeasedbLeases = &c
			}
			if !hashed {
				unhashed++
			}
			n++
			total += rec.Size
			if rec.CorruptReason != "" {
				corrupt = append(corrupt, rec)
			}
			if asJSON {
				if err := enc.Encode(rec); err != nil {
					return err
				}
				continue
			}
			printLsRow(tw, rec, hashed)
		}
	}
	if asJSON {
		return nil
	}
	tw.Flush()
	fmt.Fprintf(out, "%d shares (%d corrupt), %s stored\n", n, len(corrupt), units.Bytes(total))
	fmt.Fprintln(out, "LEASES: lease records inside each container, as Tahoe reports them"+leasedbNote(opts.leasedb))
	if unhashed > 0 {
		fmt.Fprintf(out, "%d shares not hashed: more than --max-hash-size %s of data\n", unhashed, units.Bytes(opts.maxHash))
	}
	for _, c := range corrupt {
		fmt.Fprintf(out, "corrupt: SI %s shnum %d: %s\n", c.StorageIndex, c.Shnum, c.CorruptReason)
	}
	return nil
}

// leasedbNote ends the LEASES line: where the lease database's leases are,
// or how to see them.
func leasedbNote(db *leasedb.DB) string {
	if db != nil {
		return "; LEASEDB: leases in the lease database of --state-dir"
	}
	return "; a crawl's lease database holds others (see them with --state-dir)"
}

// printLsRow writes rec as a row of ls's table.
func printLsRow(tw io.Writer, rec lsRecord, hashed bool) {
	sum := rec.DataSHA256
	switch {
	case !hashed:
		sum = "-"
	case len(sum) > 16:
		sum = sum[:16] + "…"
	}
	leases := strconv.Itoa(rec.ContainerLeases)
	if rec.LeasedbLeases != nil {
		leases += "\t" + strconv.Itoa(*rec.LeasedbLeases)
	}
	fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\t%s\t%s\t%s\n", rec.StorageIndex, rec.Shnum, rec.Type, rec.Version,
		units.Bytes(rec.DataLength), units.Bytes(rec.Size), leases, sum)
}

// inspectShare builds the ls record of one listed share: classification
// through the backend, legacy leases from the raw container, and the data
// hash through ReadShareData, streamed a MiB at a time. A share with more
// than maxHash data bytes is not hashed: hashed is false for it (and only
// for it; a corrupt share has no data to hash).
func inspectShare(ctx context.Context, b sharestore.Backend, info sharestore.ShareInfo, maxHash int64) (rec lsRecord, hashed bool, err error) {
	rec = lsRecord{StorageIndex: info.SI.String(), Shnum: info.Shnum, Size: info.Size, UsedSpace: info.UsedSpace, Type: "corrupt"}
	ss := b.Shareset(info.SI)
	sh, err := ss.Share(ctx, info.Shnum)
	if errors.Is(err, sharestore.ErrCorrupt) {
		rec.CorruptReason = corruptReason(info.ID(), err)
		return rec, true, nil
	}
	if err != nil {
		return rec, false, err
	}
	leases, err := countLeases(ctx, ss, info.Shnum)
	if errors.Is(err, sharestore.ErrCorrupt) {
		rec.CorruptReason = corruptReason(info.ID(), err)
		return rec, true, nil
	}
	if err != nil {
		return rec, false, err
	}
	rec.Type = sh.Type.String()
	rec.Version = sh.Version
	rec.DataLength = sh.DataLength
	rec.Size = sh.Size
	rec.ContainerLeases = leases
	if sh.DataLength > maxHash {
		return rec, false, nil
	}
	sum, err := hashShareData(ctx, ss, info.Shnum, sh.DataLength)
	if err != nil {
		return rec, false, err
	}
	rec.DataSHA256 = sum
	return rec, true, nil
}

// hashShareData returns the hex SHA-256 of a share's length data bytes,
// read a MiB at a time.
func hashShareData(ctx context.Context, ss sharestore.Shareset, shnum int, length int64) (string, error) {
	h := sha256.New()
	const step = 1 << 20
	for off := int64(0); off < length; off += step {
		d, err := ss.ReadShareData(ctx, shnum, off, step)
		if err != nil {
			return "", err
		}
		h.Write(d)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func countLeases(ctx context.Context, ss sharestore.Shareset, shnum int) (int, error) {
	rc, size, err := ss.OpenRaw(ctx, shnum)
	if err != nil {
		return 0, err
	}
	ra, ok := rc.(io.ReaderAt)
	if !ok {
		fr := &forwardReaderAt{open: func() (io.ReadCloser, error) {
			rc, _, err := ss.OpenRaw(ctx, shnum)
			return rc, err
		}, rc: rc}
		rc, ra = fr, fr
	}
	defer rc.Close()
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

// forwardReaderAt is an io.ReaderAt over a stream that cannot seek (a
// cloud or plugin share's raw reader): it discards forward to an offset,
// and reopens the stream to go back. It holds no more than the caller's
// buffer, whatever the share's size.
type forwardReaderAt struct {
	open func() (io.ReadCloser, error)
	rc   io.ReadCloser
	pos  int64
}

func (f *forwardReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < f.pos {
		rc, err := f.open()
		if err != nil {
			return 0, err
		}
		f.rc.Close()
		f.rc, f.pos = rc, 0
	}
	skipped, err := io.CopyN(io.Discard, f.rc, off-f.pos)
	f.pos += skipped
	if err != nil {
		return 0, err
	}
	n, err := io.ReadFull(f.rc, p)
	f.pos += int64(n)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	return n, err
}

func (f *forwardReaderAt) Read(p []byte) (int, error) {
	n, err := f.rc.Read(p)
	f.pos += int64(n)
	return n, err
}

func (f *forwardReaderAt) Close() error { return f.rc.Close() }
