// Package sharestore holds the core of the sharestore suite: the types
// that name shares (StorageIndex, Prefix, ShareInfo), the closed error
// vocabulary (Code, Error), and the Backend contract that every share
// store implements, whether it keeps Tahoe-LAFS shares on a local disk,
// in an object store, or behind a plugin process.
//
// # Optional interfaces and wrappers
//
// Beside the Backend contract, a backend may implement optional
// interfaces for what it does better than the general methods:
// PrefixScanner (a whole run of prefixes on one stream), HeaderReader
// (many headers in one batch), MetaStore (small records beside the
// shares) and LocalStore (a storage directory on the local disk).
// Callers never type-assert them: they call Scan, ReadHeaders,
// MetaStoreOf and LocalRoot, which look for them along the backend's
// Unwrap chain (Wrapper) and fall back to the general methods where
// there is a fallback. A backend that wraps another implements Unwrap
// and so keeps what it wraps. Intercept writes such a wrapper once: it
// calls a hook before every request (see Request for what one request
// is) and keeps the wrapped backend's fast paths; the crawler's rate
// limiter and the command line's share counter are hooks over it.
//
// The share container formats, the disk and object store layouts and the
// lease database tables are described in docs/formats.md in the
// repository, and the conformance scenarios in docs/scenarios.md.
//
// The package imports no backend. Backends live under backends/, the
// lease database under leasedb/, the crawlers under crawler/, and the
// contract tests every backend must pass under conformance/.
package sharestore
