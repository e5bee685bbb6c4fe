// Command sharestore-backend-s3 serves S3 (and S3-compatible stores) as a
// sharestore plugin. A host starts it (sharestore crawl --plugin PATH
// --backend URL) and sends the backend URL,
//
//	s3://BUCKET[/KEYPREFIX]?endpoint=URL&region=R&path_style=true
//
// and credentials (Secrets) and the options retry_attempts and
// retry_timeout through the Configure RPC, never through argv; see
// internal/cloudplugin and internal/backendurl. It serves no other scheme.
package main

import (
	"github.com/sharestore/sharestore/internal/cloudplugin"
	"github.com/sharestore/sharestore/plugin"
)

func main() { plugin.Serve(cloudplugin.Factory("s3")) }
