package gcs_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sharestore/sharestore/backends/cloud"
	"github.com/sharestore/sharestore/backends/cloud/cloudtest"
	"github.com/sharestore/sharestore/backends/gcs"
	"github.com/sharestore/sharestore/conformance"
	"github.com/sharestore/sharestore/internal/emulators"
)

func TestMain(m *testing.M) { os.Exit(emulators.Run(m)) }

const bucket = "sharestore-test"

var makeBucket sync.Once

// fake returns the configuration of the test bucket on fake-gcs-server,
// creating it once.
func fake(t emulators.TB) gcs.Config {
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

var bucketSeq atomic.Int64

// freshBucket creates a new, empty bucket. fake-gcs-server answers a
// listing by scanning the whole bucket, so every backend gets its own
// bucket to keep listings (1024 per crawl cycle) fast.
func freshBucket(t conformance.TB, c gcs.Config) gcs.Config {
	c.Bucket = fmt.Sprintf("t%d", bucketSeq.Add(1))
	st, err := gcs.NewStore(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.CreateBucket(context.Background()); err != nil {
		t.Fatalf("create bucket %s: %v", c.Bucket, err)
	}
	return c
}

func factory() cloudtest.Factory {
	return cloudtest.Factory{
		PageSize: 1000,
		// Its deleteObject handler reads no ifGenerationMatch.
		PreconditionsIgnored: "fake-gcs-server deletes whatever generation a delete's ifGenerationMatch names",
		Open: func(t conformance.TB, keyPrefix string, client *http.Client, opts cloud.Options) *cloud.Backend {
			c := freshBucket(t, fake(t))
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
