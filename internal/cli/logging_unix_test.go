//go:build unix

package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/sharestore/sharestore/leasedb"
)

// --log-level: at the default level (info) a crawl that deletes logs
// each deletion at info and the disk backend's warning (a symbolic link
// skipped); --log-level warn drops the info lines and keeps the warning;
// error drops both.
func TestLogLevelFilters(t *testing.T) {
	expire := func(level string) string {
		root, _, _ := storeWithEscape(t)
		state := t.TempDir()
		crawlJSON(t, "--backend", "disk:"+root, "--state-dir", state)
		if n := backdateLeases(t, state, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)); n == 0 {
			t.Fatal("no leases recorded")
		}
		args := []string{"--backend", "disk:" + root, "--state-dir", state, "--expire-mode", leasedb.ModeCutoffDate,
			"--expire-cutoff-date", "2025-01-01", "--max-delete-percent", "100"}
		if level != "" {
			args = append(args, "--log-level", level)
		}
		_, errOut := crawlJSON(t, args...)
		return errOut
	}
	if got := expire(""); !strings.Contains(got, "level=INFO") || !strings.Contains(got, "level=WARN") {
		t.Errorf("at the default level: want info and warn records; stderr:\n%s", got)
	}
	if got := expire("warn"); strings.Contains(got, "level=INFO") || !strings.Contains(got, "level=WARN") {
		t.Errorf("--log-level warn: want no info record and the warning; stderr:\n%s", got)
	}
	if got := expire("error"); strings.Contains(got, "level=INFO") || strings.Contains(got, "level=WARN") {
		t.Errorf("--log-level error: want neither; stderr:\n%s", got)
	}
}
