//go:build unix

package cli

import (
	"context"
	"fmt"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/internal/emulators"
)

const workersShares = 300

// workersScene is a disk store of workersShares shares whose lease
// database, on PostgreSQL, knows them all, every third with only a lease
// renewed in 2020: a crawl with expiry on (cutoff 2025) deletes those.
func workersScene(t *testing.T, pg *emulators.Postgres) (root, u string) {
	t.Helper()
	root, ids := copyStore(t, workersShares)
	u = pg.NewDatabase(t)
	if code, _, errOut := run(t, "crawl", "--backend", "disk:"+root, "--state-dir", t.TempDir(), "--leasedb", u, "--once", "--fast",
		"--crawler", "accounting", "--progress", "none"); code != 0 {
		t.Fatalf("first crawl: exit %d\n%s", code, errOut)
	}
	conn, err := pgx.Connect(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, id := range ids {
		if i%3 != 0 {
			continue
		}
		if _, err := conn.Exec(context.Background(), `UPDATE leases SET renewal_time = $1, expiration_time = $2 WHERE storage_index = $3 AND shnum = $4`,
			old.Unix(), old.Add(30*24*time.Hour).Unix(), id.SI.String(), id.Shnum); err != nil {
			t.Fatal(err)
		}
	}
	return root, u
}

// expiryCrawl is the crawl with expiry on that a scene's workers run.
func expiryCrawl(root, u, stateDir, worker string) []string {
	return []string{"crawl", "--backend", "disk:" + root, "--state-dir", stateDir, "--leasedb", u, "--once",
		"--crawler", "accounting", "--progress", "none", "--fast", "--prefixes-in-flight", "4", "--rate-limit", "300",
		"--expire-mode", "cutoff-date", "--expire-cutoff-date", "2025-01-01", "--max-delete-percent", "100", "--claim-lease", "2s", "--worker", worker}
}

// remaining lists the shares left in the disk store at root.
func remaining(t *testing.T, root string) []string {
	t.Helper()
	b, err := disk.Open(root, disk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var out []string
	for _, p := range sharestore.Prefixes() {
		if err := b.ListPrefix(context.Background(), p, func(i sharestore.ShareInfo) error {
			out = append(out, fmt.Sprintf("%s/%d", i.SI, i.Shnum))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(out)
	return out
}

// doneAndHeld reads, for the shared cycle in progress, how many prefixes
// are done and how many worker holds.
func doneAndHeld(ctx context.Context, conn *pgx.Conn, worker string) (done, held int) {
	conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE done = 1), count(*) FILTER (WHERE done = 0 AND holder = $1)
		FROM crawler_claims WHERE cycle_id = (SELECT cycle_id FROM crawler_cycles WHERE crawler = 'accounting' AND state = 2)`, worker).Scan(&done, &held)
	return done, held
}

// Three `sharestore crawl` processes on one PostgreSQL lease database
// split a cycle with expiry on. One of them is SIGKILLed while it holds
// claims, at a different point of the cycle in each run; the other two
// redo its prefixes once its claims run out, and the cycle ends with the
// lease database (times aside) and the shares left that one undisturbed
// process gives.
func TestWorkersSurviveSIGKILL(t *testing.T) {
	pg := emulators.GetPostgres(t)
	refRoot, refURL := workersScene(t, pg)
	if code, _, errOut := run(t, expiryCrawl(refRoot, refURL, t.TempDir(), "alone")...); code != 0 {
		t.Fatalf("undisturbed crawl: exit %d\n%s", code, errOut)
	}
	wantDump, wantLeft := dumpWithoutTimes(t, refURL), remaining(t, refRoot)
	if len(wantLeft) != workersShares-workersShares/3 {
		t.Fatalf("the undisturbed crawl left %d of %d shares, want %d", len(wantLeft), workersShares, workersShares-workersShares/3)
	}
	exe := subprocessExe(t)
	for _, killAt := range []int{0, 300, 700} {
		t.Run(fmt.Sprintf("kill-after-%d-prefixes", killAt), func(t *testing.T) {
			root, u := workersScene(t, pg)
			conn, err := pgx.Connect(context.Background(), u)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(context.Background())
			var cmds []*exec.Cmd
			var logs []*lockedBuffer
			for w := 0; w < 3; w++ {
				cmd := exec.Command(exe, "-test.run=^TestCLISubprocess$")
				cmd.Env = subprocessEnv(expiryCrawl(root, u, t.TempDir(), fmt.Sprintf("w%d", w))...)
				var errb lockedBuffer
				cmd.Stderr, cmd.Stdout = &errb, &errb
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				cmds, logs = append(cmds, cmd), append(logs, &errb)
			}
			defer func() {
				for _, c := range cmds {
					c.Process.Kill()
				}
			}()
			waited := make(chan error, 1)
			go func() { waited <- cmds[0].Wait() }()
			deadline := time.Now().Add(60 * time.Second)
			for killed := false; !killed; {
				select {
				case err := <-waited:
					t.Fatalf("worker 0 ended (%v) before it was killed after %d prefixes\n%s", err, killAt, clip(logs[0].String()))
				default:
				}
				if done, held := doneAndHeld(context.Background(), conn, "w0"); done >= killAt && held > 0 {
					cmds[0].Process.Kill() // SIGKILL
					killed = true
					t.Logf("killed worker 0 holding %d claims, %d prefixes done", held, done)
				}
				if time.Now().After(deadline) {
					t.Fatalf("worker 0 never held claims after %d prefixes were done", killAt)
				}
				time.Sleep(5 * time.Millisecond)
			}
			<-waited
			for w := 1; w < 3; w++ {
				if err := waitTimeout(cmds[w], 120*time.Second); err != nil {
					t.Fatalf("worker %d: %v\n%s", w, err, clip(logs[w].String()))
				}
			}
			if got := dumpWithoutTimes(t, u); !reflect.DeepEqual(got, wantDump) {
				t.Errorf("lease database after the kill differs from the undisturbed crawl's:\n got %.2000s\nwant %.2000s", fmt.Sprint(got), fmt.Sprint(wantDump))
			}
			if got := remaining(t, root); !slices.Equal(got, wantLeft) {
				t.Errorf("%d shares left after the kill, %d undisturbed", len(got), len(wantLeft))
			}
			if !strings.Contains(logs[1].String()+logs[2].String(), "finished shared cycle") && testing.Verbose() {
				t.Logf("logs:\n%s\n%s", clip(logs[1].String()), clip(logs[2].String()))
			}
		})
	}
}

// waitTimeout waits for cmd, killing it after d.
func waitTimeout(cmd *exec.Cmd, d time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		cmd.Process.Kill()
		return fmt.Errorf("still running after %s", d)
	}
}
