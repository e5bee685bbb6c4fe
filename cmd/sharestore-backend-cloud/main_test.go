package main_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/internal/cloudplugin/plugintest"
	"github.com/sharestore/sharestore/share"
)

var bin string

func TestMain(m *testing.M) { plugintest.Main(m, &bin) }

// The plugin that serves every cloud scheme passes the whole suite on S3
// (each single-provider plugin runs it on its own provider, in its own
// test binary), and serves a GCS and an Azure URL too: it writes a share
// there and lists it.
func TestPluginS3(t *testing.T) { plugintest.RunAll(t, bin, "s3") }

func TestPluginOtherSchemes(t *testing.T) {
	for _, kind := range []string{"gs", "azblob"} {
		t.Run(kind, func(t *testing.T) {
			h := &plugintest.Harness{Bin: bin, Kind: kind}
			ctx := context.Background()
			b, err := h.NewBackend(ctx, t)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			si := sharestore.StorageIndex{7, 1, 2}
			raw := append(share.NewImmutableHeader(1, 5), "hello"...)
			if err := b.Shareset(si).PutRaw(ctx, 3, bytes.NewReader(raw), int64(len(raw))); err != nil {
				t.Fatal(err)
			}
			var got []sharestore.ShareInfo
			if err := b.ListPrefix(ctx, si.Prefix(), func(i sharestore.ShareInfo) error { got = append(got, i); return nil }); err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].SI != si || got[0].Shnum != 3 {
				t.Fatalf("listed %+v", got)
			}
		})
	}
}
