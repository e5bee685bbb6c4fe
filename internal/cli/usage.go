package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// noArgs is the Args check of a command that takes none: an argument is
// bad usage (exit 2), named, and for a command with subcommands, an
// unknown command with the commands it may have meant.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.HasSubCommands() {
		return unknownCommand(cmd, args[0])
	}
	return usageErr(fmt.Errorf("%s takes no arguments, got %q (flags start with --; see '%s --help')", cmd.CommandPath(), strings.Join(args, " "), cmd.CommandPath()))
}

// unknownCommand is the usage error for name, which is not a subcommand of
// cmd, with the suggestions cobra makes for it.
func unknownCommand(cmd *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q for %q", name, cmd.CommandPath())
	if s := cmd.SuggestionsFor(name); len(s) > 0 {
		msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(s, ", "))
	}
	return usageErr(fmt.Errorf("%s; see '%s --help'", msg, cmd.CommandPath()))
}

// groupCommand makes cmd, which only holds subcommands, refuse an unknown
// subcommand as bad usage (exit 2) and print its help when given none.
// The root command unsets Args again: findCommand checks it, before its
// flags are parsed.
func groupCommand(cmd *cobra.Command) *cobra.Command {
	cmd.Args = noArgs
	cmd.RunE = func(c *cobra.Command, args []string) error {
		return c.Help()
	}
	return cmd
}

// findCommand checks, before any flag is parsed, that args name one of
// root's commands, so that "sharestore lss --once" is an unknown command
// (exit 2) rather than an unknown flag of the root.
func findCommand(root *cobra.Command, args []string) error {
	_, _, err := root.Find(args)
	if err == nil {
		return nil
	}
	var name string
	if _, e := fmt.Sscanf(err.Error(), "unknown command %q", &name); e == nil {
		return unknownCommand(root, name)
	}
	return usageErr(err)
}
