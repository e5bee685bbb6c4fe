// Package backendurl parses and opens the cloud backend URLs the CLI
// accepts wherever it takes --backend:
//
//	s3://BUCKET[/KEYPREFIX]?endpoint=URL&region=R&path_style=true
//	gs://BUCKET[/KEYPREFIX]?endpoint=URL&auth=adc|none|key&key_file=PATH
//	azblob://CONTAINER[/KEYPREFIX]?endpoint=URL&account=NAME
//
// Every scheme also takes list_plan=auto|prefix|range, how a crawl lists
// the store (cloud.ListPlan; auto when absent).
//
// Credentials never appear in a URL. S3 uses the standard AWS variables
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
// AWS_REGION, AWS_PROFILE) and the SDK's default chain. GCS uses
// Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS), a
// JSON key file (auth=key&key_file=PATH), or none (auth=none);
// STORAGE_EMULATOR_HOST is honoured and implies no credentials. Azure
// uses AZURE_STORAGE_CONNECTION_STRING, else the account name
// (account= or AZURE_STORAGE_ACCOUNT) with AZURE_STORAGE_KEY, else
// DefaultAzureCredential.
package backendurl

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/azure"
	"github.com/sharestore/sharestore/backends/cloud"
	"github.com/sharestore/sharestore/backends/gcs"
	"github.com/sharestore/sharestore/backends/s3"
	"github.com/sharestore/sharestore/internal/backendurl/redact"
)

// Spec is a parsed cloud backend URL.
type Spec struct {
	// Scheme is "s3", "gs" or "azblob".
	Scheme string
	// Bucket is the bucket or container.
	Bucket string
	// KeyPrefix is the path after the bucket, without slashes at either
	// end ("" for none).
	KeyPrefix string
	// Query holds the options.
	Query url.Values
}

// IsCloud reports whether raw has a cloud scheme.
func IsCloud(raw string) bool {
	for _, s := range []string{"s3://", "gs://", "azblob://"} {
		if strings.HasPrefix(raw, s) {
			return true
		}
	}
	return false
}

var known = map[string][]string{
	"s3":     {"endpoint", "region", "path_style", "list_plan"},
	"gs":     {"endpoint", "auth", "key_file", "project", "list_plan"},
	"azblob": {"endpoint", "account", "list_plan"},
}

// Parse parses a cloud backend URL. Unknown schemes or options, a
// missing bucket, and credentials in the URL are ErrInvalidArgument.
func Parse(raw string) (Spec, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Spec{}, sharestore.Errorf(sharestore.ErrInvalidArgument, "backend URL %s: %s", schemeOnly(raw), parseReason(err))
	}
	opts, ok := known[u.Scheme]
	if !ok {
		return Spec{}, sharestore.Errorf(sharestore.ErrInvalidArgument, "backend URL: unknown scheme %q (want s3://, gs:// or azblob://)", u.Scheme)
	}
	if u.User != nil {
		return Spec{}, sharestore.Errorf(sharestore.ErrInvalidArgument, "backend URL: credentials do not belong in the URL; use the environment")
	}
	if u.Host == "" {
		return Spec{}, sharestore.Errorf(sharestore.ErrInvalidArgument, "backend URL %s://…: missing bucket or container name", u.Scheme)
	}
	q := u.Query()
	for k := range q {
		found := false
		for _, o := range opts {
			found = found || o == k
		}
		if !found {
			return Spec{}, sharestore.Errorf(sharestore.ErrInvalidArgument, "backend URL: unknown option %q for %s:// (known: %s)", k, u.Scheme, strings.Join(opts, ", "))
		}
	}
	kp := strings.Trim(u.Path, "/")
	if _, err := cloud.NormalizeKeyPrefix(kp); err != nil {
		return Spec{}, err
	}
	return Spec{Scheme: u.Scheme, Bucket: u.Host, KeyPrefix: kp, Query: q}, nil
}

// quoted matches what the url package quotes in its errors: the
// offending part of the URL, which may be a secret (s3://KEY:SECRET, with
// the '@' forgotten, has an "invalid port").
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// parseReason is why url.Parse refused a URL, without the part it quotes.
func parseReason(err error) string {
	if ue, ok := err.(*url.Error); ok {
		return quoted.ReplaceAllString(ue.Err.Error(), `"…"`)
	}
	return "malformed URL"
}

// schemeOnly is raw cut after its "scheme://": all of a URL that does
// not parse that is safe to print.
func schemeOnly(raw string) string {
	if i := strings.Index(raw, "://"); i > 0 && !strings.ContainsAny(raw[:i], "@:/?") {
		return raw[:i] + "://…"
	}
	return "…"
}

// Env is what Open and CreateBucket take from their caller besides the
// URL.
type Env struct {
	// Getenv reads a standard variable (AWS_ACCESS_KEY_ID, …). Nil means
	// os.Getenv. A plugin reads its Configure secrets first.
	Getenv func(name string) string
	// Source names, for messages, where Getenv found a variable, such as
	// "environment AWS_ACCESS_KEY_ID" or "plugin secret access_key_id".
	// Nil means "environment NAME".
	Source func(name string) string
	// Logger receives the SDK's log records (see cloud.SDKLogger). Nil
	// means slog.Default().
	Logger *slog.Logger
}

