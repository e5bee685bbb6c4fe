package azure

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// Stores opened while another store's requests run: the SDK reads its
// process-wide log listener, unsynchronised, on every request, so run
// with -race this fails when NewStore sets the listener each time. The
// records of the requests still reach the last store's Logger.
func TestNewStoreWhileRequestsRun(t *testing.T) {
	var buf syncBuffer
	debug := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// Nothing listens on port 1: each request fails at once.
	cfg := Config{Container: "c", Endpoint: "http://127.0.0.1:1/devstoreaccount1", Account: "devstoreaccount1", AccountKey: "a2V5", Logger: debug}
	s, err := NewStore(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for range 20 {
			s.CheckBucket(context.Background())
		}
	}()
	go func() {
		defer wg.Done()
		for range 20 {
			if _, err := NewStore(context.Background(), cfg); err != nil {
				t.Error(err)
			}
		}
	}()
	wg.Wait()
	if out := buf.String(); !strings.Contains(out, "sdk=azure") || !strings.Contains(out, "event=") {
		t.Fatalf("no SDK record reached the logger:\n%s", out)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
