package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/term"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/crawler"
)

// progressSnapshot is one reading of a crawl's progress. The bar and its
// label are drawn from the same snapshot, so they always agree.
type progressSnapshot struct {
	// name is the crawler being shown ("accounting", "buckets").
	name string
	p    crawler.Progress
	// listed counts the shares listed since the crawler's phase began,
	// over elapsed; noShares leaves it out (the bucket counter lists
	// sharesets, not shares).
	listed   int64
	elapsed  time.Duration
	noShares bool
}

// progressLabel is the text of a progress line: "accounting: prefix
// 420/1024 (41.0%), 5120 shares listed, 1200 shares/s, ETA 1209s", or
// "buckets: prefix 420/1024 (41.0%), ETA 1209s".
func progressLabel(s progressSnapshot) string {
	listed := ""
	if !s.noShares {
		rate := 0.0
		if s.elapsed > 0 {
			rate = float64(s.listed) / s.elapsed.Seconds()
		}
		listed = fmt.Sprintf(", %d shares listed, %.0f shares/s", s.listed, rate)
	}
	return fmt.Sprintf("%s: prefix %d/%d (%.1f%%)%s, ETA %s",
		s.name, s.p.CompletePrefixes, sharestore.NumPrefixes, s.p.Percentage, listed, crawler.FormatETA(s.p.ETA))
}

// barWidth is the number of cells in the progress bar.
const barWidth = 30

// progressBar is a terminal progress line: a bar of barWidth cells
// filled in proportion to the completed prefixes, then the label.
func progressBar(s progressSnapshot) string {
	filled := s.p.CompletePrefixes * barWidth / sharestore.NumPrefixes
	return "[" + strings.Repeat("=", filled) + strings.Repeat(" ", barWidth-filled) + "] " + progressLabel(s)
}

// progressView draws snapshots: a bar redrawn in place on a terminal,
// or a log line otherwise.
type progressView struct {
	w     io.Writer
	bar   bool
	drawn bool // a bar line is on the screen
}

// draw shows s.
func (v *progressView) draw(s progressSnapshot) {
	if v.bar {
		fmt.Fprintf(v.w, "\r%s\x1b[K", progressBar(s))
		v.drawn = true
		return
	}
	fmt.Fprintf(v.w, "sharestore: %s\n", progressLabel(s))
}

// clear removes the bar from the screen.
func (v *progressView) clear() {
	if v.drawn {
		fmt.Fprint(v.w, "\r\x1b[K")
		v.drawn = false
	}
}

// startProgress shows a crawl's progress on stderr until the function it
// returns is called: a bar (prefix n/1024, shares/s, ETA) on a terminal,
// or a log line every few seconds otherwise. current says which crawler
// is working (crawl --once runs them one after the other); listed counts
// the shares listed so far.
func startProgress(ctx context.Context, e *env, mode string, current func() (string, *crawler.Engine), listed *atomic.Int64) func() {
	if mode == "none" {
		return func() {}
	}
	tty := false
	if f, ok := e.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		tty = true
	}
	v := &progressView{w: e.stderr, bar: mode == "bar" || (mode == "auto" && tty)}
	interval := 5 * time.Second
	if v.bar {
		interval = 250 * time.Millisecond
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		defer v.clear()
		t := time.NewTicker(interval)
		defer t.Stop()
		phase, _ := current()
		phaseStart, listedAtStart := time.Now(), listed.Load()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			name, eng := current()
			n := listed.Load()
			if name != phase {
				phase, phaseStart, listedAtStart = name, time.Now(), n
			}
			v.draw(progressSnapshot{name: name, p: eng.Progress(), listed: n - listedAtStart, elapsed: time.Since(phaseStart), noShares: name == "buckets"})
		}
	}()
	return func() { close(done); <-stopped }
}
