package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/crawler"
)

// readyTimeout bounds what /readyz waits for the backend and the lease
// database.
const readyTimeout = 10 * time.Second

// handler serves the daemon's HTTP endpoints.
func (d *daemon) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", d.servePage)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", d.serveReady)
	mux.HandleFunc("GET /status.json", d.serveJSON)
	mux.Handle("GET /metrics", d.metricsHandler())
	mux.HandleFunc("GET /storage", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("t") != "json" {
			http.Error(w, "only /storage?t=json is served here", http.StatusNotFound)
			return
		}
		d.serveJSON(w, r)
	})
	return mux
}

// errStopListing ends /readyz's listing at its first share.
var errStopListing = errors.New("stop")

// serveReady answers 200 when the backend lists a prefix and the lease
// database reads, and 503 with the reason otherwise.
func (d *daemon) serveReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	set, release := d.acquire()
	defer release()
	if set == nil {
		http.Error(w, "not ready: the crawlers are restarting", http.StatusServiceUnavailable)
		return
	}
	err := set.b.ListPrefix(ctx, "aa", func(sharestore.ShareInfo) error { return errStopListing })
	if err != nil && !errors.Is(err, errStopListing) {
		http.Error(w, "not ready: backend: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	if db := set.run.db; db != nil {
		if _, err := db.Stats(ctx); err != nil {
			http.Error(w, "not ready: lease database: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
	}
	fmt.Fprintln(w, "ready")
}

// serveJSON answers with the status as "sharestore status --json"
// prints it, made from the running crawlers' states.
func (d *daemon) serveJSON(w http.ResponseWriter, r *http.Request) {
	set, release := d.acquire()
	defer release()
	if set == nil {
		http.Error(w, "the crawlers are restarting", http.StatusServiceUnavailable)
		return
	}
	st, err := set.status(r.Context(), time.Now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	enc.Encode(st)
}

// status is the status of set's crawlers as of now.
func (set *crawlSetup) status(ctx context.Context, now time.Time) (statusJSON, error) {
	states := map[string]crawler.State{}
	for i, name := range set.run.names {
		states[name] = set.run.engines[i].State()
	}
	return set.statusOf(ctx, states, now)
}

// statusOf is the status of set's crawlers in states (by crawler name)
// as of now.
func (set *crawlSetup) statusOf(ctx context.Context, states map[string]crawler.State, now time.Time) (statusJSON, error) {
	src := statusSource{acct: set.run.acct, db: set.run.db, bucketsPath: bucketsState}
	if s, ok := states["accounting"]; ok {
		src.accounting = &s
	}
	if s, ok := states["buckets"]; ok {
		src.buckets = &s
	}
	return src.status(ctx, now)
}
