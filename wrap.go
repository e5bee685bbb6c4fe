package sharestore

// Wrapper is implemented by a Backend that wraps another (a rate
// limiter, a request counter, anything made by Intercept): Unwrap
// returns the wrapped backend, which may itself be a Wrapper. The
// backends reached from b by calling Unwrap until a backend is not a
// Wrapper are b's Unwrap chain, b first.
//
// The optional interfaces of a Backend are found along that chain, at
// the first backend that implements them: PrefixScanner by Scan,
// HeaderReader by ReadHeaders, MetaStore by MetaStoreOf and LocalStore
// by LocalRoot. So a wrapper keeps the fast paths of what it wraps
// without forwarding them by hand. The other side of that rule: a
// wrapper that changes what ListPrefix, SharesetsForPrefix or
// Shareset.Share return, or that must see every request, either
// implements PrefixScanner and HeaderReader itself (Intercept does) or
// is not a Wrapper; otherwise a scan or a batch of header reads goes
// past it to the fast path below.
type Wrapper interface {
	Unwrap() Backend
}

// walk calls visit with each backend of b's Unwrap chain in turn, b
// first, until visit returns true or the chain ends.
func walk(b Backend, visit func(Backend) bool) {
	for b != nil {
		if visit(b) {
			return
		}
		w, ok := b.(Wrapper)
		if !ok {
			return
		}
		b = w.Unwrap()
	}
}

// LocalStore is an optional interface of a Backend that keeps its shares
// in a directory of the local file system, as the disk backend does.
// Callers find it with LocalRoot, which looks through wrappers.
type LocalStore interface {
	// Root returns the absolute path of the storage directory: the
	// directory that holds shares/.
	Root() string
}

// LocalRoot returns the storage directory of the first backend in b's
// Unwrap chain that is a LocalStore, or false when none is (an object
// store, a plugin).
func LocalRoot(b Backend) (string, bool) {
	var root string
	found := false
	walk(b, func(l Backend) bool {
		if s, ok := l.(LocalStore); ok {
			root, found = s.Root(), true
		}
		return found
	})
	return root, found
}
