package statedir

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/crawler"
	"github.com/sharestore/sharestore/leasedb"
)

// OwnerMarkerName is the MetaStore record that names a store's owner.
const OwnerMarkerName = "sharestore-owner.json"

// OwnerIDFile is the file in a state directory that holds its owner ID.
const OwnerIDFile = "owner-id"

// markerFormat identifies version 1 of the marker's JSON.
const markerFormat = "sharestore-owner/1"

// Marker is the ownership marker a store carries.
type Marker struct {
	// Format is "sharestore-owner/1".
	Format string `json:"format"`
	// Owner is the owning state directory's owner ID (OwnerID).
	Owner string `json:"owner"`
	// StateDir is the owning state directory's absolute path, and Host
	// the name of the machine that claimed the store: for people.
	StateDir string `json:"state-dir"`
	Host     string `json:"host"`
	// Claimed is when the owner claimed the store.
	Claimed time.Time `json:"claimed"`
}

// String describes the owner for messages.
func (m Marker) String() string {
	return fmt.Sprintf("state directory %s on host %s (owner %s, claimed %s)", m.StateDir, m.Host, m.Owner, m.Claimed.UTC().Format(time.RFC3339))
}

// OwnerID returns the owner ID of the state directory dir: 32 hex digits
// kept in dir/owner-id, made at random the first time.
func OwnerID(dir string) (string, error) {
	path := filepath.Join(dir, OwnerIDFile)
	if b, err := os.ReadFile(path); err == nil {
		id := strings.TrimSpace(string(b))
		if len(id) != 32 {
			return "", sharestore.Errorf(sharestore.ErrCorrupt, "owner ID file %s is damaged (want 32 hex digits); move it aside to make a new one, and then pass --take-ownership", path)
		}
		if _, err := hex.DecodeString(id); err != nil {
			return "", sharestore.Errorf(sharestore.ErrCorrupt, "owner ID file %s is damaged (want 32 hex digits); move it aside to make a new one, and then pass --take-ownership", path)
		}
		return id, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", sharestore.Errorf(sharestore.ErrUnavailable, "owner ID file %s: %v", path, err)
	}
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	id := hex.EncodeToString(raw[:])
	if err := crawler.WriteFileAtomic(path, []byte(id+"\n")); err != nil {
		return "", sharestore.Errorf(sharestore.ErrUnavailable, "owner ID file %s: %v", path, err)
	}
	return id, nil
}

// SharedOwner returns the owner ID and name of the store for the workers
// that share the lease database leasedbURL (a PostgreSQL URL): the
// first 32 hex digits of the SHA-256 of its redacted form, so that every
// worker given the same URL, whatever its password, is the same owner.
func SharedOwner(leasedbURL string) (id, name string) {
	r := leasedb.RedactURL(leasedbURL)
	h := sha256.Sum256([]byte("sharestore shared lease database " + r))
	return hex.EncodeToString(h[:16]), "lease database " + r
}

// Ownership is what CheckOwner found.
type Ownership struct {
	// Owned reports that the state directory may delete from the store.
	Owned bool
	// Found is the marker the store carried before the check, or nil.
	Found *Marker
	// Claimed reports that the check wrote the store's marker.
	Claimed bool
	// Unchecked reports that Owned comes from Take alone: the backend
	// cannot keep a marker.
	Unchecked bool
	// Reason says, when Owned is false, why, in words for an operator.
	Reason string
}

// OwnerCheck says what CheckOwner may do.
type OwnerCheck struct {
	// StateDir is the state directory; its owner ID comes from OwnerID.
	StateDir string
	// Owner, if set, is the owner ID to check and claim with instead of
	// the state directory's, and OwnerName names that owner in the
	// marker: the workers that share a lease database (see
	// SharedOwner) own a store together.
	Owner, OwnerName string
	// Claim writes a marker naming StateDir when the store has none.
	Claim bool
	// Take overwrites a marker that names another owner, or accepts a
	// backend that cannot keep a marker (--take-ownership).
	Take bool
	// Now is the claim time.
	Now time.Time
}

