//go:build !unix

package emulators

import "errors"

// runAs is the user a cluster's programs run as; nil is this process's.
type runAs = *struct{}

// prepareDirs refuses: the test cluster runs on Unix systems only.
func prepareDirs(dir, data, sock string) (runAs, error) {
	return nil, errors.New("the PostgreSQL test cluster runs on Unix systems only")
}
