package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/plugin"
)

// open runs the plugin's factory, unwrapped, on cfg.
func open(t *testing.T, cfg plugin.Config) (sharestore.Backend, error) {
	t.Helper()
	b, err := factory(nil)(context.Background(), cfg)
	if err == nil {
		t.Cleanup(func() { b.Close() })
	}
	return b, err
}

// sqlite:PATH and sqlite://PATH name the file; a missing file needs
// Create; the options reach the backend; a share written through one
// backend is there in the next one on the same file.
func TestFactory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shares.db")
	if _, err := open(t, plugin.Config{URL: "sqlite:" + path}); !errors.Is(err, sharestore.ErrNotFound) {
		t.Fatalf("a missing file without Create: %v, want ErrNotFound", err)
	}
	b, err := open(t, plugin.Config{URL: "sqlite:" + path, Create: true, Options: map[string]string{"chunk_size": "1000"}})
	if err != nil {
		t.Fatal(err)
	}
	if c := b.Capabilities(); c.Name != "sqlite" || c.ChunkSize != 1000 || c.ReadOnly || !c.ConditionalDelete {
		t.Fatalf("capabilities %+v, want sqlite, chunk size 1000, writable, conditional deletes", c)
	}
	var si sharestore.StorageIndex
	container := append([]byte{0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 0}, "hello"...)
	if err := b.Shareset(si).PutRaw(context.Background(), 3, bytes.NewReader(container), int64(len(container))); err != nil {
		t.Fatal(err)
	}
	b.Close()
	b, err = open(t, plugin.Config{URL: "sqlite://" + path, Options: map[string]string{"read_only": "true"}})
	if err != nil {
		t.Fatal(err)
	}
	if c := b.Capabilities(); c.ChunkSize != 512<<10 || !c.ReadOnly {
		t.Fatalf("capabilities %+v, want the default chunk size 524288 and read-only", c)
	}
	if got, err := b.Shareset(si).ReadShareData(context.Background(), 3, 0, 100); err != nil || string(got) != "hello" {
		t.Fatalf("ReadShareData after reopening = %q, %v; want hello", got, err)
	}
	if err := b.Shareset(si).PutRaw(context.Background(), 4, bytes.NewReader(container), int64(len(container))); !errors.Is(err, sharestore.ErrPermissionDenied) {
		t.Fatalf("PutRaw with read_only=true: %v, want ErrPermissionDenied", err)
	}
}

// Everything the plugin does not take is ErrInvalidArgument, and the
// message says what it does take, without quoting a URL of another
// scheme past its scheme.
func TestFactoryRefuses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shares.db")
	for _, c := range []struct {
		cfg  plugin.Config
		want string
	}{
		{plugin.Config{URL: "s3://KEY:SECRET@bucket"}, `serves sqlite:PATH backends, not "s3:…"`},
		{plugin.Config{URL: path}, `not "a URL without a scheme"`},
		{plugin.Config{URL: "sqlite:"}, "want sqlite:PATH"},
		{plugin.Config{URL: "sqlite:" + path + "?mode=ro", Create: true}, "without '?' or '#'"},
		{plugin.Config{URL: "sqlite:" + path, Create: true, Options: map[string]string{"chunk_size": "0"}}, `chunk_size="0": want a positive number`},
		{plugin.Config{URL: "sqlite:" + path, Create: true, Options: map[string]string{"chunk_size": "1k"}}, `chunk_size="1k"`},
		{plugin.Config{URL: "sqlite:" + path, Create: true, Options: map[string]string{"read_only": "yes"}}, `read_only="yes": want true or false`},
		{plugin.Config{URL: "sqlite:" + path, Create: true, Options: map[string]string{"page_size": "7"}}, `unknown option "page_size" for the sqlite plugin (it takes chunk_size and read_only)`},
		{plugin.Config{URL: "sqlite:" + path, Create: true, Secrets: map[string]string{"token": "x", "key": "y"}}, "takes no secrets (given key, token)"},
	} {
		_, err := open(t, c.cfg)
		if !errors.Is(err, sharestore.ErrInvalidArgument) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v; want ErrInvalidArgument saying %q", c.cfg, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%+v: the error %q quotes the URL's credential", c.cfg, err)
		}
	}
}
