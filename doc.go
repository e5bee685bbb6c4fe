// Package sharestore holds the core of the sharestore suite: the types
// that name shares (StorageIndex, Prefix, ShareInfo), the closed error
// vocabulary (Code, Error), and the Backend contract that every share
// store implements, whether it keeps Tahoe-LAFS shares on a local disk,
// in an object store, or behind a plugin process.
//
// The package imports no backend. Backends live under backends/, the
// lease database under leasedb/, the crawlers under crawler/, and the
// contract tests every backend must pass under conformance/.
package sharestore
