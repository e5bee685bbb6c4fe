//go:build !unix

package plugin

import (
	"os"
	"os/exec"
)

// ownGroup does nothing where there are no process groups.
func ownGroup(*exec.Cmd) {}

// killGroup kills the plugin process itself where there are no process
// groups.
func killGroup(p *os.Process, _ int) { _ = p.Kill() }
