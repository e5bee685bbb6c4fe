package gcs_test

import (
	"context"
	"net/http"
	"os"
	"sync"
	"testing"

	"github.com/sharestore/sharestore/backends/cloud"
	"github.com/sharestore/sharestore/backends/cloud/cloudtest"
	"github.com/sharestore/sharestore/backends/gcs"
	"github.com/sharestore/sharestore/internal/emulators"
)

func TestMain(m *testing.M) { os.Exit(emulators.Run(m)) }

const bucket = "sharestore-test"

var makeBucket sync.Once

// fake returns the configuration of the test bucket on fake-gcs-server,
// creating it once.
func fake(t testing.TB) gcs.Config {
	srv := emulators.Get(t, emulators.FakeGCS)
	c := gcs.Config{Bucket: bucket, Endpoint: srv.Endpoint, Credentials: gcs.NoAuth}
	var err error
	makeBucket.Do(func() {
		var st *gcs.Store
		if st, err = gcs.NewStore(context.Background(), c); err == nil {
			err = st.CreateBucket(context.Background())
			st.Close()
		}
	})
	if err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	return c
}

func factory() cloudtest.Factory {
	return cloudtest.Factory{
		PageSize: 1000,
		Open: func(t testing.TB, keyPrefix string, client *http.Client, opts cloud.Options) *cloud.Backend {
			c := fake(t)
			c.KeyPrefix, c.HTTPClient, c.Backend = keyPrefix, client, opts
			b, err := gcs.Open(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			return b
		},
	}
}

// TestFakeGCS runs the conformance suite and the cloud acceptance tests
// against fake-gcs-server.
func TestFakeGCS(t *testing.T) { cloudtest.Run(t, factory()) }
