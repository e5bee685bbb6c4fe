package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/internal/backendurl"
)

// defaultOlderThan is clean-incoming's default age: an upload to a live
// Tahoe server can run for hours, and Tahoe empties incoming/ itself
// whenever it starts, so a file a week old is no one's upload.
const defaultOlderThan = "7d"

func newMaintenanceCmd(e *env) *cobra.Command {
	cmd := groupCommand(&cobra.Command{
		Use:   "maintenance",
		Short: "Maintenance operations on a store (clean-incoming)",
	})
	cmd.AddCommand(newCleanIncomingCmd(e))
	return cmd
}

// cleanIncomingReport is the --json output of clean-incoming.
type cleanIncomingReport struct {
	Incoming string   `json:"incoming"`
	Cutoff   string   `json:"cutoff"`
	DryRun   bool     `json:"dry-run"`
	Files    []string `json:"files"`
}

func newCleanIncomingCmd(e *env) *cobra.Command {
	var backend, olderThan string
	var force, dryRun, asJSON bool
	cmd := &cobra.Command{
		Use:   "clean-incoming --backend disk:PATH [--older-than DURATION] [--force] [--dry-run] [--json]",
		Short: "Remove leftover uploads from a disk store's shares/incoming",
		Long: `clean-incoming removes the files under PATH/shares/incoming that are older
than --older-than (default ` + defaultOlderThan + `; a Go duration such as 36h, or a
number of days such as 7d). They are uploads that never finished: a Tahoe
server or a sharestore copy that was killed while writing a share. Nothing
else is touched. --dry-run lists what would be removed and removes nothing.

While a Tahoe-LAFS server may own incoming/ its uploads live there, so the
command refuses (exit 2) when the storage directory belongs to a Tahoe
node that may be running: a twistd.pid or running.process file, in the
storage directory or its parent (the node directory), that names a live
process; or a tahoe.cfg there with a [storage] section and no such file to
tell whether the node runs. Stop the node first, or pass --force if you
know that it is stopped or does not use this directory. Tahoe itself
empties incoming/ when it starts.

Only disk stores have an incoming/ directory: an object store's uploads are
invisible until complete.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			age, err := parseAge(olderThan)
			if err != nil {
				return usageErr(err)
			}
			b, err := openDiskOnly(cmd, backend)
			if err != nil {
				return err
			}
			defer b.Close()
			if !force {
				if err := tahoeNodeRunning(b.Root()); err != nil {
					return usageErr(err)
				}
			}
			ctx := cmd.Context()
			cutoff := time.Now().Add(-age)
			rep := cleanIncomingReport{Incoming: filepath.Join(b.Root(), "shares", "incoming"), Cutoff: cutoff.UTC().Format(time.RFC3339), DryRun: dryRun}
			if dryRun {
				rep.Files, err = incomingLeftovers(rep.Incoming, cutoff)
			} else {
				rep.Files, err = b.CleanIncoming(ctx, cutoff)
			}
			if ferr := printCleanIncoming(e.stdout, rep, asJSON); err == nil {
				err = ferr
			}
			return interrupted(ctx, err, "maintenance clean-incoming", "rerun it to remove the rest")
		},
	}
	cmd.Flags().StringVar(&backend, "backend", "", "the disk store: disk:PATH (PATH is the storage directory containing shares/)")
	cmd.Flags().StringVar(&olderThan, "older-than", defaultOlderThan, "remove only files last modified longer ago than this (e.g. 36h, 7d; 0 for all)")
	cmd.Flags().BoolVar(&force, "force", false, "run even though a Tahoe node may be running on this storage directory")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "list what would be removed, remove nothing")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object: incoming, cutoff, dry-run, files")
	return cmd
}

// parseAge parses --older-than: a Go duration, or a whole number of days
// with the suffix d. Negative ages are refused.
func parseAge(s string) (time.Duration, error) {
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int64
		n, err = strconv.ParseInt(days, 10, 32)
		d = time.Duration(n) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d < 0 {
		return 0, fmt.Errorf("--older-than %q: want a duration that is not negative, such as 36h or 7d", s)
	}
	return d, nil
}

// openDiskOnly opens spec, which must name a disk store; anything else is
// a usage error.
func openDiskOnly(cmd *cobra.Command, spec string) (*disk.Backend, error) {
	what := cmd.CommandPath()
	if spec == "" {
		return nil, usageErr(fmt.Errorf("%s: --backend is required (for example --backend disk:/var/tahoe/storage)", what))
	}
	if backendurl.IsCloud(spec) {
		return nil, usageErr(fmt.Errorf("%s works on disk stores only (--backend disk:PATH): an object store has no incoming/ directory", what))
	}
	b, err := openBackend(cmd.Context(), spec, false, &pluginFlags{})
	if err != nil {
		return nil, err
	}
	d, ok := b.(*disk.Backend)
	if !ok {
		b.Close()
		return nil, usageErr(fmt.Errorf("%s works on disk stores only (--backend disk:PATH)", what))
	}
	return d, nil
}

// pidFiles are the files a running Tahoe node keeps in its node
// directory: twistd.pid (older releases, through twistd) and
// running.process (newer ones). Each starts with the node's pid.
var pidFiles = []string{"twistd.pid", "running.process"}

// tahoeNodeRunning returns an error naming the evidence when a Tahoe node
// may be running on the storage directory root: it looks in root and in
// its parent, the node directory of a storage directory in Tahoe's
// default place (NODEDIR/storage).
func tahoeNodeRunning(root string) error {
	for _, dir := range []string{filepath.Dir(root), root} {
		if err := tahoeNodeIn(dir); err != nil {
			return fmt.Errorf("%w; stop the node first, or pass --force if it is stopped or does not use %s", err, root)
		}
	}
	return nil
}

// tahoeNodeIn checks one candidate node directory.
func tahoeNodeIn(dir string) error {
	sawPidFile := false
	for _, name := range pidFiles {
		path := filepath.Join(dir, name)
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("refusing to clean incoming/: cannot read %s to tell whether a Tahoe node runs: %v", path, err)
		}
		sawPidFile = true
		fields := strings.Fields(string(b))
		pid := 0
		if len(fields) > 0 {
			pid, _ = strconv.Atoi(fields[0])
		}
		if pid <= 0 {
			return fmt.Errorf("refusing to clean incoming/: %s holds no pid (%q), so a Tahoe node may be running", path, firstLine(b))
		}
		if processAlive(pid) {
			return fmt.Errorf("refusing to clean incoming/: a Tahoe node may be running: %s names pid %d, which is alive", path, pid)
		}
	}
	if sawPidFile {
		return nil // every pid file is stale: the node is stopped
	}
	cfg := filepath.Join(dir, "tahoe.cfg")
	b, err := os.ReadFile(cfg)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("refusing to clean incoming/: cannot read %s to tell whether it configures a storage server: %v", cfg, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(line) == "[storage]" {
			return fmt.Errorf("refusing to clean incoming/: %s configures a Tahoe storage server and no pid file (%s) tells whether it is running", cfg, strings.Join(pidFiles, ", "))
		}
	}
	return nil
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	return s
}

// incomingLeftovers lists, sorted, the regular files under incoming/PP/SI/
// last modified before cutoff: what CleanIncoming would remove. Symlinks
// are neither followed nor listed.
func incomingLeftovers(incoming string, cutoff time.Time) ([]string, error) {
	var out []string
	prefixes, err := os.ReadDir(incoming)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for _, p := range prefixes {
		if !p.IsDir() {
			continue
		}
		sis, err := os.ReadDir(filepath.Join(incoming, p.Name()))
		if err != nil {
			return out, err
		}
		for _, si := range sis {
			if !si.IsDir() {
				continue
			}
			dir := filepath.Join(incoming, p.Name(), si.Name())
			files, err := os.ReadDir(dir)
			if err != nil {
				return out, err
			}
			for _, f := range files {
				fi, err := f.Info()
				if err != nil || !fi.Mode().IsRegular() || !fi.ModTime().Before(cutoff) {
					continue
				}
				out = append(out, filepath.Join(dir, f.Name()))
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// printCleanIncoming prints what clean-incoming removed (or, in a dry
// run, would remove).
func printCleanIncoming(w io.Writer, rep cleanIncomingReport, asJSON bool) error {
	if rep.Files == nil {
		rep.Files = []string{}
	}
	if asJSON {
		return json.NewEncoder(w).Encode(rep)
	}
	verb := "removed"
	if rep.DryRun {
		verb = "would remove"
	}
	for _, f := range rep.Files {
		fmt.Fprintf(w, "%s %s\n", verb, f)
	}
	_, err := fmt.Fprintf(w, "%s %d leftover uploads last modified before %s from %s\n", verb, len(rep.Files), rep.Cutoff, rep.Incoming)
	return err
}
