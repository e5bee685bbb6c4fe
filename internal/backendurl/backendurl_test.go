package backendurl

import (
	"context"
	"errors"
	"strings"
	"testing"

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
	env := func(string) string { return "" }
	ctx := context.Background()
	if _, err := Open(ctx, "s3://b?path_style=maybe", env, cloudOpts()); !errors.Is(err, sharestore.ErrInvalidArgument) {
		t.Errorf("bad path_style: %v", err)
	}
	if _, err := Open(ctx, "gs://b?auth=key", env, cloudOpts()); !errors.Is(err, sharestore.ErrInvalidArgument) {
		t.Errorf("auth=key without key_file: %v", err)
	}
	b, err := Open(ctx, "s3://b/pfx?endpoint=http://127.0.0.1:1&region=r&path_style=true", env, cloudOpts())
	if err != nil || b.KeyPrefix() != "pfx/" || b.Capabilities().Name != "s3" {
		t.Fatalf("Open s3: %v", err)
	}
}

func cloudOpts() cloud.Options { return cloud.Options{} }
