// Command sharestore-backend-gcs serves Google Cloud Storage as a
// sharestore plugin. A host starts it (sharestore crawl --plugin PATH
// --backend URL) and sends the backend URL,
//
//	gs://BUCKET[/KEYPREFIX]?endpoint=URL
//
// and credentials (Secrets) and the options retry_attempts and
// retry_timeout through the Configure RPC, never through argv; see
// internal/cloudplugin and internal/backendurl. It serves no other scheme.
package main

import (
	"github.com/sharestore/sharestore/internal/cloudplugin"
	"github.com/sharestore/sharestore/plugin"
)

func main() { plugin.Serve(cloudplugin.Factory("gs")) }
