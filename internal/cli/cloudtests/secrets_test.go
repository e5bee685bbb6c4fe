package cloudtests

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sharestore/sharestore/internal/cli/clitest"

	"github.com/sharestore/sharestore/internal/cli"
	"github.com/sharestore/sharestore/internal/emulators"
)

// TestCloudPluginCredentialsFromTheCLI gives the cloud plugin its
// credentials only as plugin secrets, by their short names, from the
// environment (S3) and from a --plugin-config file (Azure), with an
// option from a flag: mkbucket and ls through the plugin work, the host
// itself has no credentials, and a wrong secret is refused.
func TestCloudPluginCredentialsFromTheCLI(t *testing.T) {
	bin := clitest.CloudPlugin(t)
	for _, name := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AZURE_STORAGE_KEY", "AZURE_STORAGE_CONNECTION_STRING"} {
		t.Setenv(name, "")
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	fail := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := cli.Main(args, strings.NewReader(""), &out, &errb); code == 0 {
			t.Fatalf("sharestore %s succeeded with a wrong secret", strings.Join(args, " "))
		}
		return errb.String()
	}
	t.Run("s3", func(t *testing.T) {
		srv := emulators.Get(t, emulators.MinIO)
		url := "s3://plugin-secrets/server1?region=us-east-1&path_style=true&endpoint=" + srv.Endpoint
		t.Setenv("SHARESTORE_PLUGIN_SECRET_ACCESS_KEY_ID", emulators.MinIOUser)
		t.Setenv("SHARESTORE_PLUGIN_SECRET_SECRET_ACCESS_KEY", "wrong-"+emulators.MinIOPassword)
		if errOut := fail("mkbucket", "--plugin", bin, "--backend", url); strings.Contains(errOut, emulators.MinIOPassword) {
			t.Errorf("stderr shows the secret: %s", errOut)
		}
		t.Setenv("SHARESTORE_PLUGIN_SECRET_SECRET_ACCESS_KEY", emulators.MinIOPassword)
		run(t, "mkbucket", "--plugin", bin, "--backend", url, "--plugin-option", "retry_attempts=2")
		if got, _ := run(t, "ls", "--plugin", bin, "--backend", url, "--json", "--plugin-option", "retry_timeout=10s"); got != "" {
			t.Fatalf("the new bucket lists %q", got)
		}
	})
	t.Run("azure", func(t *testing.T) {
		srv := emulators.Get(t, emulators.Azurite)
		url := "azblob://plugin-secrets/server1?account=" + emulators.AzuriteAccount + "&endpoint=" + srv.Endpoint + "/" + emulators.AzuriteAccount
		cfg := filepath.Join(t.TempDir(), "azure.toml")
		write := func(key string) {
			if err := os.WriteFile(cfg, []byte("retry_attempts = 2\n[secrets]\naccount_key = \""+key+"\"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		write("d3Jvbmc=") // "wrong"
		fail("mkbucket", "--plugin", bin, "--backend", url, "--plugin-config", cfg)
		write(emulators.AzuriteAccountKey)
		run(t, "mkbucket", "--plugin", bin, "--backend", url, "--plugin-config", cfg)
		if got, _ := run(t, "ls", "--plugin", bin, "--backend", url, "--json", "--plugin-config", cfg); got != "" {
			t.Fatalf("the new container lists %q", got)
		}
	})
}
