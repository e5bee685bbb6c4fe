// Package s3 is the Amazon S3 (and S3-compatible: MinIO, Ceph, …) share
// backend: a thin cloud.ObjectStore adapter over aws-sdk-go-v2, with the
// SDK's own retries turned off (backends/cloud retries).
package s3

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
)

// Config configures an S3 backend.
type Config struct {
	// Bucket is the bucket name. Required.
	Bucket string
	// KeyPrefix is put in front of every key (see cloud.Options).
	KeyPrefix string
	// Region is the bucket's region; empty means the default chain's
	// region, or us-east-1 if it has none.
	Region string
	// Endpoint is a custom endpoint URL (MinIO, Ceph, …); empty means
	// AWS.
	Endpoint string
	// PathStyle addresses the bucket in the path instead of the host
	// name (MinIO needs it).
	PathStyle bool
	// AccessKeyID and SecretAccessKey are static credentials, with an
	// optional SessionToken. When AccessKeyID is empty the SDK's default
	// credential chain is used (environment, shared files, SSO, web
	// identity, instance roles).
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// CredentialSource says, for messages, where AccessKeyID came from
	// (such as "environment AWS_ACCESS_KEY_ID"); empty means "static
	// credentials". It must hold no secret.
	CredentialSource string
	// HTTPClient, if set, carries every request (tests inject faults
	// with it).
	HTTPClient *http.Client
	// Logger receives the SDK's log records (see cloud.SDKLogger): nil
	// means slog.Default().
	Logger *slog.Logger
	// Backend holds the options of the cloud layer (retry policy, chunk
	// size, node ID, …). Its Name and KeyPrefix are set from this
	// Config.
	Backend cloud.Options
}

// String describes the configuration without any credential.
func (c Config) String() string {
	return fmt.Sprintf("s3://%s/%s (endpoint %q, region %q, path style %v)", c.Bucket, c.KeyPrefix, c.Endpoint, c.Region, c.PathStyle)
}

// Store is the S3 cloud.ObjectStore.
type Store struct {
	client *s3.Client
	bucket string
	// For CheckBucket's messages: the endpoint, the static credentials'
	// source ("" when the default chain is used) and the sources the
	// chain tries.
	endpoint, static, chain string
}

var _ cloud.ObjectStore = (*Store)(nil)
var _ cloud.BucketCreator = (*Store)(nil)
var _ cloud.BucketChecker = (*Store)(nil)

// imdsTimeout bounds each request to the instance metadata service, so
// that a machine that is not an EC2 instance fails over in about a
// second instead of hanging.
const imdsTimeout = time.Second

// NewStore builds the S3 client. It does no I/O (credentials from the
// default chain are resolved on first use, or by CheckBucket).
//
// The SDK logs through c.Logger only, never to stderr on its own: its
// default logger would print every record, debug ones included, and a
// GetObject of a byte range (the layer's chunk reads) carries no
// whole-object checksum, so with response checksum validation on (the
// SDK's default, kept for whole-object reads) every such read logged
// "Response has no supported checksum. Not validating response
// payload." That record is turned off at the source
// (DisableLogOutputChecksumValidationSkipped): it says nothing for a
// ranged read.
//
// The instance metadata service (IMDS) is one of the default chain's
// credential sources, and the last. It is never asked when c.Endpoint
// is set (a MinIO or Ceph endpoint is not on EC2), nor when
// AWS_EC2_METADATA_DISABLED=true; when it is asked, it gets IMDSv2 only
// (no silent fallback to IMDSv1), one attempt and imdsTimeout per
// request.
func NewStore(ctx context.Context, c Config) (*Store, error) {
	if c.Bucket == "" {
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "s3: bucket name is required")
	}
	logger := sdkLogger{cloud.SDKLogger(c.Logger, "aws")}
	imdsOn := c.Endpoint == "" && !strings.EqualFold(os.Getenv("AWS_EC2_METADATA_DISABLED"), "true")
	imdsState := imds.ClientEnabled
	if !imdsOn {
		imdsState = imds.ClientDisabled
	}
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
		config.WithLogger(logger),
		config.WithEC2IMDSClientEnableState(imdsState),
		config.WithEC2RoleCredentialOptions(func(o *ec2rolecreds.Options) {
			o.Client = imds.New(imds.Options{
				// The SDK's own variables for the endpoint, which
				// imds.New does not read itself.
				Endpoint:          os.Getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT"),
				EndpointMode:      imdsMode(os.Getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE")),
				ClientEnableState: imdsState,
				EnableFallback:    aws.FalseTernary,
				Retryer:           aws.NopRetryer{},
				HTTPClient:        &http.Client{Timeout: imdsTimeout},
				Logger:            logger,
			})
		}),
	}
	if c.Region != "" {
		opts = append(opts, config.WithRegion(c.Region))
	}
	st := &Store{bucket: c.Bucket, endpoint: c.Endpoint}
	if c.AccessKeyID != "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)))
		st.static = cmp.Or(c.CredentialSource, "static credentials")
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		// The SDK's configuration errors name files and profiles,
		// never secret values.
		return nil, sharestore.Wrap(sharestore.ErrInvalidArgument, err, "s3: load AWS configuration")
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if st.endpoint == "" {
		st.endpoint = "https://s3." + cfg.Region + ".amazonaws.com"
	}
	st.chain = chainSources(imdsOn, c.Endpoint != "")
	st.client = s3.NewFromConfig(cfg, func(o *s3.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
		}
		o.UsePathStyle = c.PathStyle
		o.Retryer = aws.NopRetryer{}
		o.DisableLogOutputChecksumValidationSkipped = true
		if c.HTTPClient != nil {
			o.HTTPClient = c.HTTPClient
		}
	})
	return st, nil
}

