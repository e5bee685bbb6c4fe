//go:build unix

package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is the browser the page test drives: $SHARESTORE_CHROMIUM,
// or Debian's chromium, which scripts/install-chromium.sh installs.
func chromiumPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("SHARESTORE_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(p); err != nil {
		if os.Getenv("SHARESTORE_REQUIRE_EMULATORS") != "" {
			t.Fatalf("no Chromium at %s (run scripts/install-chromium.sh): %v", p, err)
		}
		t.Skipf("no Chromium at %s (run scripts/install-chromium.sh)", p)
	}
	return p
}

// browser starts a headless Chromium for the test, with everything that
// would reach outside the machine turned off, and collects what the
// page logs as errors.
func browser(t *testing.T) (context.Context, func() []string) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, // the tests run as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1200, 1600),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	var mu sync.Mutex
	var errs []string
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				mu.Lock()
				errs = append(errs, m.String()+" "+m.URL)
				mu.Unlock()
			}
		}
	}()
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), errs...)
	}
}

// The status page in a real browser: it loads with no console error,
// shows the accounting crawler's progress and the lease-age chart, and
// updates itself while the cycle runs. The screenshot is kept in
// $SHARESTORE_ARTIFACTS_DIR (make test: test-artifacts/), or in the
// test's artifact directory.
func TestServePageInBrowser(t *testing.T) {
	ctx, consoleErrors := browser(t)
	store := sampleStore(t)
	// --rate-limit stretches the cycle over several of the page's
	// 5-second refreshes.
	d := startDaemon(t, "--backend", "disk:"+store, "--state-dir", t.TempDir(), "--fast", "--crawler", "accounting", "--rate-limit", "60")
	d.waitFor(t, "a cycle under way", func(st statusJSON) bool {
		p := st.LeaseCheckerProgress
		return p != nil && p.CycleInProgress && p.CompletePrefixes > 0
	})
	percent := func() float64 {
		t.Helper()
		attr, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`tr.crawler[data-name="accounting"]`), "data-percent"))
		if err != nil || !attr.Exists {
			t.Fatalf("no accounting progress on the page: %v", err)
		}
		f, err := strconv.ParseFloat(attr.Value, 64)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(d.url+"/"), chromedp.WaitVisible(chromedp.CSS(`#lease-age-chart`))); err != nil {
		t.Fatalf("loading the page: %v", err)
	}
	first := percent()
	// The page reloads itself: wait, in the browser, for a new value.
	var later float64
	deadline := time.Now().Add(90 * time.Second)
	for later = first; later <= first; later = percent() {
		if time.Now().After(deadline) {
			t.Fatalf("the page still shows %.1f%% after 90 s: it does not update", first)
		}
		chromedp.Do(ctx, chromedp.Sleep(500*time.Millisecond))
	}
	bars, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll(`#lease-age-chart rect.bucket`)))
	if err != nil || len(bars) == 0 {
		t.Fatalf("no bar in the lease-age chart: %v", err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#crawlers`)))
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "Accounting") || !strings.Contains(text, "Current crawl") {
		t.Errorf("the crawlers table reads %q", text)
	}
	dir := os.Getenv("SHARESTORE_ARTIFACTS_DIR")
	if dir == "" {
		dir = t.ArtifactDir()
	}
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, "status-page.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	if errs := consoleErrors(); len(errs) > 0 {
		t.Errorf("the page logged errors: %q", errs)
	}
	t.Logf("progress on the page went from %.1f%% to %.1f%%; screenshot in %s", first, later, dir)
	d.stop(t)
}
