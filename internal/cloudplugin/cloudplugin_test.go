package cloudplugin

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/plugin"
)

func TestFactoryServesOnlyItsScheme(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		scheme, url, msg string
	}{
		{"s3", "gs://bucket?auth=none", "serves s3:// backends, not gs://"},
		{"gs", "azblob://c?account=a", "serves gs:// backends, not azblob://"},
		{"azblob", "s3://b", "serves azblob:// backends, not s3://"},
		{"", "ftp://x", "unknown scheme"},
	}
	for _, c := range cases {
		_, err := Factory(c.scheme)(ctx, plugin.Config{URL: c.url})
		if !errors.Is(err, sharestore.ErrInvalidArgument) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s plugin given %s: %v", c.scheme, c.url, err)
		}
	}
	_, err := Factory("s3")(ctx, plugin.Config{URL: "s3://b", Options: map[string]string{"x": "y"}})
	if !errors.Is(err, sharestore.ErrInvalidArgument) {
		t.Errorf("options: %v", err)
	}
}
