package conformance

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// maxDiffs bounds the differences one failure lists.
const maxDiffs = 40

// goldenDiff compares two canonical crawler results (JSON) and returns
// one line per difference, each naming the counter or the lease
// database row that differs, with the value found and the golden value:
//
//	leasedb.shares[storage_index=mnxw… shnum=1].state: got 2, golden 1
//	accounting-state.last_cycle_finished: got 0, golden 1
//
// Rows of the lease database (and other lists of records with an
// identity, such as history entries and corrupt shares) are matched by
// their identity, not their position, so one missing row is reported
// once rather than shifting every row after it.
func goldenDiff(golden, got []byte) []string {
	var w, g any
	if err := json.Unmarshal(golden, &w); err != nil {
		return []string{fmt.Sprintf("golden file does not parse: %v", err)}
	}
	if err := json.Unmarshal(got, &g); err != nil {
		return []string{fmt.Sprintf("result does not parse: %v", err)}
	}
	d := &differ{}
	d.diff("", w, g)
	if d.more > 0 {
		d.out = append(d.out, fmt.Sprintf("… and %d more differences", d.more))
	}
	return d.out
}

type differ struct {
	out  []string
	more int
}

func (d *differ) add(format string, args ...any) {
	if len(d.out) >= maxDiffs {
		d.more++
		return
	}
	d.out = append(d.out, fmt.Sprintf(format, args...))
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (d *differ) diff(path string, want, got any) {
	switch w := want.(type) {
	case map[string]any:
		if g, ok := got.(map[string]any); ok {
			d.diffObjects(path, w, g)
			return
		}
	case []any:
		if g, ok := got.([]any); ok {
			d.diffLists(path, w, g)
			return
		}
	}
	if !equalJSON(want, got) {
		d.add("%s: got %s, golden %s", orRoot(path), show(got), show(want))
	}
}

func orRoot(path string) string {
	if path == "" {
		return "(the whole result)"
	}
	return path
}

func (d *differ) diffObjects(path string, w, g map[string]any) {
	keys := map[string]bool{}
	for k := range w {
		keys[k] = true
	}
	for k := range g {
		keys[k] = true
	}
	for _, k := range sortedKeys(keys) {
		wv, inW := w[k]
		gv, inG := g[k]
		switch {
		case !inG:
			d.add("%s: missing, golden %s", join(path, k), show(wv))
		case !inW:
			d.add("%s: got %s, not in the golden file", join(path, k), show(gv))
		default:
			d.diff(join(path, k), wv, gv)
		}
	}
}

// identityKeys are the fields that name a record in a list, tried in
// order: a lease database row, a history entry, a corrupt share.
var identityKeys = [][]string{
	{"storage_index", "shnum", "account_id"},
	{"storage_index", "shnum"},
	{"si", "shnum"},
	{"cycle"},
	{"id"},
}

// identity returns the identity fields every element of both lists has,
// or nil when the lists are not lists of records with one.
func identity(w, g []any) []string {
next:
	for _, keys := range identityKeys {
		for _, l := range [][]any{w, g} {
			for _, e := range l {
				m, ok := e.(map[string]any)
				if !ok {
					continue next
				}
				for _, k := range keys {
					if _, ok := m[k]; !ok {
						continue next
					}
				}
			}
		}
		if len(w)+len(g) > 0 {
			return keys
		}
	}
	return nil
}

func idOf(e any, keys []string) string {
	m := e.(map[string]any)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + show(m[k])
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func (d *differ) diffLists(path string, w, g []any) {
	keys := identity(w, g)
	if keys == nil {
		for i := 0; i < max(len(w), len(g)); i++ {
			p := fmt.Sprintf("%s[%d]", path, i)
			switch {
			case i >= len(g):
				d.add("%s: missing, golden %s", p, show(w[i]))
			case i >= len(w):
				d.add("%s: got %s, not in the golden file", p, show(g[i]))
			default:
				d.diff(p, w[i], g[i])
			}
		}
		return
	}
	gotBy := map[string]any{}
	for _, e := range g {
		gotBy[idOf(e, keys)] = e
	}
	seen := map[string]bool{}
	for _, e := range w {
		id := idOf(e, keys)
		seen[id] = true
		if ge, ok := gotBy[id]; ok {
			d.diff(path+id, e, ge)
		} else {
			d.add("%s%s: missing row, golden %s", path, id, show(e))
		}
	}
	for _, e := range g {
		if id := idOf(e, keys); !seen[id] {
			d.add("%s%s: got %s, not in the golden file", path, id, show(e))
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// show is v as compact JSON, clipped.
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}
