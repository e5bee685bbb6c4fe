// Package gcs is the Google Cloud Storage share backend: a thin
// cloud.ObjectStore adapter over cloud.google.com/go/storage (JSON API),
// with the library's own retries turned off (backends/cloud retries).
package gcs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"

	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
)

// Credentials choose how the client authenticates.
type Credentials int

// Credential sources.
const (
	// ADC uses Application Default Credentials.
	ADC Credentials = iota
	// JSONKey uses the service account key in Config.CredentialsJSON or
	// the file Config.CredentialsFile.
	JSONKey
	// NoAuth sends unauthenticated requests (emulators).
	NoAuth
)

// Config configures a GCS backend.
type Config struct {
	// Bucket is the bucket name. Required.
	Bucket string
	// KeyPrefix is put in front of every key (see cloud.Options).
	KeyPrefix string
	// Endpoint is a custom endpoint, such as http://127.0.0.1:4443 for
	// fake-gcs-server; "/storage/v1/" is appended when it has no path.
	// Empty means Google, or STORAGE_EMULATOR_HOST when that is set
	// (the library then sends no credentials).
	Endpoint string
	// Credentials selects the credential source.
	Credentials Credentials
	// CredentialsJSON or CredentialsFile hold a service account key for
	// JSONKey.
	CredentialsJSON []byte
	CredentialsFile string
	// ProjectID is needed only to create the bucket.
	ProjectID string
	// HTTPClient, if set, carries every request (tests inject faults
	// with it); it must do its own authentication, so it is meant for
	// NoAuth.
	HTTPClient *http.Client
	// Logger receives the library's log records (see cloud.SDKLogger):
	// nil means slog.Default(). It takes precedence over
	// GOOGLE_SDK_GO_LOGGING_LEVEL.
	Logger *slog.Logger
	// Backend holds the options of the cloud layer.
	Backend cloud.Options
}

// String describes the configuration without any credential.
func (c Config) String() string {
	return fmt.Sprintf("gs://%s/%s (endpoint %q)", c.Bucket, c.KeyPrefix, c.Endpoint)
}

// Store is the GCS cloud.ObjectStore.
type Store struct {
	client *storage.Client
	bucket *storage.BucketHandle
	name   string
	proj   string
	ep     cloud.Endpoint // for CheckBucket's messages
}

var _ cloud.ObjectStore = (*Store)(nil)
var _ cloud.BucketChecker = (*Store)(nil)
var _ cloud.BucketCreator = (*Store)(nil)
var _ cloud.ConditionalDeleter = (*Store)(nil)

// NewStore builds the GCS client.
func NewStore(ctx context.Context, c Config) (*Store, error) {
	if c.Bucket == "" {
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "gcs: bucket name is required")
	}
	opts := []option.ClientOption{storage.WithJSONReads(), option.WithLogger(cloud.SDKLogger(c.Logger, "gcs"))}
	ep := endpoint(c)
	if c.Endpoint != "" {
		ep := strings.TrimSuffix(c.Endpoint, "/")
		if strings.Count(ep, "/") <= 2 { // scheme://host with no path
			ep += "/storage/v1/"
		}
		opts = append(opts, option.WithEndpoint(ep))
	}
	switch c.Credentials {
	case NoAuth:
		opts = append(opts, option.WithoutAuthentication())
	case JSONKey:
		key := c.CredentialsJSON
		if key == nil && c.CredentialsFile != "" {
			b, err := os.ReadFile(c.CredentialsFile)
			if err != nil {
				return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "gcs: read credentials file %s: %w", c.CredentialsFile, errors.Unwrap(err))
			}
			key = b
		}
		if key == nil {
			return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "gcs: JSON key credentials without a key")
		}
		opts = append(opts, option.WithAuthCredentialsJSON(option.ServiceAccount, key))
	}
	if c.HTTPClient != nil {
		opts = append(opts, option.WithHTTPClient(c.HTTPClient))
	}
	client, err := storage.NewClient(ctx, opts...)
	if err != nil {
		if c.Credentials == ADC && strings.Contains(err.Error(), "could not find default credentials") {
			ep.NoCredentials = true
			return nil, cloud.CheckError("gcs", ep, sharestore.Errorf(sharestore.ErrPermissionDenied, "gcs: no default credentials"))
		}
		// Credential errors name the source, not the key material.
		return nil, cloud.AdapterError(sharestore.ErrInvalidArgument, "gcs: create client", err)
	}
	client.SetRetry(storage.WithPolicy(storage.RetryNever))
	return &Store{client: client, bucket: client.Bucket(c.Bucket), name: c.Bucket, proj: c.ProjectID, ep: ep}, nil
}

