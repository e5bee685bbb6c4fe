package cli

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// buildInfo reads what the Go toolchain recorded in the binary; tests
// replace it.
var buildInfo = debug.ReadBuildInfo

// versionText is what "sharestore version" and "sharestore --version"
// print: the module version, the VCS revision (with "+dirty" for a build
// from a modified tree) and time, and the Go version and platform.
// A value the build did not record is "unknown": "go run" and "go build"
// in a checkout record the revision; a module version is recorded by "go
// install module@version" and is "(devel)" for a checkout.
func versionText() string {
	version, revision, when := "unknown", "unknown", ""
	goVersion := runtime.Version()
	if bi, ok := buildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
		dirty := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if dirty && revision != "unknown" {
			revision += "+dirty"
		}
	}
	if when != "" {
		revision += " (" + when + ")"
	}
	return fmt.Sprintf("sharestore %s\nrevision: %s\ngo: %s %s/%s\n", version, revision, goVersion, runtime.GOOS, runtime.GOARCH)
}

func newVersionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the module version, the VCS revision and the Go version",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := io.WriteString(e.stdout, versionText())
			return err
		},
	}
}