// Open returns the S3 share backend described by c.
func Open(ctx context.Context, c Config) (*cloud.Backend, error) {
	st, err := NewStore(ctx, c)
	if err != nil {
		return nil, err
	}
	o := c.Backend
	o.Name, o.KeyPrefix = "s3", c.KeyPrefix
	o.MaxObjectSize = 5 << 40
	return cloud.New(st, o)
}

// Client returns the underlying SDK client (benchmarks compare against
// raw listings with it).
func (s *Store) Client() *s3.Client { return s.client }

// Bucket returns the bucket name.
func (s *Store) Bucket() string { return s.bucket }

// List implements cloud.ObjectStore with ListObjectsV2 (1000 keys a
// page).
func (s *Store) List(ctx context.Context, prefix, token string) (cloud.Page, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(prefix)}
	if token != "" {
		in.ContinuationToken = aws.String(token)
	}
	out, err := s.client.ListObjectsV2(ctx, in)
	if err != nil {
		return cloud.Page{}, classify(err, "list "+prefix)
	}
	p := cloud.Page{Objects: make([]cloud.Object, 0, len(out.Contents))}
	for _, o := range out.Contents {
		obj := cloud.Object{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size), Version: aws.ToString(o.ETag)}
		if o.LastModified != nil {
			obj.ModTime = *o.LastModified
		}
		p.Objects = append(p.Objects, obj)
	}
	if aws.ToBool(out.IsTruncated) {
		p.Next = aws.ToString(out.NextContinuationToken)
		if p.Next == "" {
			return cloud.Page{}, sharestore.Errorf(sharestore.ErrInternal, "s3: list %s: truncated page without a continuation token", prefix)
		}
	}
	return p, nil
}

// Get implements cloud.ObjectStore with a ranged GetObject.
func (s *Store) Get(ctx context.Context, key string, off, n int64) ([]byte, error) {
	if n == 0 {
		if _, err := s.Head(ctx, key); err != nil {
			return nil, err
		}
		return []byte{}, nil
	}
	in := &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)}
	switch {
	case n > 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", off, off+n-1))
	case off > 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", off))
	}
	out, err := s.client.GetObject(ctx, in)
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "InvalidRange" {
			return []byte{}, nil // the range starts at or past the end
		}
		return nil, classify(err, "get "+key)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, classify(err, "get "+key)
	}
	return b, nil
}

// Put implements cloud.ObjectStore with PutObject.
func (s *Store) Put(ctx context.Context, key string, data []byte) error {
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(key),
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
		ContentType:   aws.String("application/octet-stream"),
	})
	return classify(err, "put "+key)
}

// Delete implements cloud.ObjectStore with DeleteObject. The store is no
// cloud.ConditionalDeleter: MinIO, which the adapter is tested against,
// ignores DeleteObject's If-Match (TestMinIOIgnoresDeleteIfMatch), so a
// conditional delete could not be shown to work; Capabilities says so
// and DeleteShare relies on its guard's check under the lock.
func (s *Store) Delete(ctx context.Context, key string) error {
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	return classify(err, "delete "+key)
}

// Head implements cloud.ObjectStore with HeadObject.
func (s *Store) Head(ctx context.Context, key string) (cloud.Object, error) {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		return cloud.Object{}, classify(err, "head "+key)
	}
	o := cloud.Object{Key: key, Size: aws.ToInt64(out.ContentLength), Version: aws.ToString(out.ETag)}
	if out.LastModified != nil {
		o.ModTime = *out.LastModified
	}
	return o, nil
}

// CheckBucket implements cloud.BucketChecker: it resolves the
// credentials (when they are not static) and makes one HeadBucket.
func (s *Store) CheckBucket(ctx context.Context) (cloud.Endpoint, error) {
	ep := cloud.Endpoint{Bucket: s.bucket, URL: s.endpoint, Credentials: s.static}
	if s.static == "" {
		creds, err := s.client.Options().Credentials.Retrieve(ctx)
		if err != nil {
			if err := sharestore.CtxErr(ctx); err != nil {
				return ep, err
			}
			// The chain's error is a long list of every source's
			// failure; the message names the sources instead.
			ep.Credentials, ep.NoCredentials = s.chain, true
			return ep, sharestore.Errorf(sharestore.ErrPermissionDenied, "s3: no credentials found")
		}
		ep.Credentials = sourceName(creds.Source)
	}
	_, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.bucket)})
	return ep, classify(err, "head bucket "+s.bucket)
}

// CreateBucket implements cloud.BucketCreator. A bucket the caller
// already owns is not an error.
func (s *Store) CreateBucket(ctx context.Context) error {
	_, err := s.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(s.bucket)})
	var owned *types.BucketAlreadyOwnedByYou
	if errors.As(err, &owned) {
		return nil
	}
	return classify(err, "create bucket "+s.bucket)
}

// classify maps an SDK error into the vocabulary: 404 NotFound,
// SlowDown/503 Throttled, other 5xx and network failures Unavailable,
// 401/403 PermissionDenied. The message holds the operation, the S3 error
// code and the HTTP status; the SDK's errors carry no credentials.
func classify(err error, what string) error {
	if err == nil {
		return nil
	}
	status, code := 0, ""
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	return cloud.ClassifyError("s3", what, cloud.Response{
		Status:    status,
		Code:      code,
		Throttled: code == "SlowDown" || code == "RequestLimitExceeded" || code == "Throttling" || code == "ThrottlingException" || status == 503,
		NotFound:  code == "NoSuchKey" || code == "NoSuchBucket" || code == "NotFound",
	}, err)
}
