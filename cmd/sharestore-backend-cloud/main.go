// Command sharestore-backend-cloud serves the cloud backends (S3, GCS,
// Azure) as a sharestore plugin. A host starts it (sharestore ls --plugin
// PATH --backend s3://bucket/prefix?region=…) and configures it through
// the Configure RPC:
//
//	URL      s3://…, gs://… or azblob://… (see internal/backendurl)
//	Create   create the bucket or container first if it is missing
//	Secrets  credentials by their standard variable names in any case
//	         (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
//	         AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_ACCOUNT,
//	         AZURE_STORAGE_KEY) or the short names access_key_id,
//	         secret_access_key, session_token, account_key and
//	         connection_string; a name missing there is read from the
//	         environment the host passed on
//	Options  retry_attempts=N, retry_timeout=DURATION (see
//	         internal/cloudplugin)
package main

import (
	"github.com/sharestore/sharestore/internal/cloudplugin"
	"github.com/sharestore/sharestore/plugin"
)

func main() { plugin.Serve(cloudplugin.Factory("")) }
