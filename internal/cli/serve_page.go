package cli

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/crawler"
	"github.com/sharestore/sharestore/internal/units"
	"github.com/sharestore/sharestore/leasedb"
)

//go:embed page/status.html
var pageFS embed.FS

// pageTemplate is the status page; everything it shows is in the
// binary: no script, no stylesheet or font from elsewhere.
var pageTemplate = template.Must(template.New("status.html").Funcs(template.FuncMap{
	"bytes": units.Bytes,
	"sub":   func(a int64, b int) int64 { return a - int64(b) },
}).ParseFS(pageFS, "page/status.html"))

// pageRefresh is how often, in seconds, the page reloads itself while a
// cycle runs.
const pageRefresh = 5

// statusPage is what the status page shows.
type statusPage struct {
	Now, Backend, StateDir string
	Caps                   sharestore.Capabilities
	Refresh                int // seconds; 0 while no cycle runs
	Crawlers               []crawlerRow
	Sharesets              *int64
	SoFar, Whole           *totals
	Last                   *lastCycle
	Histogram              template.HTML
	Corrupt                []crawler.CorruptShare
	CorruptCount           int64
	History                []historyRow
	Errors                 []errorRow
	PluginRestarts         *int // nil when no plugin serves the backend
	LeaseDB                *leasedb.Stats
}

type crawlerRow struct {
	Name, Title, Cycle, Prefix, ETA, NextWake, Text string
	Percent                                         float64
	Failed                                          []crawler.PrefixFailure
}

// totals are a cycle's counters, by share type.
type totals struct {
	Rows                               []totalsRow
	Added, Removed, Deleted, Recovered int64
}

type totalsRow struct {
	Type                     string
	Shares, Sharesets, Bytes int64
}

type lastCycle struct {
	Cycle              int
	Took, Ago          string
	Expiration, DryRun bool
	Totals             *totals
}

type historyRow struct {
	Cycle                                 int
	Finished, Took                        string
	Examined, Deleted, Recovered, Corrupt int64
}

type errorRow struct {
	Op, Result string
	Count      int64
}

// servePage answers GET / with the status page.
func (d *daemon) servePage(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	set, release := d.acquire()
	defer release()
	if set == nil {
		http.Error(w, "the crawlers are restarting", http.StatusServiceUnavailable)
		return
	}
	now := time.Now()
	states := map[string]crawler.State{}
	for i, name := range set.run.names {
		states[name] = set.run.engines[i].State()
	}
	st, err := set.statusOf(r.Context(), states, now)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	page := buildPage(set, set.run.names, states, st, now)
	page.Errors = d.requests.errorRows()
	if n, ok := pluginRestarts(set.b); ok {
		page.PluginRestarts = &n
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, page); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}

// buildPage makes the page's contents from the status st of the
// crawlers names, in states, as of now.
func buildPage(set *crawlSetup, names []string, states map[string]crawler.State, st statusJSON, now time.Time) statusPage {
	p := statusPage{Now: now.UTC().Format(time.RFC1123), Backend: set.rep.Backend, StateDir: set.rep.StateDir, Caps: set.b.Capabilities(), LeaseDB: st.LeaseDB}
	for _, name := range names {
		row := crawlerRowOf(name, states[name], now)
		if row.Percent > 0 || states[name].CurrentCycle != nil {
			p.Refresh = pageRefresh
		}
		p.Crawlers = append(p.Crawlers, row)
	}
	if b := st.BucketCounter; b != nil {
		p.Sharesets = b.LastCompleteCount
	}
	r := st.LeaseChecker
	if r == nil {
		p.Histogram = histogramSVG(nil)
		return p
	}
	var hist [][3]int64
	if so := r.SoFar; so != nil {
		p.SoFar = totalsOf(so.Counters)
		hist = so.Histogram
		p.Corrupt, p.CorruptCount = so.Corrupt, so.CorruptCount
	}
	if r.Whole != nil {
		p.Whole = totalsOf(r.Whole.SpaceRecovered)
	}
	for i, c := range newestFirst(r.History) {
		h := r.History[c]
		start, end := time.Unix(h.CycleStartFinish[0], 0), time.Unix(h.CycleStartFinish[1], 0)
		took, ago := end.Sub(start), now.Sub(end)
		if i == 0 {
			p.Last = &lastCycle{Cycle: c, Took: crawler.AbbreviateTime(&took), Ago: crawler.AbbreviateTime(&ago),
				Expiration: h.ExpirationEnabled, DryRun: h.DryRun, Totals: totalsOf(h.SpaceRecovered)}
			if r.SoFar == nil {
				hist, p.Corrupt, p.CorruptCount = h.Histogram, h.Corrupt, h.CorruptCount
			}
		}
		sr := h.SpaceRecovered
		p.History = append(p.History, historyRow{Cycle: c, Finished: end.UTC().Format(time.RFC3339), Took: crawler.AbbreviateTime(&took),
			Examined: sr["examined-shares"], Deleted: sr["actual-shares"], Recovered: sr["actual-diskbytes"], Corrupt: h.CorruptCount})
	}
	p.Histogram = histogramSVG(hist)
	return p
}

// crawlerRowOf is the page's row for the crawler name in state s.
func crawlerRowOf(name string, s crawler.State, now time.Time) crawlerRow {
	pr := crawler.ProgressOf(s, now)
	row := crawlerRow{Name: name, Title: "Accounting (leases and garbage collection)", Cycle: "none yet", Prefix: "-", ETA: "-", NextWake: "-",
		Text: crawler.FormatProgress(pr), Percent: pr.Percentage, Failed: pr.FailedPrefixes}
	if name == "buckets" {
		row.Title = "Bucket counter"
	}
	switch {
	case s.CurrentCycle != nil:
		row.Cycle = fmt.Sprint(*s.CurrentCycle)
		if i := s.LastCompletePrefix + 1; i >= 0 && i < sharestore.NumPrefixes {
			row.Prefix = string(sharestore.PrefixAt(i))
		}
		row.ETA = crawler.FormatETA(pr.ETA)
	case s.LastCycleFinished != nil:
		row.Cycle = fmt.Sprintf("%d (complete)", *s.LastCycleFinished)
		row.Percent = 0
	}
	if pr.NextWake != nil {
		row.NextWake = pr.NextWake.UTC().Format(time.RFC3339)
	}
	return row
}

// totalsOf reads a cycle's counters.
func totalsOf(c map[string]int64) *totals {
	t := &totals{Added: c["added"], Removed: c["vanished"], Deleted: c["actual-shares"], Recovered: c["actual-diskbytes"]}
	for _, ty := range []struct{ name, suffix string }{{"Immutable", "-immutable"}, {"Mutable", "-mutable"}, {"All", ""}} {
		t.Rows = append(t.Rows, totalsRow{Type: ty.name, Shares: c["examined-shares"+ty.suffix], Sharesets: c["examined-buckets"+ty.suffix], Bytes: c["examined-diskbytes"+ty.suffix]})
	}
	return t
}