// endpoint describes where c's requests go, and with which credentials.
func endpoint(c Config) cloud.Endpoint {
	ep := cloud.Endpoint{Bucket: c.Bucket, URL: c.Endpoint}
	emu := os.Getenv("STORAGE_EMULATOR_HOST")
	switch {
	case ep.URL == "" && emu != "":
		ep.URL = emu
		if !strings.Contains(emu, "://") {
			ep.URL = "http://" + emu
		}
	case ep.URL == "":
		ep.URL = "https://storage.googleapis.com"
	}
	switch {
	case c.Credentials == NoAuth:
		ep.Credentials = "none (auth=none)"
	case c.Credentials == JSONKey && c.CredentialsFile != "" && c.CredentialsJSON == nil:
		ep.Credentials = "JSON key file " + c.CredentialsFile
	case c.Credentials == JSONKey:
		ep.Credentials = "a JSON key"
	case emu != "" && c.Endpoint == "":
		ep.Credentials = "none (STORAGE_EMULATOR_HOST is set)"
	case os.Getenv("GOOGLE_APPLICATION_CREDENTIALS") != "":
		ep.Credentials = "Application Default Credentials, GOOGLE_APPLICATION_CREDENTIALS " + os.Getenv("GOOGLE_APPLICATION_CREDENTIALS")
	default:
		ep.Credentials = "Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud's application_default_credentials.json, the metadata server)"
	}
	return ep
}

// CheckBucket implements cloud.BucketChecker with one request for the
// bucket's attributes.
func (s *Store) CheckBucket(ctx context.Context) (cloud.Endpoint, error) {
	_, err := s.bucket.Attrs(ctx)
	return s.ep, classify(err, "bucket attributes of "+s.name)
}

// Open returns the GCS share backend described by c.
func Open(ctx context.Context, c Config) (*cloud.Backend, error) {
	st, err := NewStore(ctx, c)
	if err != nil {
		return nil, err
	}
	o := c.Backend
	o.Name, o.KeyPrefix = "gcs", c.KeyPrefix
	o.MaxObjectSize = 5 << 40
	return cloud.New(st, o)
}

// Client returns the underlying library client.
func (s *Store) Client() *storage.Client { return s.client }

// Bucket returns the bucket handle.
func (s *Store) Bucket() *storage.BucketHandle { return s.bucket }

// Close closes the client.
func (s *Store) Close() error { return s.client.Close() }

// List implements cloud.ObjectStore (1000 keys a page).
func (s *Store) List(ctx context.Context, prefix, token string) (cloud.Page, error) {
	q := &storage.Query{Prefix: prefix}
	if err := q.SetAttrSelection([]string{"Name", "Size", "Updated", "Generation"}); err != nil {
		return cloud.Page{}, cloud.AdapterError(sharestore.ErrInternal, "gcs: list "+prefix, err)
	}
	it := s.bucket.Objects(ctx, q)
	var attrs []*storage.ObjectAttrs
	next, err := iterator.NewPager(it, 1000, token).NextPage(&attrs)
	if err != nil {
		return cloud.Page{}, classify(err, "list "+prefix)
	}
	p := cloud.Page{Next: next, Objects: make([]cloud.Object, 0, len(attrs))}
	for _, a := range attrs {
		p.Objects = append(p.Objects, object(a))
	}
	return p, nil
}

