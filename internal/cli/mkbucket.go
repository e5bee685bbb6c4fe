package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sharestore/sharestore/internal/backendurl"
	"github.com/sharestore/sharestore/internal/backendurl/redact"
)

func newMkbucketCmd(e *env) *cobra.Command {
	var backend string
	var pf pluginFlags
	cmd := &cobra.Command{
		Use:   "mkbucket --backend s3://BUCKET|gs://BUCKET|azblob://CONTAINER",
		Short: "Create the bucket or container of a cloud backend",
		Long: `mkbucket creates the bucket (S3, GCS) or container (Azure) that a cloud
backend URL names. A bucket that already exists and belongs to you is not an
error. Credentials come from the environment, as for every cloud URL.

With --plugin, the plugin creates the store: --backend reaches it through
Configure with creation allowed, as for every plugin, and mkbucket closes it
again. The cloud plugins create the bucket or container; the disk plugin
creates the storage directory.

` + backendHelp + pluginHelp("--plugin"),
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if backend == "" {
				return usageErr(errors.New("mkbucket: --backend is required (for example --backend s3://my-bucket?region=eu-west-1)"))
			}
			if pf.path != "" {
				b, err := openPlugin(cmd.Context(), backend, true, &pf)
				if err != nil {
					return err
				}
				if err := b.Close(); err != nil {
					return err
				}
				// A URL holds no credentials, but print only its
				// location: options are the plugin's business.
				where, _, _ := strings.Cut(backend, "?")
				fmt.Fprintf(e.stdout, "%s is ready\n", redact.String(where))
				return nil
			}
			if err := pf.checkUnused(); err != nil {
				return err
			}
			if !backendurl.IsCloud(backend) {
				return usageErr(fmt.Errorf("mkbucket: %q is not a cloud backend URL (s3://, gs:// or azblob://)", redact.String(backend)))
			}
			if err := backendurl.CreateBucket(cmd.Context(), backend, backendurl.Env{Logger: loggerFrom(cmd.Context())}); err != nil {
				return interrupted(cmd.Context(), openErr(err), "mkbucket", "rerun it: a bucket that exists and is yours is not an error")
			}
			spec, _ := backendurl.Parse(backend)
			fmt.Fprintf(e.stdout, "bucket %s is ready\n", spec.Bucket)
			return nil
		},
	}
	cmd.Flags().StringVar(&backend, "backend", "", "cloud backend URL whose bucket or container to create")
	pf.add(cmd.Flags(), e.stderr)
	return cmd
}
