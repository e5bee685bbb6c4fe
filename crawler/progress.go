package crawler

import (
	"encoding/json"
	"math"
	"time"

	"github.com/sharestore/sharestore"
)

// Progress describes where a crawler is, as Tahoe's get_progress does,
// with its off-by-one fixed: the percentage counts completed prefixes.
// Its JSON form (MarshalJSON) has Tahoe's keys and units.
type Progress struct {
	// CycleInProgress reports whether a cycle is running.
	CycleInProgress bool
	// CompletePrefixes is the number of prefixes completed this cycle.
	CompletePrefixes int
	// Percentage is 100 × CompletePrefixes / 1024.
	Percentage float64
	// ETA is the estimated time left in the cycle, from the rate of the
	// cycle so far: the time the process working on it has spent since
	// it started or resumed the cycle (State.RunStart), divided by the
	// prefixes it completed since, times the prefixes left. Nil until it
	// has completed a prefix.
	ETA *time.Duration
	// NextWake is when the crawler next does work, if it is sleeping.
	NextWake *time.Time
	// RemainingWait is NextWake minus now.
	RemainingWait *time.Duration
	// CycleTime estimates a whole cycle: the last cycle's duration, or,
	// before any cycle has completed, 1024 prefixes at the current
	// cycle's rate (see ETA). Nil when neither is known.
	CycleTime *time.Duration
	// FailedPrefixes lists the prefixes that failed for good in the
	// cycle in progress, or in the last completed cycle between cycles
	// (see State.FailedPrefixes).
	FailedPrefixes []PrefixFailure
	// CycleRequests counts the store requests of the cycle in progress
	// so far (State.CycleRequests); nil between cycles or when they are
	// not counted.
	CycleRequests sharestore.StoreRequests
	// LastCycleRequests counts the store requests of the last completed
	// cycle (State.LastCycleRequests), nil when they were not counted.
	LastCycleRequests sharestore.StoreRequests
}

// ProgressOf computes the Progress of state st at time now.
func ProgressOf(st State, now time.Time) Progress {
	p := Progress{CycleInProgress: st.CurrentCycle != nil, FailedPrefixes: st.FailedPrefixes(), LastCycleRequests: st.LastCycleRequests}
	if p.CycleInProgress {
		p.CycleRequests = st.CycleRequests
	}
	var perPrefix float64 // seconds, at the current cycle's rate
	if p.CycleInProgress {
		p.CompletePrefixes = st.LastCompletePrefix + 1
		p.Percentage = 100 * float64(p.CompletePrefixes) / sharestore.NumPrefixes
		mark := st.RunStart
		if mark == nil && st.CycleStart != nil {
			// Written by a version without RunStart.
			mark = &RunMark{Time: *st.CycleStart}
		}
		if mark != nil && p.CompletePrefixes > mark.CompletePrefixes {
			perPrefix = max(now.Sub(mark.Time).Seconds(), 0) / float64(p.CompletePrefixes-mark.CompletePrefixes)
			d := seconds(perPrefix * float64(sharestore.NumPrefixes-p.CompletePrefixes))
			p.ETA = &d
		}
	}
	if st.NextWake != nil {
		t := *st.NextWake
		w := t.Sub(now)
		p.NextWake, p.RemainingWait = &t, &w
	}
	switch {
	case st.LastCycleStart != nil && st.LastCycleEnd != nil && !st.LastCycleEnd.Before(*st.LastCycleStart):
		d := st.LastCycleEnd.Sub(*st.LastCycleStart)
		p.CycleTime = &d
	case p.ETA != nil:
		d := seconds(perPrefix * sharestore.NumPrefixes)
		p.CycleTime = &d
	}
	return p
}

// seconds converts s seconds to a Duration, saturating at 0 and at the
// largest Duration instead of overflowing.
func seconds(s float64) time.Duration {
	switch {
	case !(s > 0):
		return 0
	case s >= float64(math.MaxInt64)/float64(time.Second):
		return math.MaxInt64
	}
	return time.Duration(s * float64(time.Second))
}

// Progress returns the engine's progress now.
func (e *Engine) Progress() Progress { return ProgressOf(e.State(), e.clock.Now()) }

