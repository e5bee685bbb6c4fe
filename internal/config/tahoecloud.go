package config

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/sharestore/sharestore"
)

// defaultS3URL is Tahoe's s3.url default; with it, the SDK picks AWS's
// endpoint itself.
const defaultS3URL = "http://s3.amazonaws.com"

// backend maps [storage]backend and its keys to s.Backend and s.Secrets:
// a disk store at storage_dir, or a bucket URL (package backendurl) whose
// credentials are secrets by the variable name the backend reads, so
// that no credential is ever part of the URL.
func (c *tahoeCfg) backend(s *Settings) error {
	kind, err := c.str("backend", "disk")
	if err != nil {
		return err
	}
	if kind != "disk" && s.ReadOnly {
		return c.fail("readonly", "true is not supported by the cloud backend; make the container read-only instead")
	}
	switch kind {
	case "disk":
		dir, err := c.str("storage_dir", "storage")
		if err != nil {
			return err
		}
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(c.basedir, dir)
		}
		s.Backend = "disk:" + dir
		return nil
	case "s3", "cloud.s3":
		return c.s3(s)
	case "cloud.googlestorage":
		return c.googleStorage(s)
	case "cloud.msazure":
		return c.msAzure(s)
	}
	return c.fail("backend", "%q is not supported by sharestore: want disk, s3, cloud.s3, cloud.googlestorage or cloud.msazure", kind)
}

// required returns the keys' values, failing on the first that is
// missing or empty.
func (c *tahoeCfg) required(backend string, keys ...string) ([]string, error) {
	var vals []string
	for _, k := range keys {
		v, err := c.str(k, "")
		if err != nil {
			return nil, err
		}
		if v == "" {
			return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "%s: [storage]%s is required with backend = %s", c.ini.path, k, backend)
		}
		vals = append(vals, v)
	}
	return vals, nil
}

// secret reads BASEDIR/private/name, trimmed, as Tahoe's
// get_private_config does.
func (c *tahoeCfg) secret(name, what string) (Secret, error) {
	p := filepath.Join(c.basedir, "private", name)
	data, err := os.ReadFile(p)
	if err != nil {
		return Secret{}, sharestore.Errorf(sharestore.ErrInvalidArgument, "%s: cannot read %s: %v", c.ini.path, what, err)
	}
	v := strings.TrimSpace(string(data))
	if v == "" {
		return Secret{}, sharestore.Errorf(sharestore.ErrInvalidArgument, "%s: %s is empty", p, what)
	}
	return Secret{Value: v, Source: p}, nil
}

// s3 maps cloud.s3: s3://BUCKET[/PREFIX], with endpoint=s3.url and path
// style (as Tahoe's S3 client addresses a bucket) unless the URL is
// AWS's default, and region us-east-1, AWS's region for that global
// endpoint; the key id and private/s3secret are the AWS variables.
func (c *tahoeCfg) s3(s *Settings) error {
	v, err := c.required("cloud.s3", "s3.bucket", "s3.access_key_id")
	if err != nil {
		return err
	}
	bucket, keyID := v[0], v[1]
	endpoint, err := c.str("s3.url", defaultS3URL)
	if err != nil {
		return err
	}
	prefix, err := c.str("s3.prefix", "")
	if err != nil {
		return err
	}
	secret, err := c.secret("s3secret", "the S3 secret access key (private/s3secret)")
	if err != nil {
		return err
	}
	q := url.Values{"region": {"us-east-1"}}
	if strings.TrimSuffix(endpoint, "/") != defaultS3URL && strings.TrimSuffix(endpoint, "/") != "https://s3.amazonaws.com" {
		if u, err := url.Parse(endpoint); err != nil || u.Host == "" || u.User != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return c.fail("s3.url", "want an http:// or https:// URL without credentials, such as %s", defaultS3URL)
		}
		q.Set("endpoint", endpoint)
		q.Set("path_style", "true")
	}
	s.Backend = cloudURL("s3", bucket, prefix, q)
	s.Secrets = map[string]Secret{
		"AWS_ACCESS_KEY_ID":     {Value: keyID, Source: c.ini.path + " [storage]s3.access_key_id"},
		"AWS_SECRET_ACCESS_KEY": secret,
		// A session token from the environment would not go with the
		// node's keys.
		"AWS_SESSION_TOKEN": {Source: "unset: " + c.ini.path + " gives static keys"},
	}
	return nil
}

