package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sharestore/sharestore/internal/config"
)

func newConfigCmd(e *env) *cobra.Command {
	cmd := groupCommand(&cobra.Command{
		Use:   "config",
		Short: "Check the configuration of sharestore serve (check)",
	})
	cmd.AddCommand(newConfigCheckCmd(e))
	return cmd
}

func newConfigCheckCmd(e *env) *cobra.Command {
	var file, basedir string
	cmd := &cobra.Command{
		Use:   "check --config FILE | --tahoe-basedir DIR",
		Short: "Print the effective configuration, secrets redacted; exit 2 on any error",
		Long: `check reads a sharestore configuration file (--config FILE, TOML) or a
Tahoe-LAFS node's DIR/tahoe.cfg and the secrets under DIR/private/
(--tahoe-basedir DIR), validates every setting as serve would, and prints
the effective configuration as a TOML file of --config's schema, with each
secret named and redacted. A bad file, key or value is exit code 2 with a
message that names the file and the key. docs/configuration.md describes
the schema and the tahoe.cfg keys.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := loadSettings(file, basedir)
			if err != nil {
				return err
			}
			fmt.Fprint(e.stdout, s.Redacted())
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&file, "config", "", "read this sharestore configuration `FILE` (TOML)")
	fl.StringVar(&basedir, "tahoe-basedir", "", "read the Tahoe-LAFS node configuration DIR/tahoe.cfg and DIR/private/")
	return cmd
}

// loadSettings reads the settings from exactly one of a configuration
// file and a Tahoe base directory; any error is a usage error (exit 2).
func loadSettings(file, basedir string) (config.Settings, error) {
	var s config.Settings
	var err error
	switch {
	case file != "" && basedir != "":
		err = errors.New("--config and --tahoe-basedir: give one of them")
	case file != "":
		s, err = config.Load(file)
	case basedir != "":
		s, err = config.LoadTahoe(basedir)
	default:
		err = errors.New("config check: --config FILE or --tahoe-basedir DIR is required")
	}
	if err != nil {
		return config.Settings{}, usageErr(err)
	}
	return s, nil
}
