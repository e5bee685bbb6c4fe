package cloudtests

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sharestore/sharestore/internal/cli/clitest"

	"github.com/sharestore/sharestore/internal/cli"
)

// TestMkbucketThroughCloudPlugin creates a bucket (a container on Azure)
// with mkbucket --plugin sharestore-backend-cloud on each emulator: ls
// fails before, because the bucket is not there, and lists an empty
// store after, in process and through the plugin.
func TestMkbucketThroughCloudPlugin(t *testing.T) {
	bin := clitest.CloudPlugin(t)
	for _, c := range clouds() {
		t.Run(c.name, func(t *testing.T) {
			url := strings.Replace(c.url(t), "copy-test", "plugin-mkbucket", 1)
			var out, errb bytes.Buffer
			if code := cli.Main([]string{"ls", "--backend", url}, strings.NewReader(""), &out, &errb); code == 0 || !strings.Contains(errb.String(), "404") {
				t.Fatalf("ls before mkbucket: exit %d, stdout %q, stderr %q; want a missing bucket", code, out.String(), errb.String())
			}
			got, _ := run(t, "mkbucket", "--plugin", bin, "--backend", url)
			where, _, _ := strings.Cut(url, "?")
			if got != where+" is ready\n" {
				t.Fatalf("mkbucket --plugin said %q", got)
			}
			run(t, "mkbucket", "--plugin", bin, "--backend", url) // idempotent
			if got, _ := run(t, "ls", "--backend", url, "--json"); got != "" {
				t.Fatalf("new bucket lists %q", got)
			}
			if got, _ := run(t, "ls", "--plugin", bin, "--backend", url, "--json"); got != "" {
				t.Fatalf("new bucket lists %q through the plugin", got)
			}
		})
	}
}
