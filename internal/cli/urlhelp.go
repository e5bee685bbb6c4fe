package cli

// backendHelp is the help text of every command that takes a backend
// URL: each form the CLI accepts, with an example of each. It ends
// without a newline.
const backendHelp = `Backend URLs (--backend, --from, --to):
  disk:PATH      a Tahoe storage directory, the one that holds shares/
                   disk:/var/lib/tahoe/storage
  s3://BUCKET[/KEYPREFIX][?endpoint=URL&region=R&path_style=true]
                 Amazon S3 or an S3-compatible store; credentials from
                 AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or
                 the shared config files
                   s3://tahoe-shares/server1?region=eu-west-1
                   s3://shares?endpoint=http://127.0.0.1:9000&path_style=true
  gs://BUCKET[/KEYPREFIX][?endpoint=URL&auth=adc|none|key&key_file=PATH]
                 Google Cloud Storage; Application Default Credentials
                 unless auth= says otherwise
                   gs://tahoe-shares/server1
                   gs://shares?auth=key&key_file=/etc/sharestore/key.json
  azblob://CONTAINER[/KEYPREFIX][?endpoint=URL&account=NAME]
                 Azure Blob Storage; AZURE_STORAGE_CONNECTION_STRING, or
                 the account with AZURE_STORAGE_KEY, or Azure's default
                 credential chain
                   azblob://tahoe-shares/server1?account=myaccount
  With --plugin PATH, the URL is passed to the plugin as it is, in
  whatever form the plugin documents.
Credentials never go in a URL.`
