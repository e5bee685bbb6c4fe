// Package azure is the Azure Blob Storage share backend: a thin
// cloud.ObjectStore adapter over azblob, with the SDK's own retries turned
// off (backends/cloud retries).
package azure

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azlog "github.com/Azure/azure-sdk-for-go/sdk/azcore/log"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
)

// Config configures an Azure backend. Credentials are taken from the
// first of ConnectionString, AccountKey, or else DefaultAzureCredential.
type Config struct {
	// Account is the storage account name (not needed with a connection
	// string).
	Account string
	// Container is the container name. Required.
	Container string
	// KeyPrefix is put in front of every key (see cloud.Options).
	KeyPrefix string
	// Endpoint is the blob service URL; empty means
	// https://ACCOUNT.blob.core.windows.net/. For Azurite it is
	// http://127.0.0.1:PORT/ACCOUNT.
	Endpoint string
	// AccountKey is the base64 shared key.
	AccountKey string
	// ConnectionString is a storage connection string.
	ConnectionString string
	// CredentialSource says, for messages, where AccountKey or
	// ConnectionString came from (such as "environment
	// AZURE_STORAGE_KEY"); empty means "account key" or "connection
	// string". It must hold no secret.
	CredentialSource string
	// HTTPClient, if set, carries every request (tests inject faults
	// with it).
	HTTPClient *http.Client
	// Logger receives the SDK's log records, at debug level; nil is
	// slog.Default() (see cloud.SDKLogger). The SDK has one log
	// listener for the whole process (azcore/log.SetListener), and
	// setting it while a client runs is a data race. So the first
	// NewStore installs this package's listener, once for the process,
	// and every NewStore points it at its own Logger: the last store
	// opened wins, and records are dropped while that Logger is not
	// enabled at debug level. A program that uses this package must not
	// call azcore/log.SetListener itself.
	Logger *slog.Logger
	// Backend holds the options of the cloud layer.
	Backend cloud.Options
}

// String describes the configuration without any credential.
func (c Config) String() string {
	return fmt.Sprintf("azblob://%s/%s (account %q, endpoint %q)", c.Container, c.KeyPrefix, c.Account, c.Endpoint)
}

// Store is the Azure cloud.ObjectStore.
type Store struct {
	cc   *container.Client
	name string
	ep   cloud.Endpoint // for CheckBucket's messages
}

var _ cloud.ObjectStore = (*Store)(nil)
var _ cloud.BucketChecker = (*Store)(nil)
var _ cloud.BucketCreator = (*Store)(nil)
var _ cloud.ConditionalDeleter = (*Store)(nil)

// NewStore builds the container client. It does no I/O.
func NewStore(ctx context.Context, c Config) (*Store, error) {
	if c.Container == "" {
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "azure: container name is required")
	}
	opts := &azblob.ClientOptions{}
	opts.Retry = policy.RetryOptions{MaxRetries: -1} // one try: backends/cloud retries
	if c.HTTPClient != nil {
		opts.Transport = c.HTTPClient
	}
	endpoint := c.Endpoint
	if endpoint == "" && c.Account != "" {
		endpoint = fmt.Sprintf("https://%s.blob.core.windows.net/", c.Account)
	}
	installListener()
	sdkLog.Store(cloud.SDKLogger(c.Logger, "azure"))
	ep := cloud.Endpoint{Bucket: c.Container, Kind: "container", URL: endpoint}
	var client *azblob.Client
	var err error
	switch {
	case c.ConnectionString != "":
		ep.Credentials = cmp.Or(c.CredentialSource, "connection string")
		client, err = azblob.NewClientFromConnectionString(c.ConnectionString, opts)
		if err != nil {
			// Never echo the connection string: it holds the key.
			return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "azure: the connection string is malformed")
		}
		ep.URL = cloud.Redact(client.URL())
	case endpoint == "":
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "azure: an account name, an endpoint or a connection string is required")
	case c.AccountKey != "":
		ep.Credentials = fmt.Sprintf("%s of account %q", cmp.Or(c.CredentialSource, "account key"), c.Account)
		cred, cerr := azblob.NewSharedKeyCredential(c.Account, c.AccountKey)
		if cerr != nil {
			return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "azure: the account key for %q is not valid base64", c.Account)
		}
		client, err = azblob.NewClientWithSharedKeyCredential(endpoint, cred, opts)
	default:
		ep.Credentials = defaultCredential
		cred, cerr := azidentity.NewDefaultAzureCredential(nil)
		if cerr != nil {
			ep.NoCredentials = true
			return nil, cloud.CheckError("azure", ep, sharestore.Errorf(sharestore.ErrPermissionDenied, "azure: no default credential"))
		}
		client, err = azblob.NewClient(endpoint, cred, opts)
	}
	if err != nil {
		return nil, cloud.AdapterError(sharestore.ErrInvalidArgument, "azure: create client", err)
	}
	return &Store{cc: client.ServiceClient().NewContainerClient(c.Container), name: c.Container, ep: ep}, nil
}

