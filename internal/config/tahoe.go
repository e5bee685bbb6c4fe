package config

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/leasedb"
)

// TahoeKeys are the names of the settings LoadTahoe reads, as
// "[storage]key"; the settings tahoe.cfg does not have are named as
// serve's flags.
var TahoeKeys = func() Keys {
	k := FlagKeys
	k.ExpireMode, k.ExpireOverride, k.ExpireCutoff = "[storage]expire.mode", "[storage]expire.override_lease_duration", "[storage]expire.cutoff_date"
	k.Backend = "[storage]storage_dir"
	return k
}()

// tahoeState is the state directory LoadTahoe picks, under the base
// directory.
const tahoeState = "sharestore-state"

// tahoeCfg is a node's tahoe.cfg with what LoadTahoe needs to read it.
type tahoeCfg struct {
	ini     *iniFile
	basedir string
}

// fail is an error naming the file, the line when known, and the key.
func (c *tahoeCfg) fail(key, format string, args ...any) error {
	where := c.ini.path
	if n := c.ini.line("storage", key); n > 0 {
		where = fmt.Sprintf("%s:%d", where, n)
	}
	return sharestore.Errorf(sharestore.ErrInvalidArgument, "%s: [storage]%s: %s", where, key, fmt.Sprintf(format, args...))
}

// str returns [storage]key, or def when it is not set.
func (c *tahoeCfg) str(key, def string) (string, error) {
	v, ok, err := c.ini.get("storage", key)
	if err != nil {
		return "", sharestore.Errorf(sharestore.ErrInvalidArgument, "%v", err)
	}
	if !ok {
		return def, nil
	}
	return v, nil
}

// boolean reads [storage]key as configparser's getboolean does.
func (c *tahoeCfg) boolean(key string, def bool) (bool, error) {
	v, err := c.str(key, "")
	if err != nil || v == "" && c.ini.line("storage", key) == 0 {
		return def, err
	}
	switch strings.ToLower(v) {
	case "1", "yes", "true", "on":
		return true, nil
	case "0", "no", "false", "off":
		return false, nil
	}
	return false, c.fail(key, "Not a boolean: %s", v)
}

// LoadTahoe reads the Tahoe-LAFS node configuration BASEDIR/tahoe.cfg, and
// the secrets its cloud backend needs from BASEDIR/private/, into
// Settings: Defaults, with the [storage] keys docs/configuration.md lists
// (storage_dir, readonly, reserved_space, expire.*, and the cloud
// branch's backend with its s3.*, googlestorage.* and msazure.* keys),
// and the state directory BASEDIR/sharestore-state. Values mean what they
// mean to Tahoe, and bad ones fail with Tahoe's text where it has one.
// A node whose storage is not enabled is an error. Every error wraps
// sharestore.ErrInvalidArgument and names the file and the key, as
// "[storage]expire.mode".
func LoadTahoe(basedir string) (Settings, error) {
	path := filepath.Join(basedir, "tahoe.cfg")
	ini, err := readINI(path)
	if err != nil {
		return Settings{}, sharestore.Errorf(sharestore.ErrInvalidArgument, "tahoe.cfg: %v", err)
	}
	c := &tahoeCfg{ini: ini, basedir: basedir}
	s := Defaults()
	s.Source = path
	s.StateDir = filepath.Join(basedir, tahoeState)
	enabled, err := c.boolean("enabled", true)
	if err != nil {
		return Settings{}, err
	}
	if !enabled {
		return Settings{}, c.fail("enabled", "storage is not enabled in this file, so this node stores no shares to crawl")
	}
	if s.ReadOnly, err = c.boolean("readonly", false); err != nil {
		return Settings{}, err
	}
	if err := c.reservedSpace(&s); err != nil {
		return Settings{}, err
	}
	if err := c.expiration(&s); err != nil {
		return Settings{}, err
	}
	if err := c.backend(&s); err != nil {
		return Settings{}, err
	}
	if err := s.Validate(TahoeKeys, time.Now()); err != nil {
		return Settings{}, sharestore.Errorf(sharestore.ErrInvalidArgument, "%s: %v", path, err)
	}
	return s, nil
}

// abbreviatedSize is Tahoe's parse_abbreviated_size: digits, then an
// optional K, M, G, T, P or E (powers of 1000), an I after it for powers
// of 1024, and a B, in any case.
var abbreviatedSize = regexp.MustCompile(`^(\d+)([KMGTPE]?I?B?)$`)

// ParseSize parses a size as Tahoe's parse_abbreviated_size does: 10000,
// 1K or 1KB (1000), 1KiB (1024), 1M, 1MB, 1MiB, 1G, … up to E; the unit in
// any case. Anything else fails with Tahoe's "unparseable value X".
func ParseSize(s string) (int64, error) {
	m := abbreviatedSize.FindStringSubmatch(strings.ToUpper(s))
	if m == nil || m[2] == "I" || m[2] == "IB" {
		return 0, fmt.Errorf("unparseable value %s", s)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("unparseable value %s", s)
	}
	suffix := strings.TrimSuffix(m[2], "B")
	base := int64(1000)
	if strings.HasSuffix(suffix, "I") {
		base, suffix = 1024, strings.TrimSuffix(suffix, "I")
	}
	mult := int64(1)
	if suffix != "" {
		for range strings.Index("KMGTPE", suffix) + 1 {
			mult *= base
		}
	}
	if n > (1<<63-1)/mult {
		return 0, fmt.Errorf("unparseable value %s: too large", s)
	}
	return n * mult, nil
}

func (c *tahoeCfg) reservedSpace(s *Settings) error {
	v, err := c.str("reserved_space", "")
	if err != nil || v == "" {
		return err
	}
	if s.ReservedSpace, err = ParseSize(v); err != nil {
		return c.fail("reserved_space", "%v", err)
	}
	return nil
}

// expiration reads expire.* as Tahoe does: every value is parsed even
// when expiration is off, and the mode's value wins over the other
// mode's key, which Tahoe ignores.
func (c *tahoeCfg) expiration(s *Settings) error {
	for _, k := range []string{"expire.immutable", "expire.mutable"} {
		on, err := c.boolean(k, true)
		if err != nil {
			return err
		}
		if !on {
			return c.fail(k, "%s = False is no longer supported: per-type expiration was removed; expiration applies to immutable and mutable shares alike (OldConfigOptionError)", k)
		}
	}
	enabled, err := c.boolean("expire.enabled", false)
	if err != nil {
		return err
	}
	mode, err := c.str("expire.mode", "")
	if err != nil {
		return err
	}
	override, err := c.str("expire.override_lease_duration", "")
	if err != nil {
		return err
	}
	cutoff, err := c.str("expire.cutoff_date", "")
	if err != nil {
		return err
	}
	if override != "" {
		if _, err := leasedb.ParseDuration(override); err != nil {
			return c.fail("expire.override_lease_duration", "%v", err)
		}
	}
	if cutoff != "" {
		if _, err := leasedb.ParseDate(cutoff); err != nil {
			return c.fail("expire.cutoff_date", "%v", err)
		}
	}
	p, err := leasedb.NewExpirationPolicy(enabled, mode, override, cutoff)
	if err != nil {
		key := "expire.mode"
		if strings.Contains(err.Error(), "expire.override_lease_duration") {
			key = "expire.override_lease_duration"
		}
		return c.fail(key, "%v", err)
	}
	if !p.Enabled {
		return nil
	}
	s.ExpireMode = p.Mode
	if p.Mode == leasedb.ModeAge {
		s.ExpireOverride = override
	} else {
		s.ExpireCutoffDate = cutoff
	}
	return nil
}
