package config

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
	"github.com/sharestore/sharestore/internal/backendurl"
	"github.com/sharestore/sharestore/internal/emulators"
)

func TestMain(m *testing.M) { os.Exit(emulators.Run(m)) }

// The Settings of a tahoe.cfg with backend = cloud.s3 open the bucket on
// MinIO with the node's own keys: the environment holds none (and a
// stale session token that would break them), and a wrong
// private/s3secret is refused by the server.
func TestTahoeS3OpensOnMinIO(t *testing.T) {
	srv := emulators.Get(t, emulators.MinIO)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_SESSION_TOKEN", "stale-token-from-the-environment")
	t.Setenv("AWS_PROFILE", "")
	cfg := "[storage]\nbackend = cloud.s3\ns3.bucket = tahoe-cfg\ns3.prefix = node1\ns3.url = " + srv.Endpoint + "\ns3.access_key_id = " + emulators.MinIOUser + "\n"
	ctx := context.Background()

	s, err := LoadTahoe(node(t, cfg, map[string]string{"s3secret": emulators.MinIOPassword + "\n"}))
	if err != nil {
		t.Fatal(err)
	}
	env := backendurl.Env{Getenv: s.Getenv, Source: s.SecretSource}
	if err := backendurl.CreateBucket(ctx, s.Backend, env); err != nil {
		t.Fatalf("CreateBucket(%s): %v", s.Backend, err)
	}
	b, err := backendurl.Open(ctx, s.Backend, env, cloud.Options{})
	if err != nil {
		t.Fatalf("Open(%s): %v", s.Backend, err)
	}
	defer b.Close()
	if b.KeyPrefix() != "node1/" || b.Capabilities().Name != "s3" {
		t.Errorf("key prefix %q, backend %q; want node1/ on s3", b.KeyPrefix(), b.Capabilities().Name)
	}

	wrong, err := LoadTahoe(node(t, cfg, map[string]string{"s3secret": "wrong-" + emulators.MinIOPassword}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = backendurl.Open(ctx, wrong.Backend, backendurl.Env{Getenv: wrong.Getenv, Source: wrong.SecretSource}, cloud.Options{})
	if err == nil || errors.Is(err, sharestore.ErrUnavailable) {
		t.Fatalf("Open with a wrong secret: %v, want a refusal", err)
	}
	if msg := err.Error(); strings.Contains(msg, emulators.MinIOPassword) || !strings.Contains(msg, "tahoe.cfg [storage]s3.access_key_id") {
		t.Errorf("Open with a wrong secret: %q: want the credentials named by their tahoe.cfg key and no secret", msg)
	}
}
