package plugin

import (
	"fmt"
	"strings"
)

// handshakeFailure says in one line why go-plugin's handshake failed,
// from its error: go-plugin's own text spans several lines and explains
// go-plugin, not the plugin (what the binary printed instead of the
// handshake, "Failed to read any lines from plugin's stdout", advice
// about architectures and dynamic libraries).
func handshakeFailure(err error) string {
	msg := err.Error()
	const unrecognized = "Unrecognized remote plugin message: "
	switch {
	case strings.HasPrefix(msg, unrecognized):
		first, _, _ := strings.Cut(strings.TrimPrefix(msg, unrecognized), "\n")
		if first = strings.TrimSpace(first); first == "" {
			return "not a sharestore plugin: it printed nothing and exited without the plugin handshake"
		}
		return fmt.Sprintf("not a sharestore plugin: it printed %q instead of the plugin handshake", clip(first, 80))
	case strings.Contains(msg, "plugin exited before we could connect"):
		return "it exited before completing the plugin handshake"
	}
	first, _, _ := strings.Cut(msg, "\n")
	return strings.TrimSpace(first)
}

// clip cuts s to at most n bytes, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