// defaultCredential names the sources DefaultAzureCredential tries.
const defaultCredential = "DefaultAzureCredential (environment AZURE_CLIENT_ID…, workload identity, managed identity, Azure CLI, Azure Developer CLI)"

// sdkLog is the logger the SDK's log records go to, once
// installListener has run; nil drops them.
var sdkLog atomic.Pointer[slog.Logger]

// installListener installs the process-wide SDK listener that forwards
// to sdkLog, the first time it is called. Every NewStore calls it
// before it builds a client, so the install happens before any request
// of any store of this package reads the listener.
var installListener = sync.OnceFunc(func() {
	azlog.SetListener(func(ev azlog.Event, msg string) {
		if l := sdkLog.Load(); l != nil && l.Enabled(context.Background(), slog.LevelDebug) {
			l.Debug(msg, "event", string(ev))
		}
	})
})

// CheckBucket implements cloud.BucketChecker with one request for the
// container's properties. A DefaultAzureCredential that finds no
// credential makes the request fail before it is sent; that is
// Endpoint.NoCredentials.
func (s *Store) CheckBucket(ctx context.Context) (cloud.Endpoint, error) {
	_, err := s.cc.GetProperties(ctx, nil)
	ep := s.ep
	var af *azidentity.AuthenticationFailedError
	if err != nil && ctx.Err() == nil && ep.Credentials == defaultCredential && (errors.As(err, &af) || strings.Contains(err.Error(), "DefaultAzureCredential")) {
		ep.NoCredentials = true
		return ep, sharestore.Errorf(sharestore.ErrPermissionDenied, "azure: DefaultAzureCredential found no credential")
	}
	return ep, classify(err, "container properties of "+s.name)
}

// Open returns the Azure share backend described by c.
func Open(ctx context.Context, c Config) (*cloud.Backend, error) {
	st, err := NewStore(ctx, c)
	if err != nil {
		return nil, err
	}
	o := c.Backend
	o.Name, o.KeyPrefix = "azure", c.KeyPrefix
	o.MaxObjectSize = 190 << 40
	return cloud.New(st, o)
}

// Container returns the container client.
func (s *Store) Container() *container.Client { return s.cc }

// List implements cloud.ObjectStore with List Blobs (5000 keys a page).
func (s *Store) List(ctx context.Context, prefix, token string) (cloud.Page, error) {
	o := &container.ListBlobsFlatOptions{Prefix: &prefix}
	if token != "" {
		o.Marker = &token
	}
	resp, err := s.cc.NewListBlobsFlatPager(o).NextPage(ctx)
	if err != nil {
		return cloud.Page{}, classify(err, "list "+prefix)
	}
	var p cloud.Page
	if resp.Segment != nil {
		p.Objects = make([]cloud.Object, 0, len(resp.Segment.BlobItems))
		for _, it := range resp.Segment.BlobItems {
			if it == nil || it.Name == nil {
				continue
			}
			obj := cloud.Object{Key: *it.Name}
			if pr := it.Properties; pr != nil {
				if pr.ContentLength != nil {
					obj.Size = *pr.ContentLength
				}
				if pr.LastModified != nil {
					obj.ModTime = *pr.LastModified
				}
				if pr.ETag != nil {
					obj.Version = quoteETag(*pr.ETag)
				}
			}
			p.Objects = append(p.Objects, obj)
		}
	}
	if resp.NextMarker != nil {
		p.Next = *resp.NextMarker
	}
	return p, nil
}

