package azure_test

import (
	"context"
	"net/http"
	"os"
	"sync"
	"testing"

	"github.com/sharestore/sharestore/backends/azure"
	"github.com/sharestore/sharestore/backends/cloud"
	"github.com/sharestore/sharestore/backends/cloud/cloudtest"
	"github.com/sharestore/sharestore/conformance"
	"github.com/sharestore/sharestore/internal/emulators"
)

func TestMain(m *testing.M) { os.Exit(emulators.Run(m)) }

const containerName = "sharestore-test"

var makeContainer sync.Once

// azurite returns the configuration of the test container on Azurite,
// creating it once.
func azurite(t emulators.TB) azure.Config {
	srv := emulators.Get(t, emulators.Azurite)
	c := azure.Config{
		Account:    emulators.AzuriteAccount,
		AccountKey: emulators.AzuriteAccountKey,
		Container:  containerName,
		Endpoint:   srv.Endpoint + "/" + emulators.AzuriteAccount,
	}
	var err error
	makeContainer.Do(func() {
		var st *azure.Store
		if st, err = azure.NewStore(context.Background(), c); err == nil {
			err = st.CreateBucket(context.Background())
		}
	})
	if err != nil {
		t.Fatalf("create container: %v", err)
	}
	return c
}

func factory() cloudtest.Factory {
	return cloudtest.Factory{
		PageSize: 5000,
		Open: func(t conformance.TB, keyPrefix string, client *http.Client, opts cloud.Options) *cloud.Backend {
			c := azurite(t)
			c.KeyPrefix, c.HTTPClient, c.Backend = keyPrefix, client, opts
			b, err := azure.Open(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
	}
}

// TestAzurite runs the conformance suite and the cloud acceptance tests
// against Azurite.
func TestAzurite(t *testing.T) { cloudtest.Run(t, factory()) }

// The connection string form reaches the same container, and a malformed
// one is refused without echoing it.
func TestConnectionString(t *testing.T) {
	c := azurite(t)
	cs := "DefaultEndpointsProtocol=http;AccountName=" + c.Account + ";AccountKey=" + c.AccountKey + ";BlobEndpoint=" + c.Endpoint + ";"
	st, err := azure.NewStore(context.Background(), azure.Config{ConnectionString: cs, Container: containerName})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.List(context.Background(), "", ""); err != nil {
		t.Fatal(err)
	}
	_, err = azure.NewStore(context.Background(), azure.Config{ConnectionString: "AccountKey=s3cr3t-not-base64", Container: containerName})
	if err == nil {
		t.Fatal("malformed connection string accepted")
	}
	if got := err.Error(); contains(got, "s3cr3t") {
		t.Fatalf("error echoes the secret: %s", got)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