// cloudURL builds SCHEME://BUCKET[/PREFIX]?QUERY.
func cloudURL(scheme, bucket, prefix string, q url.Values) string {
	u := url.URL{Scheme: scheme, Host: bucket, Path: "/" + strings.Trim(prefix, "/"), RawQuery: q.Encode()}
	if u.Path == "/" {
		u.Path = ""
	}
	return u.String()
}

// msAzure maps cloud.msazure: azblob://CONTAINER?account=NAME, with
// private/msazure_account_key (base64, as Azure gives it) as
// AZURE_STORAGE_KEY, and no connection string from the environment.
func (c *tahoeCfg) msAzure(s *Settings) error {
	v, err := c.required("cloud.msazure", "msazure.account_name", "msazure.container")
	if err != nil {
		return err
	}
	key, err := c.secret("msazure_account_key", "the Azure account key (private/msazure_account_key)")
	if err != nil {
		return err
	}
	if _, err := base64.StdEncoding.DecodeString(key.Value); err != nil {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "%s: want the account key in base64, as the Azure portal shows it", key.Source)
	}
	s.Backend = cloudURL("azblob", v[1], "", url.Values{"account": {v[0]}})
	s.Secrets = map[string]Secret{
		"AZURE_STORAGE_KEY":               key,
		"AZURE_STORAGE_CONNECTION_STRING": {Source: "unset: " + c.ini.path + " names the account"},
	}
	return nil
}

// googleStorage maps cloud.googlestorage. Tahoe signs with the service
// account's PKCS#12 (or PEM) private key and its email; the Google Cloud
// Go SDK takes a service account JSON key instead, which holds both. So
// private/googlestorage_private_key must be that JSON key, for the
// account googlestorage.account_email names; it becomes
// gs://BUCKET?auth=key&key_file=PATH&project=ID. Any other key is
// refused, saying what to do.
func (c *tahoeCfg) googleStorage(s *Settings) error {
	v, err := c.required("cloud.googlestorage", "googlestorage.account_email", "googlestorage.project_id", "googlestorage.bucket")
	if err != nil {
		return err
	}
	email, project, bucket := v[0], v[1], v[2]
	p := filepath.Join(c.basedir, "private", "googlestorage_private_key")
	data, err := os.ReadFile(p)
	if err != nil {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "%s: cannot read the Google service account key (private/googlestorage_private_key): %v", c.ini.path, err)
	}
	var key struct {
		Type        string `json:"type"`
		ClientEmail string `json:"client_email"`
		PrivateKey  string `json:"private_key"`
	}
	if !bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) || json.Unmarshal(data, &key) != nil || key.Type != "service_account" || key.PrivateKey == "" {
		return sharestore.Errorf(sharestore.ErrInvalidArgument,
			"%s: not a service account JSON key: sharestore's Google Cloud Storage backend (the Go SDK) cannot sign with the PKCS#12 or PEM private key Tahoe's googlestorage backend takes; "+
				"create a JSON key for %s (Google Cloud console: IAM, Service accounts, Keys, Add key, JSON) and put it in that file, keeping the old key for Tahoe elsewhere", p, email)
	}
	if key.ClientEmail != email {
		return c.fail("googlestorage.account_email", "%s, but %s is a key for %s", email, p, key.ClientEmail)
	}
	s.Backend = cloudURL("gs", bucket, "", url.Values{"auth": {"key"}, "key_file": {p}, "project": {project}})
	return nil
}