// MarshalJSON encodes p with the keys and units of Tahoe's get_progress,
// so that a tool that reads Tahoe's status JSON reads this too. Every
// duration is in seconds (a JSON number, fractional), and every time in
// seconds since the epoch. During a cycle: cycle-in-progress (true),
// cycle-complete-percentage, complete-prefixes,
// estimated-cycle-complete-time-left and remaining-sleep-time; between
// cycles: cycle-in-progress (false), next-crawl-time and
// remaining-wait-time; always: estimated-time-per-cycle and, when any
// prefix failed, failed-prefixes. An estimate that is not known is null,
// as in Tahoe. Two keys of sharestore's own, which Tahoe's readers
// ignore, hold the store requests when they are counted:
// cycle-store-requests (the cycle in progress so far) and
// last-cycle-store-requests, each in sharestore.StoreRequests' JSON form.
func (p Progress) MarshalJSON() ([]byte, error) {
	m := map[string]any{
		"cycle-in-progress":        p.CycleInProgress,
		"estimated-time-per-cycle": secondsOf(p.CycleTime),
	}
	if p.CycleInProgress {
		m["cycle-complete-percentage"] = p.Percentage
		m["complete-prefixes"] = p.CompletePrefixes
		m["estimated-cycle-complete-time-left"] = secondsOf(p.ETA)
		m["remaining-sleep-time"] = secondsOf(p.RemainingWait)
	} else {
		var next *float64
		if p.NextWake != nil {
			t := float64(p.NextWake.UnixNano()) / 1e9
			next = &t
		}
		m["next-crawl-time"] = next
		m["remaining-wait-time"] = secondsOf(p.RemainingWait)
	}
	if len(p.FailedPrefixes) > 0 {
		m["failed-prefixes"] = p.FailedPrefixes
	}
	if p.CycleRequests != nil {
		m["cycle-store-requests"] = p.CycleRequests
	}
	if p.LastCycleRequests != nil {
		m["last-cycle-store-requests"] = p.LastCycleRequests
	}
	return json.Marshal(m)
}

// UnmarshalJSON decodes what MarshalJSON encodes (and Tahoe's
// get_progress): seconds into durations, seconds since the epoch into
// NextWake.
func (p *Progress) UnmarshalJSON(b []byte) error {
	var j struct {
		InProgress bool                     `json:"cycle-in-progress"`
		Percentage float64                  `json:"cycle-complete-percentage"`
		Complete   int                      `json:"complete-prefixes"`
		ETA        *float64                 `json:"estimated-cycle-complete-time-left"`
		Sleep      *float64                 `json:"remaining-sleep-time"`
		Wait       *float64                 `json:"remaining-wait-time"`
		Next       *float64                 `json:"next-crawl-time"`
		CycleTime  *float64                 `json:"estimated-time-per-cycle"`
		Failed     []PrefixFailure          `json:"failed-prefixes"`
		Requests   sharestore.StoreRequests `json:"cycle-store-requests"`
		LastReqs   sharestore.StoreRequests `json:"last-cycle-store-requests"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*p = Progress{CycleInProgress: j.InProgress, Percentage: j.Percentage, CompletePrefixes: j.Complete,
		ETA: durationOf(j.ETA), RemainingWait: durationOf(j.Wait), CycleTime: durationOf(j.CycleTime), FailedPrefixes: j.Failed,
		CycleRequests: j.Requests, LastCycleRequests: j.LastReqs}
	if j.InProgress {
		p.RemainingWait = durationOf(j.Sleep)
	}
	if j.Next != nil {
		t := time.Unix(0, int64(*j.Next*1e9))
		p.NextWake = &t
	}
	return nil
}

// durationOf returns s seconds as a Duration, or nil for nil.
func durationOf(s *float64) *time.Duration {
	if s == nil {
		return nil
	}
	d := time.Duration(*s * float64(time.Second))
	return &d
}

// secondsOf returns d in seconds, or nil for nil.
func secondsOf(d *time.Duration) *float64 {
	if d == nil {
		return nil
	}
	s := d.Seconds()
	return &s
}
