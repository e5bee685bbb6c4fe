//go:build unix

package plugin_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/mem"
	"github.com/sharestore/sharestore/plugin"
)

const memEnv = "SHARESTORE_PLUGIN_TEST_MEM"

// serveMem is the main of a plugin over the in-process object store of
// backends/mem: the cloud layer, which counts its requests.
func serveMem() {
	plugin.Serve(func(context.Context, plugin.Config) (sharestore.Backend, error) {
		return mem.New(mem.Options{})
	})
	os.Exit(0)
}

func init() {
	if os.Getenv(memEnv) != "" {
		serveMem() // re-executed as a mem plugin; never returns
	}
}

// listRequests lists prefix aa through b and returns b's counts after.
func listRequests(t *testing.T, b sharestore.Backend) sharestore.StoreRequests {
	t.Helper()
	ctx := context.Background()
	var err error
	for range 3 { // the first call after a kill may meet the dead process
		if err = b.ListPrefix(ctx, "aa", func(sharestore.ShareInfo) error { return nil }); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	r, ok, err := sharestore.StoreRequestsOf(ctx, b)
	if err != nil || !ok {
		t.Fatalf("StoreRequestsOf through the plugin: %v, %v", ok, err)
	}
	return r
}

// A plugin's request counts reach the host, exactly, and a restarted
// plugin never makes them go down; a plugin whose backend keeps none
// reports none.
func TestStoreRequestsCrossThePlugin(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(memEnv, "1")
	b, err := plugin.Open(context.Background(), self, plugin.Config{URL: "mem:"}, plugin.HostOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	first := listRequests(t, b)
	if n := first[sharestore.StoreList].OK; n < 1 {
		t.Fatalf("after a ListPrefix the plugin reports %v", first)
	}
	second := listRequests(t, b)
	if d := second.Sub(first); d[sharestore.StoreList].OK != 1 || d.Total() != 1 {
		t.Errorf("one more ListPrefix of an empty prefix counted %v, want 1 list", d)
	}

	old := b.PID()
	if err := killPID(old); err != nil {
		t.Fatal(err)
	}
	waitGone(t, old, 10*time.Second)
	third := listRequests(t, b)
	if d := third.Sub(second); d[sharestore.StoreList].OK < 1 || d[sharestore.StoreList].Failed < 0 {
		t.Errorf("after a restart the counts went from %v to %v, want them to grow", second, third)
	}
	for _, op := range sharestore.StoreOps {
		if d := third.Sub(second)[op]; d.OK < 0 || d.Failed < 0 || d.NotFound < 0 {
			t.Errorf("after a restart the %s counts went down: %v to %v", op, second[op], third[op])
		}
	}

	disk, _ := openDisk(t, plugin.HostOptions{})
	if r, ok, err := sharestore.StoreRequestsOf(context.Background(), disk); ok || err != nil {
		t.Errorf("the disk plugin reports counts %v (%v, %v), want none", r, ok, err)
	}
	if _, err := disk.StoreRequests(context.Background()); !errors.Is(err, sharestore.ErrUnimplemented) {
		t.Errorf("the disk plugin's StoreRequests: %v, want ErrUnimplemented", err)
	}
}
