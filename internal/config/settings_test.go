package config

import (
	"testing"
	"time"
)

func TestCrawlerConfig(t *testing.T) {
	s := Defaults()
	s.PrefixesInFlight = 4
	a, b := s.CrawlerConfig("accounting"), s.CrawlerConfig("buckets")
	if a.MinimumCycleTime != 12*time.Hour || a.SlowStart != 10*time.Minute || a.AllowedCPUProportion != 0.1 || a.CPUSlice != time.Second || a.PrefixesInFlight != 4 {
		t.Errorf("accounting %+v", a)
	}
	if b.MinimumCycleTime != time.Hour || b.SlowStart != 5*time.Minute || b.AllowedCPUProportion != 0.1 || b.CPUSlice != time.Second {
		t.Errorf("buckets %+v", b)
	}
	s.Fast = true
	for _, name := range []string{"accounting", "buckets"} {
		if c := s.CrawlerConfig(name); c.AllowedCPUProportion != 1 || c.SlowStart != 0 || c.MinimumCycleTime != Defaults().CrawlerConfig(name).MinimumCycleTime {
			t.Errorf("fast %s: %+v, want a duty cycle of 1, no slow start, the same cycle time", name, c)
		}
	}
}

func TestGetenv(t *testing.T) {
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_SESSION_TOKEN", "from-env")
	s := Settings{Secrets: map[string]Secret{"AWS_SESSION_TOKEN": {Source: "unset"}, "AWS_SECRET_ACCESS_KEY": {Value: "v", Source: "/p/s3secret"}}}
	if s.Getenv("AWS_REGION") != "eu-west-1" || s.Getenv("AWS_SESSION_TOKEN") != "" || s.Getenv("AWS_SECRET_ACCESS_KEY") != "v" {
		t.Error("Getenv: want the secrets first, then the environment")
	}
	if s.SecretSource("AWS_SECRET_ACCESS_KEY") != "/p/s3secret" || s.SecretSource("AWS_REGION") != "environment AWS_REGION" {
		t.Error("SecretSource")
	}
}
