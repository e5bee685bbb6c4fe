package cli

import (
	"fmt"
	"io"
	"sync"

	"github.com/schollz/progressbar/v3"

	"github.com/sharestore/sharestore"
)

// copyProgress is a copy run's tally, shared by its transfers. Shares of
// several prefixes are in flight at once, but progress is reported one
// prefix at a time, in copy order, and only past prefixes that are done:
// listed, and every share of it finished. So a prefix that progress has
// passed is wholly at the destination, whatever is still in flight after
// it. Its methods are safe for concurrent use.
type copyProgress struct {
	mu       sync.Mutex
	prefixes []sharestore.Prefix
	state    []prefixState // by index into prefixes
	next     int           // the first prefix not yet reported
	st       copyStats
	bar      *progressbar.ProgressBar // nil off a terminal
	stderr   io.Writer
}

// prefixState is where one prefix of a copy stands.
type prefixState struct {
	listed          bool
	pending         int // shares handed to a transfer and not finished
	copied, skipped int
}

func newCopyProgress(prefixes []sharestore.Prefix, stderr io.Writer) *copyProgress {
	pr := &copyProgress{prefixes: prefixes, state: make([]prefixState, len(prefixes)), stderr: stderr}
	if isTerminal(stderr) {
		pr.bar = progressbar.NewOptions(len(prefixes), progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetDescription("copying"), progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
	}
	return pr
}

// listed records that prefix i lists n shares, all of which are about to
// be handed to transfers: it is done once n calls of finished for it have
// returned.
func (pr *copyProgress) listed(i, n int) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.state[i].listed = true
	pr.state[i].pending += n
	pr.advance()
}

// finished records the outcome of one share of prefix i (n is its size
// when it was copied) and reports the shares that were not copied.
func (pr *copyProgress) finished(i int, id sharestore.ShareID, out copyOutcome, n int64) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	ps := &pr.state[i]
	switch out {
	case copiedShare:
		pr.st.copied++
		pr.st.bytes += n
		ps.copied++
	case skippedShare:
		pr.st.skipped++
		ps.skipped++
	case vanishedShare:
		pr.st.vanished++
		fmt.Fprintf(pr.stderr, "copy: vanished at source: %s shnum %d (listed, then gone when read; skipped)\n", id.SI, id.Shnum)
	case changedShare:
		pr.st.unstable++
		fmt.Fprintf(pr.stderr, "copy: changed at source while being read, twice: %s shnum %d (not copied; rerun copy to copy it)\n", id.SI, id.Shnum)
	}
	ps.pending--
	pr.advance()
}

// advance reports every done prefix from next on, stopping at the first
// that is not done. pr.mu is held.
func (pr *copyProgress) advance() {
	for pr.next < len(pr.state) {
		ps := pr.state[pr.next]
		if !ps.listed || ps.pending > 0 {
			return
		}
		p := pr.prefixes[pr.next]
		pr.next++
		if pr.bar != nil {
			pr.bar.Describe(fmt.Sprintf("copying %s: %d copied, %d skipped", p, pr.st.copied, pr.st.skipped))
			pr.bar.Add(1)
		} else if ps.copied > 0 || ps.skipped > 0 {
			fmt.Fprintf(pr.stderr, "copy: prefix %s (%d/%d): %d copied, %d already present\n", p, pr.next, len(pr.prefixes), ps.copied, ps.skipped)
		}
	}
}

// done ends the progress bar and returns the run's totals. It is called
// once every transfer has returned.
func (pr *copyProgress) done() copyStats {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.bar != nil {
		pr.bar.Finish()
	}
	return pr.st
}
