package redact

import (
	"bytes"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		// Userinfo, parseable or not.
		{"s3://AKIAFAKE:SUPERSECRET123@bucket?endpoint=http://127.0.0.1:1", "s3://REDACTED@bucket?endpoint=http://127.0.0.1:1"},
		{"s3://AKIAFAKE:wJal/rXUtn+FEMI@bucket/pfx", "s3://REDACTED@bucket/pfx"},
		{"s3://K:SE@CRET@bucket", "s3://REDACTED@bucket"},
		{"s3://TOKEN@bucket", "s3://REDACTED@bucket"},
		{`configure "s3://K:S@b": denied`, `configure "s3://REDACTED@b": denied`},
		{"s3://b?endpoint=http://u:p@127.0.0.1:9000", "s3://b?endpoint=http://REDACTED@127.0.0.1:9000"},
		{"AKIAFAKE:SUPERSECRET123@bucket", "REDACTED@bucket"},
		{"s3://AKIAFAKE:SUPERSECRET123", "s3://REDACTED"},
		{"s3://AKIAFAKE:SUPERSECRET123/pfx?region=r", "s3://REDACTED/pfx?region=r"},
		{"storage directory /x/s3:/AKIAFAKE:SUPERSECRET123@bucket?e=1 does not exist", "storage directory REDACTED@bucket?e=1 does not exist"},
		{"http://127.0.0.1:9000/b http://[::1]:80/", "http://127.0.0.1:9000/b http://[::1]:80/"},
		{"backend KEY:SECRET@b failed", "backend REDACTED@b failed"},
		// Query parameters and connection strings.
		{"azblob://c?sv=2022-11-02&ss=b&sig=SIGSECRET%2B&se=2030-01-01&endpoint=x", "azblob://c?sv=REDACTED&ss=REDACTED&sig=REDACTED&se=REDACTED&endpoint=x"},
		{"https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA%2F&X-Amz-Signature=deadbeef", "https://b.s3.amazonaws.com/k?X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED"},
		{"s3://b?password=hunter2&token=t0k&api_key=k&secret_access_key=s", "s3://b?password=REDACTED&token=REDACTED&api_key=REDACTED&secret_access_key=REDACTED"},
		{"DefaultEndpointsProtocol=http;AccountName=dev;AccountKey=Zm9v+YmFy==;BlobEndpoint=http://127.0.0.1:1/dev;", "DefaultEndpointsProtocol=http;AccountName=dev;AccountKey=REDACTED;BlobEndpoint=http://127.0.0.1:1/dev;"},
		{"SharedAccessSignature=sv=2020&sig=abc;", "SharedAccessSignature=REDACTED&sig=REDACTED;"},
		{`{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\nMIIE\"x\n", "client_email": "a@b"}`, `{"type": "service_account", "private_key": "REDACTED", "client_email": "a@b"}`},
		{`"private_key": "-----BEGIN`, `"private_key": "REDACTED`},
		{"AWS_SECRET_ACCESS_KEY=abc AZURE_STORAGE_KEY = xyz", "AWS_SECRET_ACCESS_KEY=REDACTED AZURE_STORAGE_KEY = REDACTED"},
		// Nothing to redact: byte for byte.
		{"disk:/srv/my storage/a@b", "disk:/srv/my storage/a@b"},
		{"file:///srv/a@b", "file:///srv/a@b"},
		{"gs://b/p?auth=key&key_file=/etc/k.json&endpoint=http://127.0.0.1:1", "gs://b/p?auth=key&key_file=/etc/k.json&endpoint=http://127.0.0.1:1"},
		{"sharestore: copy 0123/4: read source: secret: not found", "sharestore: copy 0123/4: read source: secret: not found"},
		{"state directory /x belongs to backend s3://b/p, not s3://c", "state directory /x belongs to backend s3://b/p, not s3://c"},
		{"", ""},
	} {
		got := String(tc.in)
		if got != tc.want {
			t.Errorf("String(%q)\n = %q\nwant %q", tc.in, got, tc.want)
		}
		if again := String(got); again != got {
			t.Errorf("String is not idempotent on %q: %q", got, again)
		}
	}
}

func TestWriter(t *testing.T) {
	var buf bytes.Buffer
	w := Writer(&buf)
	in := "open s3://K:SUPERSECRET@b\n"
	n, err := w.Write([]byte(in))
	if err != nil || n != len(in) || strings.Contains(buf.String(), "SUPERSECRET") {
		t.Fatalf("Write = %d, %v; wrote %q", n, err, buf.String())
	}
}

func TestSecretKey(t *testing.T) {
	for _, k := range []string{"sig", "SE", "sv", "X-Amz-Signature", "x-goog-credential", "AccountKey", "private_key", "key", "Password", "session_token", "client_secret", "AWS_ACCESS_KEY_ID"} {
		if !SecretKey(k) {
			t.Errorf("SecretKey(%q) = false", k)
		}
	}
	for _, k := range []string{"endpoint", "region", "path_style", "auth", "key_file", "account", "project", "AccountName"} {
		if SecretKey(k) {
			t.Errorf("SecretKey(%q) = true", k)
		}
	}
}
