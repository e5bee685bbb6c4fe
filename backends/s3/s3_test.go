package s3_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
	"github.com/sharestore/sharestore/backends/cloud/cloudtest"
	"github.com/sharestore/sharestore/backends/s3"
	"github.com/sharestore/sharestore/conformance"
	"github.com/sharestore/sharestore/internal/emulators"
)

func TestMain(m *testing.M) { os.Exit(emulators.Run(m)) }

const bucket = "sharestore-test"

var makeBucket sync.Once

// minio returns the configuration of the test bucket on MinIO, creating
// it once.
func minio(t emulators.TB) s3.Config {
	srv := emulators.Get(t, emulators.MinIO)
	c := s3.Config{
		Bucket:          bucket,
		Region:          "us-east-1",
		Endpoint:        srv.Endpoint,
		PathStyle:       true,
		AccessKeyID:     emulators.MinIOUser,
		SecretAccessKey: emulators.MinIOPassword,
	}
	var err error
	makeBucket.Do(func() {
		var st *s3.Store
		if st, err = s3.NewStore(context.Background(), c); err == nil {
			err = st.CreateBucket(context.Background())
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
		Open: func(t conformance.TB, keyPrefix string, client *http.Client, opts cloud.Options) *cloud.Backend {
			c := minio(t)
			c.KeyPrefix, c.HTTPClient, c.Backend = keyPrefix, client, opts
			b, err := s3.Open(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
	}
}

// TestMinIO runs the conformance suite and the cloud acceptance tests
// against MinIO.
func TestMinIO(t *testing.T) { cloudtest.Run(t, factory()) }

// CreateBucket twice succeeds: the bucket is already ours.
func TestCreateBucketIdempotent(t *testing.T) {
	c := minio(t)
	st, err := s3.NewStore(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// Wrong credentials fail fast with ErrPermissionDenied, and the error
// names neither the secret key nor the signature.
func TestWrongCredentialsNoSecretInError(t *testing.T) {
	c := minio(t)
	const secret = "wrong-secret-value-1234567890"
	c.SecretAccessKey = secret
	c.KeyPrefix = "secrets"
	b, err := s3.Open(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	err = b.ListPrefix(context.Background(), "aa", func(sharestore.ShareInfo) error { return nil })
	if !errors.Is(err, sharestore.ErrPermissionDenied) {
		t.Fatalf("ListPrefix with a wrong secret: %v, want ErrPermissionDenied", err)
	}
	if msg := err.Error(); strings.Contains(msg, secret) || strings.Contains(msg, "Signature=") && !strings.Contains(msg, "REDACTED") {
		t.Fatalf("error leaks a secret: %s", msg)
	}
	if !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Logf("error: %v", err)
	}
}

// MinIO deletes an object whatever DeleteObject's If-Match says, so the
// adapter declares no conditional delete. If this test starts failing,
// MinIO honours the precondition and the adapter can offer
// cloud.ConditionalDeleter with it.
func TestMinIOIgnoresDeleteIfMatch(t *testing.T) {
	ctx := context.Background()
	c := minio(t)
	st, err := s3.NewStore(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	key := cloudtest.FreshPrefix("ifmatch") + "/object"
	if err := st.Put(ctx, key, []byte("bytes")); err != nil {
		t.Fatal(err)
	}
	_, err = st.Client().DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String(c.Bucket), Key: aws.String(key), IfMatch: aws.String(`"00000000000000000000000000000000"`)})
	if err != nil {
		t.Fatalf("DeleteObject with a wrong If-Match: %v; MinIO now refuses it, so the adapter could implement cloud.ConditionalDeleter", err)
	}
	if _, err := st.Head(ctx, key); !errors.Is(err, sharestore.ErrNotFound) {
		t.Fatalf("after DeleteObject with a wrong If-Match, Head: %v", err)
	}
	b, err := s3.Open(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if b.Capabilities().ConditionalDelete {
		t.Fatal("the S3 backend declares ConditionalDelete")
	}
}
