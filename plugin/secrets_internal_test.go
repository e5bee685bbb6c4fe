package plugin

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sharestore/sharestore"
	pb "github.com/sharestore/sharestore/plugin/proto/backendv1"
)

// TestConfigureSecretsNotInErrors checks that an error the plugin sends
// its host never holds the value of a secret Configure received,
// whatever the backend quotes: at Configure itself and after it.
func TestConfigureSecretsNotInErrors(t *testing.T) {
	const secret = "configure-secret-value-42"
	s := &server{factory: func(_ context.Context, cfg Config) (sharestore.Backend, error) {
		return nil, sharestore.Errorf(sharestore.ErrPermissionDenied, "login with %s refused", cfg.Secrets["pw"])
	}}
	_, err := s.Configure(context.Background(), &pb.ConfigureRequest{Url: "x:", Secrets: map[string]string{"pw": secret}})
	if err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "login with REDACTED refused") {
		t.Errorf("Configure's error: %v", err)
	}
	got := fromStatus(context.Background(), toStatus(sharestore.Errorf(sharestore.ErrNotFound, "share %s/1 gone", secret)), "op")
	if strings.Contains(got.Error(), secret) || !errors.Is(got, sharestore.ErrNotFound) {
		t.Errorf("a later error: %v", got)
	}
}