// CheckOwner decides whether c.StateDir (or c.Owner) owns the store b. It never
// deletes or changes anything but the marker, and it changes that only
// as c allows. An error means the marker could not be checked at all
// (the owner ID file is damaged, say); a store owned by someone else is
// not an error but Owned false with the Reason.
func CheckOwner(ctx context.Context, b sharestore.Backend, c OwnerCheck) (Ownership, error) {
	dir, err := filepath.Abs(c.StateDir)
	if err != nil {
		return Ownership{}, err
	}
	id := c.Owner
	if id == "" {
		if id, err = OwnerID(dir); err != nil {
			return Ownership{}, err
		}
	} else {
		dir = c.OwnerName
	}
	ms, ok := sharestore.MetaStoreOf(b)
	if !ok {
		return noMarker(c, "the backend cannot keep an ownership marker")
	}
	raw, err := ms.ReadMeta(ctx, OwnerMarkerName)
	switch {
	case errors.Is(err, sharestore.ErrUnimplemented):
		return noMarker(c, "the backend cannot keep an ownership marker")
	case errors.Is(err, sharestore.ErrNotFound):
		if !c.Claim {
			return Ownership{Reason: "the store has no ownership marker yet (a crawl that may delete claims it)"}, nil
		}
		return claim(ctx, ms, dir, id, c.Now, nil)
	case err != nil:
		return Ownership{Reason: fmt.Sprintf("the ownership marker %s cannot be read: %v", OwnerMarkerName, err)}, nil
	}
	var m Marker
	if err := json.Unmarshal(raw, &m); err != nil || m.Format != markerFormat || m.Owner == "" {
		if c.Take {
			return claim(ctx, ms, dir, id, c.Now, nil)
		}
		return Ownership{Reason: fmt.Sprintf("the store's ownership marker %s is damaged or not sharestore's; pass --take-ownership to replace it", OwnerMarkerName)}, nil
	}
	if m.Owner == id {
		return Ownership{Owned: true, Found: &m}, nil
	}
	if c.Take {
		return claim(ctx, ms, dir, id, c.Now, &m)
	}
	return Ownership{Found: &m, Reason: fmt.Sprintf("the store is owned by %s, not by %s; this crawl records shares but deletes nothing (pass --take-ownership to make %s the owner)", m, dir, dir)}, nil
}

// noMarker is the answer for a backend without markers: owned only when
// the operator said so.
func noMarker(c OwnerCheck, why string) (Ownership, error) {
	if c.Take {
		return Ownership{Owned: true, Unchecked: true}, nil
	}
	return Ownership{Reason: why + ", so ownership cannot be checked; pass --take-ownership to delete anyway"}, nil
}

// claim writes a marker naming dir and reads it back, so that of two
// claims racing, the one that reads another's marker backs off.
func claim(ctx context.Context, ms sharestore.MetaStore, dir, id string, now time.Time, prev *Marker) (Ownership, error) {
	host, _ := os.Hostname()
	m := Marker{Format: markerFormat, Owner: id, StateDir: dir, Host: host, Claimed: now.UTC().Truncate(time.Second)}
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Ownership{}, err
	}
	if err := ms.WriteMeta(ctx, OwnerMarkerName, append(js, '\n')); err != nil {
		return Ownership{Found: prev, Reason: fmt.Sprintf("the ownership marker %s cannot be written: %v", OwnerMarkerName, err)}, nil
	}
	back, err := ms.ReadMeta(ctx, OwnerMarkerName)
	var got Marker
	if err != nil || json.Unmarshal(back, &got) != nil || got.Owner != id {
		return Ownership{Found: prev, Reason: "another state directory claimed the store at the same time; run again to see which"}, nil
	}
	return Ownership{Owned: true, Found: prev, Claimed: true}, nil
}
