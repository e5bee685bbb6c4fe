package leasedb

import (
	"math/rand"
	"testing"
	"time"
)

// TestExpiresAtAgreesWithExpired checks ExpiresAt against Expired at
// random times around the instant it names, for every kind of policy.
func TestExpiresAtAgreesWithExpired(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	policies := []ExpirationPolicy{
		{},
		{Enabled: true, Mode: ModeAge},
		{Enabled: true, Mode: ModeAge, Override: 2000 * time.Second},
		{Enabled: true, Mode: ModeAge, Override: 1500 * time.Millisecond},
		{Enabled: true, Mode: ModeCutoffDate, CutoffDate: base.Add(10 * 24 * time.Hour)},
		{Enabled: true, Mode: "bogus"},
	}
	for _, p := range policies {
		for i := 0; i < 2000; i++ {
			renewal := base.Add(time.Duration(rng.Int63n(int64(40 * 24 * time.Hour))))
			renewal = time.Unix(renewal.Unix(), 0)
			l := Lease{Renewal: renewal}
			if rng.Intn(4) > 0 {
				l.Expiration = time.Unix(renewal.Add(31*24*time.Hour).Unix(), 0)
			}
			at, never := p.ExpiresAt(l)
			probes := []time.Time{base, base.Add(100 * 24 * time.Hour), renewal, l.Expiration}
			if !never && !at.IsZero() {
				probes = append(probes, at, at.Add(-time.Nanosecond), at.Add(-time.Second), at.Add(time.Nanosecond), at.Add(999*time.Millisecond))
			}
			for j := 0; j < 4; j++ {
				probes = append(probes, base.Add(time.Duration(rng.Int63n(int64(80*24*time.Hour)))))
			}
			for _, now := range probes {
				want := p.Expired(l, now)
				got := !never && !now.Before(at)
				if got != want {
					t.Fatalf("policy %+v, lease %+v, now %v: ExpiresAt says %v (at %v, never %v), Expired says %v", p, l, now, got, at, never, want)
				}
			}
		}
	}
}
