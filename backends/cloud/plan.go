package cloud

import (
	"sync"

	"github.com/sharestore/sharestore"
)

// ListPlan is how a scan of consecutive prefixes (sharestore.Scan, as
// the crawlers use it) lists the store. Whatever the plan, a scan returns
// exactly the listings ListPrefix would: the plan changes the number of
// LIST requests, never a result.
type ListPlan string

const (
	// PlanAuto chooses, at the start of each scan, the plan that needs
	// fewer LIST requests for what the backend has learned of the store:
	// the number of objects under each prefix and the store's page size,
	// from earlier listings. It chooses PlanRange while it knows nothing,
	// and PlanPrefix when range listings would save less than a quarter
	// of the requests (a dense store, with a thousand keys or more under
	// most prefixes, where one listing per prefix costs hardly more and
	// holds less). The empty plan is PlanAuto.
	PlanAuto ListPlan = "auto"
	// PlanPrefix lists each prefix on its own (shares/PP/): at least one
	// LIST request per prefix, 1024 a cycle however small the store.
	PlanPrefix ListPlan = "prefix"
	// PlanRange lists a run of prefixes in one paged listing: the whole
	// of shares/ for a scan from the first prefix, and otherwise one
	// listing per first character (shares/P, 32 prefixes) for the rest
	// of the scan. A page then holds the keys of as many prefixes as fit
	// in it, so a small store costs one request per page of keys.
	PlanRange ListPlan = "range"
)

// ParseListPlan returns the plan that s names: "auto" (or ""), "prefix"
// or "range". Anything else is ErrInvalidArgument.
func ParseListPlan(s string) (ListPlan, error) {
	switch p := ListPlan(s); p {
	case "", PlanAuto:
		return PlanAuto, nil
	case PlanPrefix, PlanRange:
		return p, nil
	}
	return "", sharestore.Errorf(sharestore.ErrInvalidArgument, "list plan %q: want auto, prefix or range", s)
}

// defaultPageSize is the page size assumed until a listing shows the
// store's: S3's, GCS's and Azure's default of 1000 keys.
const defaultPageSize = 1000

// learned is what the backend knows of the store's density: the number
// of objects under each prefix when it was last listed whole, and the
// largest page a listing has returned (a page that was not the last).
// It is safe for concurrent use; its zero value knows nothing.
type learned struct {
	mu       sync.Mutex
	objects  [sharestore.NumPrefixes]int
	known    [sharestore.NumPrefixes]bool
	pageSize int
}

func (l *learned) sawPage(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pageSize = max(l.pageSize, n)
}

// sawPrefix records that prefix index i held n objects; an invalid
// index is ignored.
func (l *learned) sawPrefix(i, n int) {
	if i < 0 || i >= sharestore.NumPrefixes {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.objects[i], l.known[i] = n, true
}

// pages returns how many pages n objects take, at least one (a listing
// of nothing is one request).
func pages(n, pageSize int) int {
	return max(1, (n+pageSize-1)/pageSize)
}

// requests estimates the LIST requests of a scan from prefix index first
// to the end under each plan, and reports whether anything is known of
// those prefixes. Unknown prefixes count as empty.
func (l *learned) requests(first int) (prefix, rng int, known bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ps := l.pageSize
	if ps <= 0 {
		ps = defaultPageSize
	}
	total := 0
	group := make([]int, len(sharestore.Alphabet))
	for i := first; i < sharestore.NumPrefixes; i++ {
		known = known || l.known[i]
		prefix += pages(l.objects[i], ps)
		total += l.objects[i]
		group[i/len(sharestore.Alphabet)] += l.objects[i]
	}
	if first == 0 {
		return prefix, pages(total, ps), known
	}
	for g := first / len(sharestore.Alphabet); g < len(group); g++ {
		rng += pages(group[g], ps)
	}
	return prefix, rng, known
}

// choose returns the plan a scan from prefix index first uses under
// plan: PlanPrefix or PlanRange.
func (l *learned) choose(plan ListPlan, first int) ListPlan {
	if plan == PlanPrefix || plan == PlanRange {
		return plan
	}
	prefix, rng, known := l.requests(first)
	if !known || 4*rng <= 3*prefix {
		return PlanRange
	}
	return PlanPrefix
}
