package main

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/plugin"
)

// The disk plugin takes disk:PATH, file:PATH and a bare PATH, and refuses
// a URL of another scheme instead of reading it as a relative path.
func TestOpenURLForms(t *testing.T) {
	dir := t.TempDir()
	for _, u := range []string{"disk:" + filepath.Join(dir, "a"), "file://" + filepath.Join(dir, "b"), filepath.Join(dir, "c")} {
		b, err := open(context.Background(), plugin.Config{URL: u, Create: true})
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		b.Close()
	}
	for _, u := range []string{"s3://bucket/prefix", "gs://bucket", "azblob://container", "vendor+x://thing"} {
		_, err := open(context.Background(), plugin.Config{URL: u, Create: true})
		if !errors.Is(err, sharestore.ErrInvalidArgument) || !strings.Contains(err.Error(), "serves disk:PATH backends, not "+strings.SplitN(u, ":", 2)[0]+"://") {
			t.Errorf("%s: %v, want a refusal naming the scheme", u, err)
		}
	}
	// Before a colon without "//" may be a credential (KEY:SECRET@bucket):
	// refused without quoting it.
	_, err := open(context.Background(), plugin.Config{URL: "AKIAFAKE:SUPERSECRET@bucket", Create: true})
	if !errors.Is(err, sharestore.ErrInvalidArgument) || strings.Contains(err.Error(), "AKIAFAKE") || !strings.Contains(err.Error(), "not URLs of another scheme") {
		t.Errorf("KEY:SECRET@bucket: %v", err)
	}
}