// Get implements cloud.ObjectStore with a ranged download.
func (s *Store) Get(ctx context.Context, key string, off, n int64) ([]byte, error) {
	if n == 0 {
		if _, err := s.Head(ctx, key); err != nil {
			return nil, err
		}
		return []byte{}, nil
	}
	o := &blob.DownloadStreamOptions{}
	if n > 0 {
		o.Range = blob.HTTPRange{Offset: off, Count: n}
	} else if off > 0 {
		o.Range = blob.HTTPRange{Offset: off}
	}
	resp, err := s.cc.NewBlobClient(key).DownloadStream(ctx, o)
	if err != nil {
		if bloberror.HasCode(err, bloberror.InvalidRange) {
			return []byte{}, nil
		}
		return nil, classify(err, "get "+key)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, classify(err, "get "+key)
	}
	return b, nil
}

// Put implements cloud.ObjectStore with Put Blob (a block blob).
func (s *Store) Put(ctx context.Context, key string, data []byte) error {
	_, err := s.cc.NewBlockBlobClient(key).Upload(ctx, streaming.NopCloser(bytes.NewReader(data)), nil)
	return classify(err, "put "+key)
}

// Delete implements cloud.ObjectStore.
func (s *Store) Delete(ctx context.Context, key string) error {
	_, err := s.cc.NewBlobClient(key).Delete(ctx, nil)
	return classify(err, "delete "+key)
}

// quoteETag returns e in the quoted form Get Blob Properties reports
// and conditional headers take: List Blobs reports ETags without quotes.
func quoteETag(e azcore.ETag) string {
	s := string(e)
	if !strings.HasPrefix(s, `"`) {
		s = `"` + s + `"`
	}
	return s
}

// DeleteIf implements cloud.ConditionalDeleter with Delete Blob and an
// If-Match access condition: Azure refuses (412, ErrConflict) when the
// blob holds another ETag.
func (s *Store) DeleteIf(ctx context.Context, key, version string) error {
	etag := azcore.ETag(version)
	_, err := s.cc.NewBlobClient(key).Delete(ctx, &blob.DeleteOptions{AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: &etag}}})
	return classify(err, "delete "+key+" if ETag "+version)
}

// Head implements cloud.ObjectStore with Get Blob Properties.
func (s *Store) Head(ctx context.Context, key string) (cloud.Object, error) {
	p, err := s.cc.NewBlobClient(key).GetProperties(ctx, nil)
	if err != nil {
		return cloud.Object{}, classify(err, "head "+key)
	}
	o := cloud.Object{Key: key}
	if p.ContentLength != nil {
		o.Size = *p.ContentLength
	}
	if p.LastModified != nil {
		o.ModTime = *p.LastModified
	}
	if p.ETag != nil {
		o.Version = quoteETag(*p.ETag)
	}
	return o, nil
}

// CreateBucket implements cloud.BucketCreator: it creates the container;
// one that already exists is not an error.
func (s *Store) CreateBucket(ctx context.Context) error {
	_, err := s.cc.Create(ctx, nil)
	if bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		return nil
	}
	return classify(err, "create container "+s.name)
}

// classify maps an SDK error: 404 NotFound, ServerBusy/503 Throttled
// (and 429), other 5xx and network failures Unavailable, 401/403
// PermissionDenied. azcore's error text includes the request URL, whose
// query azcore redacts; cloud.AdapterError redacts signatures anyway.
func classify(err error, what string) error {
	if err == nil {
		return nil
	}
	status, code := 0, ""
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		status, code = re.StatusCode, re.ErrorCode
	}
	r := cloud.Response{
		Status:    status,
		Code:      code,
		Throttled: code == string(bloberror.ServerBusy) || code == string(bloberror.OperationTimedOut) && status == 503 || status == 503,
		NotFound:  code == string(bloberror.BlobNotFound) || code == string(bloberror.ContainerNotFound),
	}
	if status != 0 {
		// The SDK's text is a multi-line dump of the response; the
		// status and code say what matters.
		err = quietErr{err}
	}
	return cloud.ClassifyError("azure", what, r, err)
}

// quietErr keeps err for errors.As with a one-line text.
type quietErr struct{ err error }

func (q quietErr) Error() string {
	s := q.err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
func (q quietErr) Unwrap() error { return q.err }
