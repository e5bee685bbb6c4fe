package emulators

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresBinEnv names the environment variable that gives the directory
// holding PostgreSQL's server programs (initdb, postgres). Without it
// they are looked up in Debian's /usr/lib/postgresql/VERSION/bin (the
// highest version there), then on PATH. scripts/install-postgresql.sh
// installs them.
const PostgresBinEnv = "SHARESTORE_POSTGRES_BIN"

// PostgresUser is the superuser of a test cluster. The cluster trusts
// every connection, and it listens on 127.0.0.1 only.
const PostgresUser = "sharestore"

// Postgres is a running throwaway PostgreSQL cluster: its own data
// directory in a temporary folder, created by initdb, served by one
// postgres process on a free 127.0.0.1 port. It is made for tests: the
// data is not synced to disk, and it is removed when the cluster stops.
type Postgres struct {
	// Host is 127.0.0.1:PORT.
	Host string
	// URL is the connection URL of the cluster's maintenance database,
	// postgres, as PostgresUser.
	URL string
	// Version is the server's version, as SHOW server_version gives it.
	Version string

	port  int
	dir   string
	cmd   *exec.Cmd
	log   *syncWriter
	done  chan struct{}
	dbSeq atomic.Int64
}

var (
	pgOnce    sync.Mutex
	pgRunning *Postgres
	pgFailed  error
)

// PostgresBinary returns the path of PostgreSQL's server program name
// (initdb or postgres), or an error naming the install script.
func PostgresBinary(name string) (string, error) {
	if d := os.Getenv(PostgresBinEnv); d != "" {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
		return "", fmt.Errorf("PostgreSQL's %s is not in %s=%s", name, PostgresBinEnv, d)
	}
	if dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin"); len(dirs) > 0 {
		sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
		for _, d := range dirs {
			p := filepath.Join(d, name)
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				return p, nil
			}
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("PostgreSQL's %s is not installed in /usr/lib/postgresql/*/bin or on PATH (run scripts/install-postgresql.sh, or set %s)", name, PostgresBinEnv)
}

// versionOf is the major version in a path /usr/lib/postgresql/V/bin.
func versionOf(binDir string) int {
	var v int
	fmt.Sscanf(filepath.Base(filepath.Dir(binDir)), "%d", &v)
	return v
}

// GetPostgres returns the test binary's PostgreSQL cluster, starting it
// on first use; Run (or StopPostgres) stops it. Missing server programs
// skip t, or fail it when Required; a start failure fails t.
func GetPostgres(t TB) *Postgres {
	t.Helper()
	initdb, err := PostgresBinary("initdb")
	var server string
	if err == nil {
		server, err = PostgresBinary("postgres")
	}
	if err != nil {
		if Required() {
			t.Fatalf("%v; %s=1 makes this a failure", err, RequireEnv)
		}
		t.Skipf("%v; skipping (set %s=1 to fail instead)", err, RequireEnv)
	}
	pgOnce.Lock()
	defer pgOnce.Unlock()
	if pgRunning != nil {
		return pgRunning
	}
	if pgFailed != nil {
		t.Fatalf("PostgreSQL failed to start earlier: %v", pgFailed)
	}
	var p *Postgres
	for try := 0; try < 3; try++ { // a port taken between FreePort and bind: try another
		if p, err = startPostgres(initdb, server); err == nil {
			break
		}
	}
	if err != nil {
		pgFailed = err
		t.Fatalf("start PostgreSQL: %v", err)
	}
	pgRunning = p
	return p
}

// StopPostgres stops the cluster GetPostgres started, if any, and
// removes its data directory.
func StopPostgres() {
	pgOnce.Lock()
	defer pgOnce.Unlock()
	if pgRunning != nil {
		pgRunning.stop()
		pgRunning = nil
	}
}

// NewDatabase creates an empty database in the cluster, with a name no
// other call in this process returns, and returns its connection URL.
// Tests that share the cluster keep apart this way. The database lasts
// as long as the cluster.
func (p *Postgres) NewDatabase(t TB) string {
	t.Helper()
	name := fmt.Sprintf("test_%d_%d", os.Getpid(), p.dbSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.URL)
	if err != nil {
		t.Fatalf("connect to PostgreSQL at %s: %v", p.Host, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	return p.urlOf(name)
}

func (p *Postgres) urlOf(db string) string {
	return fmt.Sprintf("postgres://%s@%s/%s?sslmode=disable", PostgresUser, p.Host, db)
}

func startPostgres(initdb, server string) (*Postgres, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "sharestore-postgres-*")
	if err != nil {
		return nil, err
	}
	p := &Postgres{port: port, dir: dir, Host: fmt.Sprintf("127.0.0.1:%d", port),
		log: &syncWriter{b: &bytes.Buffer{}}, done: make(chan struct{})}
	p.URL = p.urlOf("postgres")
	fail := func(err error) (*Postgres, error) {
		os.RemoveAll(dir)
		return nil, err
	}
	data, sock := filepath.Join(dir, "data"), filepath.Join(dir, "socket")
	cred, err := prepareDirs(dir, data, sock)
	if err != nil {
		return fail(err)
	}
	env := append(os.Environ(), "LC_ALL=C", "LANG=C", "HOME="+dir)
	init := exec.Command(initdb, "--pgdata", data, "--username", PostgresUser, "--auth", "trust",
		"--encoding", "UTF8", "--no-locale", "--no-sync")
	init.Env, init.Dir, init.SysProcAttr = env, dir, procAttrAs(cred)
	if out, err := init.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("initdb: %v: %s", err, tail(string(out), 2000)))
	}
	// Throwaway data: no fsync, and no waiting for the WAL at commit.
	cmd := exec.Command(server, "-D", data, "-p", fmt.Sprint(port), "-k", sock,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=200")
	cmd.Env, cmd.Dir, cmd.SysProcAttr = env, dir, procAttrAs(cred)
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		return fail(err)
	}
	p.cmd = cmd
	go func() { cmd.Wait(); close(p.done) }()
	deadline := time.Now().Add(90 * time.Second)
	for {
		v, err := p.ping()
		if err == nil {
			p.Version = v
			return p, nil
		}
		select {
		case <-p.done:
			out := p.output()
			os.RemoveAll(dir)
			return nil, fmt.Errorf("postgres exited before it was ready: %s", out)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			out := p.output()
			p.stop()
			return nil, fmt.Errorf("postgres not ready on %s after 90s (%v): %s", p.Host, err, out)
		}
	}
}

// ping connects to the maintenance database and returns the server's
// version.
func (p *Postgres) ping() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.URL)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var v string
	err = conn.QueryRow(ctx, "SHOW server_version").Scan(&v)
	return v, err
}

func (p *Postgres) output() string {
	p.log.mu.Lock()
	defer p.log.mu.Unlock()
	return tail(p.log.b.String(), 2000)
}

// stop asks postgres for a fast shutdown (SIGINT: it ends the sessions
// and exits), kills its process group if that takes over 10 seconds,
// and removes the data directory.
func (p *Postgres) stop() {
	if p.cmd != nil && p.cmd.Process != nil {
		if err := p.cmd.Process.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
			signalGroup(p.cmd.Process, true)
		}
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			signalGroup(p.cmd.Process, true)
			<-p.done
		}
	}
	os.RemoveAll(p.dir)
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return s
}
