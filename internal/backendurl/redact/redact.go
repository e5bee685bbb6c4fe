// Package redact removes credentials from text before it is printed,
// logged or stored: backend URLs, error messages that quote them, and the
// lines a plugin writes to its stderr. It uses only the standard library,
// so that the plugin host can use it without pulling in the cloud SDKs.
package redact

import (
	"io"
	"strings"
)

// Mark replaces every credential String removes.
const Mark = "REDACTED"

// String returns s with every credential it recognises replaced by Mark.
// s need not be a valid URL: String works on the text, so that a URL that
// does not parse, or a message that quotes one, is scrubbed too. It
// removes
//
//   - the userinfo of every "scheme://userinfo@host" in s (the user name
//     too: for S3 it is the access key ID), up to the last '@' before the
//     query, a space or a quote, and the authority of "scheme://a:b"
//     where b is not a port (a user:password whose '@' was forgotten);
//   - a bare "user:password@host" word, such as a URL typed without its
//     scheme ("disk:/a@b", whose part after the colon starts with '/', is
//     a path and is kept);
//   - the value of every key=value pair, and of every JSON "key": "value"
//     pair, whose key names a credential (see SecretKey): query
//     parameters, the fields of an Azure connection string, the
//     private_key of a service-account file.
//
// Text without credentials comes back byte for byte, so String can be
// applied to identities that must stay stable, and applying it twice
// gives the same result as once.
func String(s string) string {
	return pairs(bareUserinfo(userinfo(s)))
}

// isDelim reports whether c ends a word: where a URL quoted in a message
// stops.
func isDelim(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '"', '\'', '`', '<', '>':
		return true
	}
	return false
}

// userinfo replaces the userinfo of every "://userinfo@" in s by Mark.
func userinfo(s string) string {
	var b strings.Builder
	rest := s
	for {
		i := strings.Index(rest, "://")
		if i < 0 {
			break
		}
		start := i + 3
		b.WriteString(rest[:start])
		rest = rest[start:]
		end := 0
		for end < len(rest) && !isDelim(rest[end]) && rest[end] != '?' && rest[end] != '#' {
			end++
		}
		// An empty authority (file:///x) has no userinfo.
		if strings.HasPrefix(rest, "/") {
			continue
		}
		if at := strings.LastIndexByte(rest[:end], '@'); at >= 0 {
			b.WriteString(Mark)
			rest = rest[at:]
		} else if h := hostEnd(rest[:end]); badPort(rest[:h]) {
			// user:password with the '@' forgotten: not a host:port.
			b.WriteString(Mark)
			rest = rest[h:]
		}
	}
	b.WriteString(rest)
	return b.String()
}

// hostEnd is the end of the host[:port] that starts authority.
func hostEnd(authority string) int {
	if i := strings.IndexByte(authority, '/'); i >= 0 {
		return i
	}
	return len(authority)
}

// badPort reports whether hostport has a ':' followed by something other
// than a port number (an IPv6 literal in brackets is a host).
func badPort(hostport string) bool {
	if strings.HasPrefix(hostport, "[") {
		return false
	}
	c := strings.IndexByte(hostport, ':')
	if c < 0 {
		return false
	}
	return strings.Trim(hostport[c+1:], "0123456789") != ""
}

// bareUserinfo replaces "user:password" in every word of s of the form
// "user:password@host" that has no "://".
func bareUserinfo(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		if isDelim(s[0]) {
			b.WriteByte(s[0])
			s = s[1:]
			continue
		}
		end := 0
		for end < len(s) && !isDelim(s[end]) {
			end++
		}
		b.WriteString(bareWord(s[:end]))
		s = s[end:]
	}
	return b.String()
}

func bareWord(w string) string {
	if strings.Contains(w, "://") {
		return w
	}
	at := strings.LastIndexByte(w, '@')
	if at < 0 {
		return w
	}
	if w[:at] == Mark {
		return w
	}
	// A colon followed by something other than '/' (disk:/a@b is a
	// path) marks user:password.
	for c := 0; c+1 < at; c++ {
		if w[c] == ':' && w[c+1] != '/' {
			return Mark + w[at:]
		}
	}
	return w
}

func isKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
}

// pairs replaces the value of every key=value and "key": "value" pair of
// s whose key names a credential.
func pairs(s string) string {
	var b strings.Builder
	i := 0
	for i < len(s) {
		if !isKeyChar(s[i]) || i > 0 && isKeyChar(s[i-1]) {
			b.WriteByte(s[i])
			i++
			continue
		}
		k := i
		for k < len(s) && isKeyChar(s[k]) {
			k++
		}
		key := s[i:k]
		v, ok := valueStart(s, i, k)
		if !ok || !SecretKey(key) {
			b.WriteString(s[i:k])
			i = k
			continue
		}
		quoted := v < len(s) && (s[v] == '"' || s[v] == '\'')
		if quoted {
			v++ // keep the opening quote
		}
		b.WriteString(s[i:v])
		b.WriteString(Mark)
		i = valueEnd(s, v, quoted)
	}
	return b.String()
}

// valueStart returns where the value of the key s[i:k] starts: after '='
// (spaces allowed around it), or, for a key in double quotes, after the
// closing quote, ':' and spaces. A quoted value starts at its quote.
func valueStart(s string, i, k int) (int, bool) {
	quoted := i > 0 && s[i-1] == '"' && k < len(s) && s[k] == '"'
	j := k
	if quoted {
		j++
	}
	for j < len(s) && s[j] == ' ' {
		j++
	}
	if j >= len(s) || s[j] != '=' && !(quoted && s[j] == ':') {
		return 0, false
	}
	j++
	for j < len(s) && s[j] == ' ' {
		j++
	}
	return j, true
}

// valueEnd returns the end of the value starting at v: for a quoted
// value (whose opening quote is s[v-1]), its closing quote; else the
// first '&', ';', ',' or word delimiter.
func valueEnd(s string, v int, quoted bool) int {
	if quoted {
		q := s[v-1]
		j := v
		for j < len(s) && s[j] != q {
			if s[j] == '\\' {
				j++
			}
			j++
		}
		return min(j, len(s))
	}
	j := v
	for j < len(s) && !isDelim(s[j]) && s[j] != '&' && s[j] != ';' && s[j] != ',' {
		j++
	}
	return j
}

// sasKeys are the query parameters of an Azure shared access signature.
var sasKeys = map[string]bool{
	"sig": true, "se": true, "sv": true, "st": true, "sp": true, "spr": true, "srt": true, "ss": true, "sr": true,
	"skoid": true, "sktid": true, "skt": true, "ske": true, "sks": true, "skv": true, "sdd": true, "sip": true,
}

// secretWords are the parts of a key that name a credential.
var secretWords = []string{"secret", "password", "passwd", "token", "signature", "credential", "authorization", "sharedaccess", "access_key", "accesskey", "apikey", "api_key"}

// SecretKey reports whether a query parameter, connection-string field or
// JSON field named key holds a credential: a SAS parameter (sig, se, sv,
// ...), pass, pwd, any key ending in "key" (key, AccountKey, private_key,
// AZURE_STORAGE_KEY, but not key_file), any key containing secret,
// password, token, signature, credential or an access key, and every
// X-Amz-* and X-Goog-* parameter. Case does not matter.
func SecretKey(key string) bool {
	k := strings.ToLower(key)
	if sasKeys[k] || k == "pass" || k == "pwd" || strings.HasSuffix(k, "key") ||
		strings.HasPrefix(k, "x-amz-") || strings.HasPrefix(k, "x-goog-") {
		return true
	}
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// Writer returns a writer that passes every Write to w through String.
// It is meant for line-oriented logs (a plugin's stderr), where each
// Write is a line or a few: a credential split across two Writes is not
// recognised.
func Writer(w io.Writer) io.Writer { return writer{w} }

type writer struct{ w io.Writer }

func (r writer) Write(p []byte) (int, error) {
	if _, err := io.WriteString(r.w, String(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
