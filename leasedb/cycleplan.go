package leasedb

import (
	"context"
	"encoding/json"

	"github.com/sharestore/sharestore"
)

// A crawler may decide things once, at the start of a cycle, that every
// prefix of the cycle must see, even after a restart: the accounting
// crawler's deletion budget, say. The plan lives in the lease database so
// that it is updated in the same transaction as the prefix work that uses
// it. Each crawler has at most one plan, for its current cycle. It is
// kept in the prefix results table under the crawler's name plus
// planSuffix, with an empty prefix, so it needs no schema change and is
// never returned as a prefix result.
const planSuffix = "/plan"

// PutCyclePlan records crawler's plan for the cycle cycleID, replacing
// any earlier plan of that crawler (of this cycle or another).
func (tx *Tx) PutCyclePlan(ctx context.Context, crawler, cycleID string, plan json.RawMessage) error {
	if err := tx.checkWritable("put cycle plan"); err != nil {
		return err
	}
	_, err := tx.exec(ctx, "put cycle plan", sqlPutPrefixResult, crawler+planSuffix, "", cycleID, string(plan))
	return err
}

// CyclePlan returns crawler's plan if it belongs to the cycle cycleID; ok
// is false if there is none.
func (tx *Tx) CyclePlan(ctx context.Context, crawler, cycleID string) (plan json.RawMessage, ok bool, err error) {
	return tx.PrefixResult(ctx, crawler+planSuffix, cycleID, sharestore.Prefix(""))
}
