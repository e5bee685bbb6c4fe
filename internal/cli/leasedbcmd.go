package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	"github.com/sharestore/sharestore/internal/config"
	"github.com/sharestore/sharestore/leasedb"
)

func newLeasedbCmd(e *env) *cobra.Command {
	cmd := groupCommand(&cobra.Command{
		Use:   "leasedb",
		Short: "Operations on a lease database (migrate)",
	})
	cmd.AddCommand(newLeasedbMigrateCmd(e))
	return cmd
}

// migrateReport is the --json output of leasedb migrate.
type migrateReport struct {
	From string             `json:"from"`
	To   string             `json:"to"`
	Rows leasedb.CopyCounts `json:"rows"`
}

func newLeasedbMigrateCmd(e *env) *cobra.Command {
	var from, to string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "migrate --from URL --to URL [--json]",
		Short: "Copy a lease database into a new one, on the same engine or another",
		Long: `migrate copies every row of the lease database --from into the lease
database --to: shares, leases, accounts, the crawlers' history and the current
cycle's prefix results. Each URL is sqlite:PATH or postgres://USER@HOST/DATABASE
(give a password in PGPASSWORD or ~/.pgpass). --to must hold no data: a new
SQLite file, or an empty PostgreSQL database, which gets the lease tables. The
copy reads --from in one snapshot and writes --to in one transaction, so --to
ends with all of it or nothing. --from is not changed, except that an old
Tahoe or sharestore SQLite file is first brought to the current schema version,
as every command that opens it does.

Stop the crawlers and servers that use --from first: what they write during the
copy is not in --to. Then point them at --to (crawl --leasedb, or crawl.leasedb
in serve's file). The change-tracking generations are not copied, so the first
accounting cycle on --to reconciles every prefix in full once.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if from == "" || to == "" {
				return usageErr(errors.New("leasedb migrate: --from and --to are both required, such as --from sqlite:sharestore-state/leasedb.sqlite --to postgres://sharestore@db/leases"))
			}
			for flag, u := range map[string]string{"--from": from, "--to": to} {
				if err := config.CheckLeaseDB(config.Keys{LeaseDB: flag}, u); err != nil {
					return usageErr(err)
				}
			}
			if from == to {
				return usageErr(fmt.Errorf("leasedb migrate: --from and --to are the same database (%s)", leasedb.RedactURL(from)))
			}
			ctx := cmd.Context()
			src, err := leasedb.OpenURL(ctx, from, leasedb.Options{})
			if err != nil {
				return err
			}
			defer src.Close()
			dst, err := leasedb.OpenURL(ctx, to, leasedb.Options{})
			if err != nil {
				return err
			}
			defer dst.Close()
			rows, err := leasedb.Copy(ctx, dst, src)
			if err != nil {
				return interrupted(ctx, err, "leasedb migrate", "nothing was written to "+leasedb.RedactURL(to))
			}
			rep := migrateReport{From: leasedb.RedactURL(from), To: leasedb.RedactURL(to), Rows: rows}
			if asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			fmt.Fprintf(e.stdout, "copied %s to %s:\n", rep.From, rep.To)
			names := make([]string, 0, len(rows))
			for n := range rows {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				fmt.Fprintf(e.stdout, "  %-24s %d rows\n", n, rows[n])
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the lease database to copy (sqlite:PATH or postgres://…)")
	cmd.Flags().StringVar(&to, "to", "", "the new lease database (sqlite:PATH or postgres://…); it must hold no data")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}
