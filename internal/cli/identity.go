package cli

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/crawler"
	"github.com/sharestore/sharestore/internal/backendurl"
	"github.com/sharestore/sharestore/internal/backendurl/redact"
)

// settingNames are the options and URL query parameters that change how
// a store is reached or used, never which store it is. A name that is
// not a setting (isSetting) is taken to name the store: a state
// directory refused after a change that did not need it costs a new
// --state-dir, while one accepted for another store would apply its
// lease database to the wrong shares.
var settingNames = map[string]bool{
	"read_only": true, "reserved_space": true, // the disk backend
	"region": true, "path_style": true, // S3: a bucket is named by its endpoint and name
	"auth": true, "key_file": true, "project": true, // GCS: credentials, and the project that creates a bucket
	"retry_attempts": true, "chunk_size": true, "concurrency": true, "log_level": true,
	"list_plan": true,
}

// isSetting reports whether the option or query parameter name, in any
// case, is a setting: one of settingNames, "timeout", or a name that
// ends in "_timeout" or begins with "timeout_" or "retry_".
func isSetting(name string) bool {
	n := strings.ToLower(name)
	return settingNames[n] || n == "timeout" || strings.HasSuffix(n, "_timeout") ||
		strings.HasPrefix(n, "timeout_") || strings.HasPrefix(n, "retry_")
}

// backendIdentity names the store a state directory belongs to (the
// backend file), so that a lease database is never applied to another
// store. It is made only of what names the store: a disk store's root
// directory (in process), else the URL without its setting query
// parameters (isSetting; a cloud URL also in backendurl's normal form)
// followed by the plugin options that are not settings, as
// " name=value", sorted. Secrets play no part, and redact.String is
// applied, so the identity never holds a credential. Changing read_only
// or a timeout keeps the identity; another bucket, key prefix or root
// changes it.
//
// legacy is the identity that versions of sharestore before options
// reached plugins recorded for the same store, or "" when it is id or
// the store could not have been opened then (it has options that name
// it).
func backendIdentity(b sharestore.Backend, spec string, options map[string]string) (id, legacy string) {
	if root, ok := sharestore.LocalRoot(b); ok {
		return redact.String("disk:" + root), ""
	}
	id = canonicalURL(spec)
	naming := 0
	for _, k := range slices.Sorted(maps.Keys(options)) {
		if isSetting(k) || redact.SecretKey(k) {
			continue
		}
		naming++
		id += " " + k + "=" + quoteValue(options[k])
	}
	id = redact.String(id)
	if old := redact.String(spec); naming == 0 && old != id {
		legacy = old
	}
	return id, legacy
}

// canonicalURL is spec without its setting query parameters, those that
// are left sorted. spec is left as it is unless it is a URL
// (scheme://…) without a fragment: a disk path may hold a '?'.
func canonicalURL(spec string) string {
	if backendurl.IsCloud(spec) {
		if s, err := backendurl.Parse(spec); err == nil {
			base := s.Scheme + "://" + s.Bucket
			if s.KeyPrefix != "" {
				base += "/" + s.KeyPrefix
			}
			return base + namingQuery(s.Query)
		}
	}
	if !strings.Contains(spec, "://") || strings.Contains(spec, "#") {
		return spec
	}
	base, raw, ok := strings.Cut(spec, "?")
	if !ok {
		return spec
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return spec
	}
	return base + namingQuery(q)
}

// queryEscaper escapes what would make a joined query ambiguous.
var queryEscaper = strings.NewReplacer("%", "%25", "&", "%26", "=", "%3D", " ", "%20", "#", "%23")

// namingQuery is "?k=v&…" for the parameters of q that are not
// settings, sorted, or "" when there are none.
func namingQuery(q url.Values) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(q)) {
		if isSetting(k) {
			continue
		}
		for _, v := range q[k] {
			parts = append(parts, queryEscaper.Replace(k)+"="+queryEscaper.Replace(v))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "?" + strings.Join(parts, "&")
}

// quoteValue is v, quoted when it is empty or holds anything but
// letters, digits and "_-./:@".
func quoteValue(v string) string {
	if v == "" || strings.IndexFunc(v, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_-./:@", c))
	}) >= 0 {
		return strconv.Quote(v)
	}
	return v
}

// prepareStateDir creates the state directory and checks that it belongs
// to the backend named id (see backendIdentity): a lease database
// describes one store only. A directory recorded under legacy, the same
// store's identity in an older form, is accepted and recorded under id
// from now on.
func prepareStateDir(dir, id, legacy string) error {
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return checkStateDir(dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return usageErr(fmt.Errorf("state directory %s: %w", dir, err))
	}
	idPath := filepath.Join(dir, backendIDFile)
	b, err := os.ReadFile(idPath)
	switch {
	case err == nil:
		got := strings.TrimSpace(string(b))
		if got == id {
			return nil
		}
		if legacy != "" && got == legacy {
			return crawler.WriteFileAtomic(idPath, []byte(id+"\n"))
		}
		return usageErr(fmt.Errorf("state directory %s belongs to backend %s, not %s; use another --state-dir", dir, got, id))
	case errors.Is(err, os.ErrNotExist):
		return crawler.WriteFileAtomic(idPath, []byte(id+"\n"))
	}
	return fmt.Errorf("state directory %s: %w", dir, err)
}