// Get implements cloud.ObjectStore with a ranged read.
func (s *Store) Get(ctx context.Context, key string, off, n int64) ([]byte, error) {
	if n == 0 {
		if _, err := s.Head(ctx, key); err != nil {
			return nil, err
		}
		return []byte{}, nil
	}
	r, err := s.bucket.Object(key).NewRangeReader(ctx, off, n)
	if err != nil {
		var ge *googleapi.Error
		if errors.As(err, &ge) && ge.Code == http.StatusRequestedRangeNotSatisfiable {
			return []byte{}, nil
		}
		return nil, classify(err, "get "+key)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, classify(err, "get "+key)
	}
	return b, nil
}

// Put implements cloud.ObjectStore with a single-request upload.
func (s *Store) Put(ctx context.Context, key string, data []byte) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // a writer that is not closed is aborted by its context
	w := s.bucket.Object(key).NewWriter(ctx)
	w.ChunkSize = 0 // one request, no resumable session
	w.ContentType = "application/octet-stream"
	if _, err := w.Write(data); err != nil {
		return classify(err, "put "+key)
	}
	return classify(w.Close(), "put "+key)
}

// Delete implements cloud.ObjectStore.
func (s *Store) Delete(ctx context.Context, key string) error {
	return classify(s.bucket.Object(key).Delete(ctx), "delete "+key)
}

// Head implements cloud.ObjectStore.
func (s *Store) Head(ctx context.Context, key string) (cloud.Object, error) {
	a, err := s.bucket.Object(key).Attrs(ctx)
	if err != nil {
		return cloud.Object{}, classify(err, "head "+key)
	}
	return object(a), nil
}

// object returns the cloud.Object of a: its Version is the decimal
// generation.
func object(a *storage.ObjectAttrs) cloud.Object {
	o := cloud.Object{Key: a.Name, Size: a.Size, ModTime: a.Updated}
	if a.Generation != 0 {
		o.Version = strconv.FormatInt(a.Generation, 10)
	}
	return o
}

// DeleteIf implements cloud.ConditionalDeleter with a generation-match
// precondition: GCS refuses (412, ErrConflict) when key holds another
// generation. A version that is not a decimal generation is
// ErrInvalidArgument.
func (s *Store) DeleteIf(ctx context.Context, key, version string) error {
	g, err := strconv.ParseInt(version, 10, 64)
	if err != nil || g <= 0 {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "gcs: delete %s: version %q is not a generation", key, version)
	}
	return classify(s.bucket.Object(key).If(storage.Conditions{GenerationMatch: g}).Delete(ctx), "delete "+key+" if generation "+version)
}

// CreateBucket implements cloud.BucketCreator; a bucket that already
// exists (409) is not an error.
func (s *Store) CreateBucket(ctx context.Context) error {
	proj := s.proj
	if proj == "" {
		proj = "sharestore"
	}
	err := s.bucket.Create(ctx, proj, nil)
	var ge *googleapi.Error
	if errors.As(err, &ge) && ge.Code == http.StatusConflict {
		return nil
	}
	return classify(err, "create bucket "+s.name)
}

// classify maps a library error: 404 (or ErrObjectNotExist,
// ErrBucketNotExist) NotFound, 429 Throttled, other 5xx and network
// failures Unavailable, 401/403 PermissionDenied.
func classify(err error, what string) error {
	if err == nil {
		return nil
	}
	status := 0
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		status = ge.Code
	}
	return cloud.ClassifyError("gcs", what, cloud.Response{
		Status:   status,
		NotFound: errors.Is(err, storage.ErrObjectNotExist) || errors.Is(err, storage.ErrBucketNotExist),
	}, err)
}