func (e Env) get(name string) string {
	if e.Getenv == nil {
		return os.Getenv(name)
	}
	return e.Getenv(name)
}

func (e Env) source(name string) string {
	if e.Source == nil {
		return "environment " + name
	}
	return e.Source(name)
}

// Open opens the backend raw names, and checks, with one request, that
// its bucket is there and reachable and that its credentials work
// (cloud.Backend.Check): a failure is one line naming the bucket, the
// endpoint and the credential source, of the request's error class.
func Open(ctx context.Context, raw string, env Env, opts cloud.Options) (*cloud.Backend, error) {
	b, err := open(ctx, raw, env, opts)
	if err != nil {
		return nil, err
	}
	if err := b.Check(ctx); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// open is Open without the check: it does no I/O.
func open(ctx context.Context, raw string, env Env, opts cloud.Options) (*cloud.Backend, error) {
	st, spec, err := store(ctx, raw, env)
	if err != nil {
		return nil, err
	}
	opts.KeyPrefix = spec.KeyPrefix
	if v := spec.Query.Get("list_plan"); v != "" {
		if opts.ListPlan, err = cloud.ParseListPlan(v); err != nil {
			if c, ok := st.(io.Closer); ok {
				c.Close()
			}
			return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "backend URL: list_plan=%q: want auto, prefix or range", v)
		}
	}
	switch spec.Scheme {
	case "s3":
		opts.Name = "s3"
	case "gs":
		opts.Name = "gcs"
	default:
		opts.Name = "azure"
	}
	return cloud.New(st, opts)
}

// CreateBucket creates the bucket or container raw names; one that
// already exists and is ours is not an error. It does not check the
// bucket first: it may not exist yet.
func CreateBucket(ctx context.Context, raw string, env Env) error {
	st, _, err := store(ctx, raw, env)
	if err != nil {
		return err
	}
	bc, ok := st.(cloud.BucketCreator)
	if !ok {
		return sharestore.Errorf(sharestore.ErrUnimplemented, "backend %s cannot create buckets", redact.String(raw))
	}
	return cloud.DefaultRetryPolicy.Do(ctx, "create bucket", bc.CreateBucket)
}

func store(ctx context.Context, raw string, env Env) (cloud.ObjectStore, Spec, error) {
	spec, err := Parse(raw)
	if err != nil {
		return nil, spec, err
	}
	getenv := env.get
	q := spec.Query
	switch spec.Scheme {
	case "s3":
		c := s3.Config{Bucket: spec.Bucket, Region: q.Get("region"), Endpoint: q.Get("endpoint"), Logger: env.Logger}
		// The standard variables, read through getenv so that a plugin
		// can take them from its Configure secrets; the SDK's chain
		// covers everything else.
		if id := getenv("AWS_ACCESS_KEY_ID"); id != "" {
			c.AccessKeyID, c.SecretAccessKey, c.SessionToken = id, getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SESSION_TOKEN")
			c.CredentialSource = env.source("AWS_ACCESS_KEY_ID")
		}
		if ps := q.Get("path_style"); ps != "" {
			v, err := strconv.ParseBool(ps)
			if err != nil {
				return nil, spec, sharestore.Errorf(sharestore.ErrInvalidArgument, "backend URL: path_style=%q is not a boolean", ps)
			}
			c.PathStyle = v
		}
		st, err := s3.NewStore(ctx, c)
		return st, spec, err
	case "gs":
		c := gcs.Config{Bucket: spec.Bucket, Endpoint: q.Get("endpoint"), ProjectID: q.Get("project"), Logger: env.Logger}
		switch a := q.Get("auth"); a {
		case "", "adc":
			c.Credentials = gcs.ADC
		case "none":
			c.Credentials = gcs.NoAuth
		case "key":
			c.Credentials, c.CredentialsFile = gcs.JSONKey, q.Get("key_file")
			if c.CredentialsFile == "" {
				return nil, spec, sharestore.Errorf(sharestore.ErrInvalidArgument, "backend URL: auth=key needs key_file=PATH")
			}
		default:
			return nil, spec, sharestore.Errorf(sharestore.ErrInvalidArgument, "backend URL: auth=%q: want adc, none or key", a)
		}
		st, err := gcs.NewStore(ctx, c)
		return st, spec, err
	default:
		c := azure.Config{Container: spec.Bucket, Endpoint: q.Get("endpoint"), Account: q.Get("account"), Logger: env.Logger}
		if c.Account == "" {
			c.Account = getenv("AZURE_STORAGE_ACCOUNT")
		}
		if cs := getenv("AZURE_STORAGE_CONNECTION_STRING"); cs != "" {
			c.ConnectionString, c.CredentialSource = cs, env.source("AZURE_STORAGE_CONNECTION_STRING")
		} else if key := getenv("AZURE_STORAGE_KEY"); key != "" {
			c.AccountKey, c.CredentialSource = key, env.source("AZURE_STORAGE_KEY")
		}
		st, err := azure.NewStore(ctx, c)
		return st, spec, err
	}
}
