package plugin

import (
	"sync"

	"github.com/sharestore/sharestore/internal/backendurl/redact"
)

// knownSecrets are the secret values a plugin process has received
// through Configure, which toStatus removes from every error it sends
// its host, so that a backend (or a library under it) that quotes a
// credential does not hand it to the host's logs and state files. A
// plugin process serves one host, so there is one set; it only grows,
// since a backend configured before may still be answering.
var knownSecrets secretSet

// secretSet is a growing set of secret values and the redact.Values
// that removes them.
type secretSet struct {
	mu     sync.Mutex
	values map[string]string // value -> value
	r      redact.Values
}

// add remembers the values of secrets.
func (s *secretSet) add(secrets map[string]string) {
	if len(secrets) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.values == nil {
		s.values = map[string]string{}
	}
	for _, v := range secrets {
		s.values[v] = v
	}
	s.r = redact.NewValues(s.values)
}

// scrub returns msg with every remembered value replaced by redact.Mark.
func (s *secretSet) scrub(msg string) string {
	s.mu.Lock()
	r := s.r
	s.mu.Unlock()
	return r.String(msg)
}
