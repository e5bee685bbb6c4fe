package cloudplugin

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
	"github.com/sharestore/sharestore/internal/emulators"
	"github.com/sharestore/sharestore/plugin"
)

func TestMain(m *testing.M) { os.Exit(emulators.Run(m)) }

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

func TestFactoryOptions(t *testing.T) {
	for _, tc := range []struct {
		opts map[string]string
		ok   bool
	}{
		{map[string]string{"retry_attempts": "3", "retry_timeout": "30s"}, true},
		{map[string]string{"retry_attempts": "0"}, false},
		{map[string]string{"retry_attempts": "many"}, false},
		{map[string]string{"retry_timeout": "soon"}, false},
		{map[string]string{"retry_timeout": "-1s"}, false},
		{map[string]string{"read_only": "true"}, true},
		{map[string]string{"read_only": "maybe"}, false},
		{map[string]string{"colour": "blue"}, false},
	} {
		got, err := options(tc.opts)
		if tc.ok != (err == nil) || err != nil && !errors.Is(err, sharestore.ErrInvalidArgument) {
			t.Errorf("options(%v) = %+v, %v", tc.opts, got, err)
		}
	}
	got, _ := options(map[string]string{"retry_attempts": "3", "retry_timeout": "30s"})
	if got.Retry.Attempts != 3 || got.Retry.MaxElapsed != 30*time.Second {
		t.Errorf("options set the retry policy %+v", got.Retry)
	}
}

// minio returns the URL of a bucket on MinIO and the secrets that reach
// it.
func minio(t *testing.T, bucket string) (string, map[string]string) {
	srv := emulators.Get(t, emulators.MinIO)
	return "s3://" + bucket + "?region=us-east-1&path_style=true&endpoint=" + srv.Endpoint,
		map[string]string{"access_key_id": emulators.MinIOUser, "secret_access_key": emulators.MinIOPassword}
}

// The options reach the backend the factory opens on MinIO, and the
// factory checks the bucket (one request): a missing one fails Configure
// with ErrNotFound, in one line, naming the plugin secret the
// credentials came from.
func TestFactoryOnMinIO(t *testing.T) {
	ctx := context.Background()
	url, secrets := minio(t, "factory-options")
	_, err := Factory("s3")(ctx, plugin.Config{URL: url, Secrets: secrets})
	if !errors.Is(err, sharestore.ErrNotFound) || !strings.Contains(err.Error(), `bucket "factory-options" does not exist`) ||
		!strings.Contains(err.Error(), "plugin secret access_key_id") || !strings.Contains(err.Error(), "sharestore mkbucket") {
		t.Fatalf("Factory on a missing bucket: %v; want ErrNotFound naming the bucket, the credential source and mkbucket", err)
	}
	b, err := Factory("s3")(ctx, plugin.Config{URL: url, Secrets: secrets, Create: true, Options: map[string]string{"retry_attempts": "2"}})
	if err != nil {
		t.Fatalf("Factory with options: %v", err)
	}
	if got := b.(*cloud.Backend).Options().Retry.Attempts; got != 2 {
		t.Errorf("retry_attempts=2 gave the backend %d attempts", got)
	}
	b.Close()
	// read_only reaches the backend: it declares it, and refuses a
	// write without a request.
	b, err = Factory("s3")(ctx, plugin.Config{URL: url, Secrets: secrets, Options: map[string]string{"read_only": "true"}})
	if err != nil {
		t.Fatalf("Factory read_only: %v", err)
	}
	defer b.Close()
	if !b.Capabilities().ReadOnly {
		t.Error("read_only=true: Capabilities().ReadOnly is false")
	}
	if err := b.Shareset(sharestore.StorageIndex{1}).DeleteShare(ctx, 0, nil); !errors.Is(err, sharestore.ErrPermissionDenied) {
		t.Errorf("DeleteShare on a read_only backend: %v, want ErrPermissionDenied", err)
	}
	if _, err := Factory("s3")(context.Background(), plugin.Config{URL: "s3://b?endpoint=http://127.0.0.1:1&region=r", Create: true,
		Options: map[string]string{"read_only": "true"}}); !errors.Is(err, sharestore.ErrInvalidArgument) {
		t.Errorf("Create with read_only: %v, want ErrInvalidArgument", err)
	}
}

func TestSecretsEnv(t *testing.T) {
	t.Setenv("AWS_SESSION_TOKEN", "from-env")
	t.Setenv("AZURE_STORAGE_ACCOUNT", "acct-env")
	env := secretsEnv(map[string]string{
		"aws_access_key_id": "AKIA1",
		"secret_access_key": "s3cret",
		"AZURE_STORAGE_KEY": "azkey",
		"Connection_String": "cs",
	})
	for name, want := range map[string]string{
		"AWS_ACCESS_KEY_ID":               "AKIA1",
		"AWS_SECRET_ACCESS_KEY":           "s3cret",
		"AWS_SESSION_TOKEN":               "from-env",
		"AZURE_STORAGE_KEY":               "azkey",
		"AZURE_STORAGE_CONNECTION_STRING": "cs",
		"AZURE_STORAGE_ACCOUNT":           "acct-env",
	} {
		if got := env.Getenv(name); got != want {
			t.Errorf("getenv(%s) = %q, want %q", name, got, want)
		}
	}
	// The message of a failed check names where each credential came
	// from, never its value.
	for name, want := range map[string]string{
		"AWS_ACCESS_KEY_ID":     "plugin secret aws_access_key_id",
		"AWS_SECRET_ACCESS_KEY": "plugin secret secret_access_key",
		"AWS_SESSION_TOKEN":     "environment AWS_SESSION_TOKEN",
	} {
		if got := env.Source(name); got != want {
			t.Errorf("Source(%s) = %q, want %q", name, got, want)
		}
	}
}
