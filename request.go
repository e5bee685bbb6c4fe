package sharestore

// RequestOp names the kind of one backend request, as a Request reports
// it to the hook of Intercept. Its value is a stable lower-case name,
// fit for logs and metrics labels.
type RequestOp string

// The requests, one per method of Backend, Shareset, ImmutableWriter,
// PrefixScan, HeaderReader and MetaStore that can reach the store.
// Shareset, Capabilities, StorageIndex and the Close methods are not
// requests: they do no I/O, or only release what is held.
const (
	ReqListPrefix          RequestOp = "list-prefix"     // Backend.ListPrefix
	ReqSharesets           RequestOp = "sharesets"       // Backend.SharesetsForPrefix
	ReqAvailableSpace      RequestOp = "available-space" // Backend.AvailableSpace
	ReqScan                RequestOp = "scan"            // starting a scan (Scan, PrefixScanner)
	ReqScanPrefix          RequestOp = "scan-prefix"     // one prefix of a scan (PrefixScan.Next)
	ReqReadHeaders         RequestOp = "read-headers"    // a batch of header reads (ReadHeaders, HeaderReader)
	ReqShares              RequestOp = "shares"          // Shareset.Shares
	ReqShare               RequestOp = "share"           // Shareset.Share
	ReqReadShareData       RequestOp = "read"            // Shareset.ReadShareData
	ReqDeleteShare         RequestOp = "delete"          // Shareset.DeleteShare
	ReqWriteImmutable      RequestOp = "write-immutable" // Shareset.WriteImmutable
	ReqImmutableWrite      RequestOp = "immutable-write" // ImmutableWriter.Write
	ReqImmutableClose      RequestOp = "immutable-close" // ImmutableWriter.Close
	ReqImmutableAbort      RequestOp = "immutable-abort" // ImmutableWriter.Abort
	ReqTestAndReadAndWrite RequestOp = "test-and-write"  // Shareset.TestAndReadAndWrite
	ReqOpenRaw             RequestOp = "open-raw"        // Shareset.OpenRaw
	ReqPutRaw              RequestOp = "put-raw"         // Shareset.PutRaw
	ReqReadMeta            RequestOp = "read-meta"       // MetaStore.ReadMeta
	ReqWriteMeta           RequestOp = "write-meta"      // MetaStore.WriteMeta
)

// Request describes one backend request to the hook of Intercept: what
// is asked, and of which prefix, shareset or share.
//
// One request is one call of the methods listed with the RequestOp
// constants, with two exceptions that keep a count of requests close to
// the work the store does however the backend batches it:
//
//   - a scan is one ReqScan when it starts and then one ReqScanPrefix
//     for each prefix Next returns (the scan lists at most
//     ScanOptions.Ahead prefixes before Next asks for them, so what the
//     store has listed never runs more than Ahead prefixes ahead of the
//     requests made);
//   - a batch of header reads is one ReqReadHeaders that stands for one
//     header read per share: its Cost is len(IDs).
type Request struct {
	// Op is what is asked.
	Op RequestOp
	// Prefix is the prefix of ReqListPrefix, ReqSharesets and
	// ReqScanPrefix, and the first prefix of ReqScan.
	Prefix Prefix
	// SI is the storage index of a Shareset or ImmutableWriter request.
	SI StorageIndex
	// Shnum is the share number of a request about one share, and -1
	// for every other request.
	Shnum int
	// IDs are the shares whose headers ReqReadHeaders reads.
	IDs []ShareID
	// Name is the record name of ReqReadMeta and ReqWriteMeta.
	Name string
}

// Cost returns how many store operations r stands for, which is what a
// rate limiter charges for it: len(r.IDs) for ReqReadHeaders, and 1 for
// every other request.
func (r Request) Cost() int {
	if r.Op == ReqReadHeaders {
		return len(r.IDs)
	}
	return 1
}
