// Package proto holds the sharestore.backend.v1 protocol definition;
// the generated Go code is in package backendv1. Run go generate here (or
// make generate) to reproduce it with the pinned generators named in
// generate.sh.
package proto

//go:generate ./generate.sh
