package leasedb_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/leasedb"
)

// One accounting-crawler step for one prefix, committed as a whole.
func ExampleDB_Update() {
	dir, err := os.MkdirTemp("", "leasedb-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := leasedb.Open(ctx, filepath.Join(dir, "leasedb.sqlite"), leasedb.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) // from the crawler's clock
	var si sharestore.StorageIndex                     // "aaaa…", prefix "aa"
	listed := []leasedb.Share{{SI: si, Shnum: 0, UsedSpace: 1000, Type: sharestore.ShareTypeImmutable}}

	err = db.Update(ctx, func(tx *leasedb.Tx) error {
		known, err := tx.SharesForPrefix(ctx, si.Prefix())
		if err != nil {
			return err
		}
		fmt.Println("known before:", len(known))
		// New shares become STABLE with a starter lease.
		return tx.AddDiscoveredShares(ctx, listed, now)
	})
	if err != nil {
		log.Fatal(err)
	}
	leases, err := db.Leases(ctx, si)
	if err != nil {
		log.Fatal(err)
	}
	for _, l := range leases {
		fmt.Println(l.Shnum, l.Account, l.Expiration.Sub(l.Renewal))
	}
	// Output:
	// known before: 0
	// 0 1 1440h0m0s
}

func ExampleNewExpirationPolicy() {
	p, err := leasedb.NewExpirationPolicy(true, "age", "60 days", "")
	fmt.Println(p.Override, err)
	fmt.Println(p.DescribeExpiration())
	_, err = leasedb.ParseDuration("2kumquats")
	fmt.Println(err)
	// Output:
	// 1440h0m0s <nil>
	// Leases created or last renewed more than 60 days ago will be considered expired.
	// no unit (like day, month, or year) in '2kumquats'
}
