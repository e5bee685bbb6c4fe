// Command sharestore is the operator's tool for sharestore share stores:
// listing shares, crawling (lease accounting and garbage collection), status,
// copying between backends and conformance runs. Run "sharestore help".
package main

import (
	"os"

	"github.com/sharestore/sharestore/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
