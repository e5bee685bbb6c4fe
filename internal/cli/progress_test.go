package cli

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sharestore/sharestore/crawler"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// progressAt is the progress of a cycle that started at t0 and has done
// done prefixes by now.
func progressAt(done int, now time.Time) crawler.Progress {
	cycle := 3
	st := crawler.State{Version: crawler.StateVersion, Crawler: crawler.AccountingName, CurrentCycle: &cycle, CycleStart: &t0,
		LastCompletePrefix: done - 1, RunStart: &crawler.RunMark{Time: t0}}
	return crawler.ProgressOf(st, now)
}

var barRE = regexp.MustCompile(`^\[(=*) *\] accounting: prefix (\d+)/1024 \(`)

// The bar and its label come from one snapshot: the label's prefix count
// is the bar's, at every point of the cycle.
func TestProgressBarLabelIsTheBar(t *testing.T) {
	for _, done := range []int{0, 1, 34, 202, 512, 975, 1023, 1024} {
		s := progressSnapshot{name: "accounting", p: progressAt(done, t0.Add(time.Duration(done)*time.Second)), listed: 10, elapsed: time.Second}
		line := progressBar(s)
		m := barRE.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("%d: %q", done, line)
		}
		if n, _ := strconv.Atoi(m[2]); n != done || len(m[1]) != done*barWidth/1024 || len(line) < barWidth+2 {
			t.Errorf("%d prefixes: label %s, %d of %d cells filled: %q", done, m[2], len(m[1]), barWidth, line)
		}
	}
}

// The ETA in the progress line is the cycle's rate times what is left:
// 256 prefixes in 512 s leave 768 prefixes, 1536 s; before any prefix it
// is unknown.
func TestProgressLineETA(t *testing.T) {
	s := progressSnapshot{name: "accounting", p: progressAt(256, t0.Add(512*time.Second)), listed: 2560, elapsed: 512 * time.Second}
	if got, want := progressLabel(s), "accounting: prefix 256/1024 (25.0%), 2560 shares listed, 5 shares/s, ETA 1536s"; got != want {
		t.Errorf("label %q, want %q", got, want)
	}
	s = progressSnapshot{name: "buckets", p: progressAt(0, t0.Add(time.Minute)), noShares: true}
	if got, want := progressLabel(s), "buckets: prefix 0/1024 (0.0%), ETA unknown"; got != want {
		t.Errorf("label %q, want %q", got, want)
	}
	// As a log line, and as a bar redrawn in place and cleared at the end.
	var b bytes.Buffer
	v := &progressView{w: &b}
	v.draw(progressSnapshot{name: "accounting", p: progressAt(420, t0.Add(420*time.Second))})
	if got := b.String(); got != "sharestore: accounting: prefix 420/1024 (41.0%), 0 shares listed, 0 shares/s, ETA 604s\n" {
		t.Errorf("log line %q", got)
	}
	b.Reset()
	v = &progressView{w: &b, bar: true}
	v.draw(progressSnapshot{name: "accounting", p: progressAt(420, t0.Add(420*time.Second))})
	v.clear()
	frames := strings.Split(b.String(), "\r")
	if len(frames) != 3 || !strings.HasSuffix(frames[1], "ETA 604s\x1b[K") || frames[2] != "\x1b[K" {
		t.Errorf("bar output %q", b.String())
	}
}
