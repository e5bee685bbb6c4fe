package backendurl

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		raw, scheme, bucket, prefix string
	}{
		{"s3://b", "s3", "b", ""},
		{"s3://b/srv1/?endpoint=http://127.0.0.1:9000&region=us-east-1&path_style=true", "s3", "b", "srv1"},
		{"gs://bkt/a/b", "gs", "bkt", "a/b"},
		{"azblob://ctr/p?account=dev", "azblob", "ctr", "p"},
	} {
		s, err := Parse(tc.raw)
		if err != nil || s.Scheme != tc.scheme || s.Bucket != tc.bucket || s.KeyPrefix != tc.prefix {
			t.Errorf("Parse(%q) = %+v, %v", tc.raw, s, err)
		}
	}
	for _, raw := range []string{"s3://", "ftp://x", "s3://b?bogus=1", "s3://key:secret@b", "gs://b/a//b", "gs://b/../x",
		"s3://key:secret", "s3://key:sec/ret@b", "s3://key:secret\x7f@b", "s3://b/%zsecret"} {
		_, err := Parse(raw)
		if !errors.Is(err, sharestore.ErrInvalidArgument) {
			t.Errorf("Parse(%q) = %v, want ErrInvalidArgument", raw, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("Parse(%q) error echoes the secret: %v", raw, err)
		}
	}
	if !IsCloud("gs://x") || IsCloud("disk:/x") {
		t.Error("IsCloud")
	}
}

func TestOpenOptions(t *testing.T) {
	env := Env{Getenv: func(string) string { return "" }}
	ctx := context.Background()
	if _, err := Open(ctx, "s3://b?path_style=maybe", env, cloudOpts()); !errors.Is(err, sharestore.ErrInvalidArgument) {
		t.Errorf("bad path_style: %v", err)
	}
	if _, err := Open(ctx, "gs://b?auth=key", env, cloudOpts()); !errors.Is(err, sharestore.ErrInvalidArgument) {
		t.Errorf("auth=key without key_file: %v", err)
	}
	b, err := open(ctx, "s3://b/pfx?endpoint=http://127.0.0.1:1&region=r&path_style=true", env, cloudOpts())
	if err != nil || b.KeyPrefix() != "pfx/" || b.Capabilities().Name != "s3" {
		t.Fatalf("open s3: %v", err)
	}
	if p := b.Options().ListPlan; p != cloud.PlanAuto {
		t.Errorf("no list_plan: plan %q, want auto", p)
	}
	for _, plan := range []string{"prefix", "range", "auto"} {
		b, err := open(ctx, "azblob://c?endpoint=http://127.0.0.1:1&account=a&list_plan="+plan, env, cloudOpts())
		if err != nil || string(b.Options().ListPlan) != plan {
			t.Errorf("list_plan=%s: %v, plan %v", plan, err, b)
		}
	}
	_, err = Open(ctx, "gs://b?list_plan=flat&auth=none", env, cloudOpts())
	if !errors.Is(err, sharestore.ErrInvalidArgument) || !strings.Contains(err.Error(), `list_plan="flat"`) {
		t.Errorf("list_plan=flat: %v", err)
	}
}

// Open checks the bucket: nothing listens on port 1 of the loopback
// address, so Open fails at once, in one line naming the bucket, the
// endpoint, why and the credential source, and never the secret.
func TestOpenChecksTheBucket(t *testing.T) {
	vars := map[string]string{"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"}
	env := Env{Getenv: func(k string) string { return vars[k] }}
	start := time.Now()
	_, err := Open(context.Background(), "s3://b/pfx?endpoint=http://127.0.0.1:1&region=r&path_style=true", env, cloudOpts())
	if !errors.Is(err, sharestore.ErrUnavailable) {
		t.Fatalf("Open on a closed port: %v (%v), want ErrUnavailable", err, sharestore.CodeOf(err))
	}
	msg := err.Error()
	for _, want := range []string{`s3: cannot reach http://127.0.0.1:1 for bucket "b": connection refused`, "credentials: environment AWS_ACCESS_KEY_ID"} {
		if !strings.Contains(msg, want) {
			t.Errorf("Open: %q\nwant it to say %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") || strings.Contains(msg, vars["AWS_SECRET_ACCESS_KEY"]) || strings.Contains(msg, "operation error") {
		t.Errorf("Open: %q: want one line, no secret, no SDK error chain", msg)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Open took %v to report a closed port", d)
	}
}

func cloudOpts() cloud.Options { return cloud.Options{} }
