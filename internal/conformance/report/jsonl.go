package report

import (
	"encoding/json"
	"io"
)

// jsonResult is one line of WriteJSON's output.
type jsonResult struct {
	Name    string  `json:"name"`
	Group   string  `json:"group"`
	Status  Status  `json:"status"`
	Seconds float64 `json:"seconds"`
	Message string  `json:"message"`
	Reason  string  `json:"reason,omitempty"`
}

// WriteJSON writes rs to w as JSON Lines: one object per result, in
// order, each on its own line, with the CLI's kebab-case keys:
//
//	{"name":"Backend/Listing/Over1000","group":"Backend/Listing","status":"known-failure","seconds":2.5,"message":"listing stopped after 1000 keys","reason":"acme#12"}
//
// status is one of passed, failed, skipped, known-failure and fixed (a
// Status that is not one of those is written as failed); seconds is
// Elapsed as a JSON number; message is the failure's messages or the
// skip reason, "" when there is none; reason, the known-failures entry's
// reason, is left out when empty. Messages are written as they are,
// control characters escaped by JSON and invalid UTF-8 replaced with
// U+FFFD; '<', '>' and '&' are not escaped.
func WriteJSON(w io.Writer, rs []Result) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, r := range rs {
		if err := enc.Encode(jsonResult{
			Name:    r.Name,
			Group:   r.Group,
			Status:  r.Status.effective(),
			Seconds: r.Elapsed.Seconds(),
			Message: r.Message,
			Reason:  r.Reason,
		}); err != nil {
			return err
		}
	}
	return nil
}
