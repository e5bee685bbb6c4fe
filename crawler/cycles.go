package crawler

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/sharestore/sharestore/leasedb"
)

// Cycle numbers never repeat within a state directory: a history entry,
// a stored prefix result or a report names a cycle by its number, so a
// fresh state (its file lost, or damaged and moved aside) must not start
// again at 0. The engine starts each cycle above every number that a
// surviving record names: its own state, the damaged state files moved
// aside next to it, and the crawler's own records (CycleRecorder).

// CycleRecorder is implemented by crawlers that keep records of their
// cycles outside the engine's state file, such as the accounting
// crawler's history in the lease database.
type CycleRecorder interface {
	// NextCycleNumber returns a cycle number above every cycle the
	// crawler's records name, or 0 if they name none.
	NextCycleNumber(ctx context.Context) (int, error)
}

// cycleNumberOf returns the number of the cycle whose ID is id (see
// cycleID).
func cycleNumberOf(id string) (int, bool) {
	num, _, ok := strings.Cut(id, "@")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || n < 0 || n >= maxCycle {
		return 0, false
	}
	return n, true
}

// maxSalvage bounds the size of a moved-aside state file that
// salvageCycles reads.
const maxSalvage = 64 << 20

// cycleField finds the cycle numbers in a state file that no longer
// parses: the engine's cycle fields, the bucket counter's published
// cycle, and the number in a cycle ID.
var cycleField = regexp.MustCompile(`"(?:current_cycle|last_cycle_finished|last-complete-cycle)"\s*:\s*(\d{1,10})\b|"cycle_id"\s*:\s*"(\d{1,10})@`)

// salvageCycles returns one more than the highest cycle number named in
// the damaged state files moved aside from path (path.corrupt-TIME, see
// moveAside), or 0. Whatever cannot be read is skipped: this only keeps
// numbers from repeating, and a file too damaged to name a cycle has
// none to protect.
func salvageCycles(path string) int {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	next := 0
	for _, ent := range entries {
		if !strings.HasPrefix(ent.Name(), base+".corrupt-") || !ent.Type().IsRegular() {
			continue
		}
		b, err := readSalvage(filepath.Join(dir, ent.Name()))
		if err != nil {
			continue
		}
		for _, m := range cycleField.FindAllSubmatch(b, -1) {
			num := m[1]
			if num == nil {
				num = m[2]
			}
			if n, err := strconv.Atoi(string(num)); err == nil && n < maxCycle {
				next = max(next, n+1)
			}
		}
	}
	return next
}

// readSalvage reads at most maxSalvage bytes of the regular file path,
// never following a symbolic link or opening a FIFO.
func readSalvage(path string) ([]byte, error) {
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return nil, os.ErrInvalid
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxSalvage))
}

// NextCycleNumber implements CycleRecorder: it returns a number above
// every cycle in the lease database's history and every cycle whose
// prefix results or deletion plan it still holds (a cycle in progress
// whose state file was lost, say).
func (a *Accounting) NextCycleNumber(ctx context.Context) (int, error) {
	next := 0
	err := a.db.View(ctx, func(tx *leasedb.Tx) error {
		hist, err := tx.History(ctx)
		if err != nil {
			return err
		}
		for c := range hist {
			next = max(next, c+1)
		}
		ids, err := tx.CycleIDs(ctx, AccountingName)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if n, ok := cycleNumberOf(id); ok {
				next = max(next, n+1)
			}
		}
		return nil
	})
	return next, err
}

// Compile-time check that Accounting records its cycles.
var _ CycleRecorder = (*Accounting)(nil)
