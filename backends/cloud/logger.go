package cloud

import "log/slog"

// SDKLogger returns the logger an adapter gives its SDK: l, or
// slog.Default() when l is nil, with an "sdk" attribute naming the SDK
// ("aws", "gcs", "azure"). Every adapter's Config has a Logger field
// with that meaning: nil is slog.Default(), as for the disk backend and
// the crawlers, so that no SDK ever writes to the terminal on its own,
// and its records (almost all at debug level) are filtered by the
// logger's level like any other.
func SDKLogger(l *slog.Logger, sdk string) *slog.Logger {
	if l == nil {
		l = slog.Default()
	}
	return l.With("sdk", sdk)
}
