package leasedb

import (
	"testing"
	"time"

	"github.com/sharestore/sharestore"
)

func TestParseDuration(t *testing.T) {
	good := map[string]time.Duration{
		"7days":    7 * Day,
		"31day":    31 * Day,
		"60 days":  60 * Day,
		"2mo":      2 * 31 * Day,
		"3 month":  3 * 31 * Day,
		"2years":   2 * 365 * Day,
		"1year":    365 * Day,
		"4 MONTHS": 4 * 31 * Day,
		"0days":    0,
	}
	for in, want := range good {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if d, _ := ParseDuration("2mo"); d.Seconds() != 2*31*86400 {
		t.Errorf("2mo = %v s", d.Seconds())
	}
	if d, _ := ParseDuration("2years"); d.Seconds() != 2*365*86400 {
		t.Errorf("2years = %v s", d.Seconds())
	}
	_, err := ParseDuration("2kumquats")
	wantCode(t, err, sharestore.ErrInvalidArgument)
	if err.Error() != "no unit (like day, month, or year) in '2kumquats'" {
		t.Errorf("message = %q", err.Error())
	}
	for _, bad := range []string{"", "days", "xdays", "-3days", "+3days", "3.5days", "3 weeks", "99999999999999years", "7"} {
		if d, err := ParseDuration(bad); err == nil || !errIs(err, sharestore.ErrInvalidArgument) {
			t.Errorf("ParseDuration(%q) = %v, %v; want an invalid-argument error", bad, d, err)
		}
	}
}

func errIs(err error, c sharestore.Code) bool { return sharestore.CodeOf(err) == c }

func TestParseDate(t *testing.T) {
	d, err := ParseDate("2009-03-18")
	if err != nil || d.Unix() != 1237334400 || d.Location() != time.UTC {
		t.Errorf("ParseDate(2009-03-18) = %v (%d), %v; want 1237334400 UTC", d, d.Unix(), err)
	}
	for _, bad := range []string{"", "2009-3-18", "18-03-2009", "2009-02-30", "2009-03-18T00:00:00", "yesterday"} {
		if _, err := ParseDate(bad); !errIs(err, sharestore.ErrInvalidArgument) {
			t.Errorf("ParseDate(%q) err = %v", bad, err)
		}
	}
}

func TestPolicyValidateAndConfig(t *testing.T) {
	err := ExpirationPolicy{Enabled: true, Mode: "bogus"}.Validate()
	wantCode(t, err, sharestore.ErrInvalidArgument)
	if err.Error() != "GC mode 'bogus' must be 'age' or 'cutoff-date'" {
		t.Errorf("message = %q", err.Error())
	}
	if err := (ExpirationPolicy{}).Validate(); err != nil {
		t.Errorf("zero policy: %v", err)
	}
	wantCode(t, ExpirationPolicy{Mode: ModeCutoffDate}.Validate(), sharestore.ErrInvalidArgument)
	wantCode(t, ExpirationPolicy{Mode: ModeAge, Override: -time.Second}.Validate(), sharestore.ErrInvalidArgument)

	p, err := NewExpirationPolicy(false, "", "", "")
	if err != nil || p != (ExpirationPolicy{Mode: ModeAge}) {
		t.Errorf("defaults = %+v, %v", p, err)
	}
	_, err = NewExpirationPolicy(true, "", "", "")
	wantCode(t, err, sharestore.ErrInvalidArgument)
	p, err = NewExpirationPolicy(true, "age", "60 days", "")
	if err != nil || p != (ExpirationPolicy{Enabled: true, Mode: ModeAge, Override: 60 * Day}) {
		t.Errorf("age policy = %+v, %v", p, err)
	}
	p, err = NewExpirationPolicy(true, "cutoff-date", "", "2009-03-18")
	if err != nil || p.Mode != ModeCutoffDate || p.CutoffDate.Unix() != 1237334400 {
		t.Errorf("cutoff policy = %+v, %v", p, err)
	}
	_, err = NewExpirationPolicy(true, "age", "2kumquats", "")
	wantCode(t, err, sharestore.ErrInvalidArgument)
	if err.Error() != "expire.override_lease_duration: no unit (like day, month, or year) in '2kumquats'" {
		t.Errorf("message = %q", err.Error())
	}
	_, err = NewExpirationPolicy(true, "age", "0days", "")
	wantCode(t, err, sharestore.ErrInvalidArgument)
	_, err = NewExpirationPolicy(true, "cutoff-date", "", "")
	wantCode(t, err, sharestore.ErrInvalidArgument)
	_, err = NewExpirationPolicy(true, "cutoff-date", "", "2009-13-01")
	wantCode(t, err, sharestore.ErrInvalidArgument)
	_, err = NewExpirationPolicy(false, "bogus", "", "")
	if err == nil || err.Error() != "GC mode 'bogus' must be 'age' or 'cutoff-date'" {
		t.Errorf("bogus mode: %v", err)
	}
}

func TestDescribe(t *testing.T) {
	if s := (ExpirationPolicy{Enabled: true}).DescribeEnabled(); s != "Enabled: expired leases will be removed" {
		t.Error(s)
	}
	if s := (ExpirationPolicy{}).DescribeEnabled(); s != "Disabled: scan-only mode, no leases will be removed" {
		t.Error(s)
	}
	if s := (ExpirationPolicy{Mode: ModeAge}).DescribeExpiration(); s != "Leases will expire naturally, probably 31 days after creation or renewal." {
		t.Error(s)
	}
	if s := (ExpirationPolicy{Mode: ModeAge, Override: 2000 * time.Second}).DescribeExpiration(); s != "Leases created or last renewed more than 33 minutes ago will be considered expired." {
		t.Error(s)
	}
	cut, _ := ParseDate("2009-03-18")
	if s := (ExpirationPolicy{Mode: ModeCutoffDate, CutoffDate: cut}).DescribeExpiration(); s != "Leases created or last renewed before 2009-03-18 (18-Mar-2009) UTC will be considered expired." {
		t.Error(s)
	}
	for d, want := range map[time.Duration]string{
		time.Second: "1 second", 119 * time.Second: "119 seconds", 2000 * time.Second: "33 minutes",
		3599 * time.Second: "59 minutes", 3 * time.Hour: "3 hours", 2 * Day: "2 days", 62 * Day: "2 months",
		365 * Day: "11 months", 2 * Year: "2 years",
	} {
		if got := AbbreviateTime(d); got != want {
			t.Errorf("AbbreviateTime(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestExpiredMatchesRemoveExpiredLeases(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	leases := []Lease{
		{Renewal: now.Add(-3000 * time.Second), Expiration: now.Add(-time.Second)},
		{Renewal: now.Add(-1000 * time.Second), Expiration: now.Add(time.Hour)},
		{Renewal: now.Add(-40 * Day)},
	}
	cases := []struct {
		p    ExpirationPolicy
		want []bool
	}{
		{ExpirationPolicy{}, []bool{false, false, false}},
		{ExpirationPolicy{Enabled: true, Mode: ModeAge}, []bool{true, false, false}},
		{ExpirationPolicy{Enabled: true, Mode: ModeAge, Override: 2000 * time.Second}, []bool{true, false, true}},
		{ExpirationPolicy{Enabled: true, Mode: ModeCutoffDate, CutoffDate: now.Add(-2000 * time.Second)}, []bool{true, false, true}},
	}
	for _, c := range cases {
		for i, l := range leases {
			if got := c.p.Expired(l, now); got != c.want[i] {
				t.Errorf("%+v lease %d: %v", c.p, i, got)
			}
		}
	}
}

func TestCheckExpireTypeOptions(t *testing.T) {
	for _, ok := range [][2]string{{"", ""}, {"true", ""}, {"", "True"}, {"yes", "1"}} {
		if err := CheckExpireTypeOptions(ok[0], ok[1]); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range [][2]string{{"false", ""}, {"", "False"}, {"0", "true"}, {"maybe", ""}} {
		err := CheckExpireTypeOptions(bad[0], bad[1])
		if !errIs(err, sharestore.ErrInvalidArgument) {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
}

func TestShareFieldValidation(t *testing.T) {
	db := openTest(t)
	si := mkSI(0, 0)
	for name, op := range map[string]func(tx *Tx) error{
		"negative used space":  func(tx *Tx) error { return tx.AddNewShare(bg, si, 0, -1, 0, t0) },
		"bad share type":       func(tx *Tx) error { return tx.AddDiscoveredShare(bg, si, 0, 1, 4) },
		"bulk negative shnum":  func(tx *Tx) error { return tx.AddDiscoveredShares(bg, []Share{{SI: si, Shnum: -2}}, t0) },
		"change to negative":   func(tx *Tx) error { return tx.ChangeShareSpace(bg, si, 0, -5) },
		"negative shnum lease": func(tx *Tx) error { return tx.AddStarterLease(bg, si, -1, t0) },
	} {
		if err := db.Update(bg, op); !errIs(err, sharestore.ErrInvalidArgument) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}
