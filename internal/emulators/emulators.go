// Package emulators starts the storage emulators the cloud backend tests
// run against, on loopback only: MinIO (S3), fake-gcs-server (GCS) and
// Azurite (Azure Blob). scripts/install-emulators.sh installs them at
// pinned versions into .tools/bin.
//
// Each emulator is started at most once per test binary, lazily, on a
// free 127.0.0.1 port with a temporary data folder; readiness is polled
// with a bounded deadline. A test package stops them from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(emulators.Run(m)) }
//
// When an emulator binary is missing the test is skipped with a clear
// message, unless SHARESTORE_REQUIRE_EMULATORS=1 is set (make test and
// CI set it), in which case the test fails.
package emulators

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// RequireEnv names the environment variable that turns a missing
// emulator from a skip into a failure when set to 1.
const RequireEnv = "SHARESTORE_REQUIRE_EMULATORS"

// Kind names an emulator.
type Kind string

// The emulators.
const (
	MinIO   Kind = "minio"
	FakeGCS Kind = "fake-gcs-server"
	Azurite Kind = "azurite-blob"
)

// Well-known emulator credentials. They are test-only values, not
// secrets: MinIO's root user is chosen here, and Azurite's account key is
// the public development key.
const (
	MinIOUser         = "sharestore-test"
	MinIOPassword     = "sharestore-test-password"
	AzuriteAccount    = "devstoreaccount1"
	AzuriteAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// Server is a running emulator.
type Server struct {
	// Kind is the emulator.
	Kind Kind
	// Endpoint is its base URL, http://127.0.0.1:PORT (for Azurite,
	// without the account path).
	Endpoint string
	// Host is 127.0.0.1:PORT.
	Host string

	cmd  *exec.Cmd
	dir  string
	log  *syncWriter
	done chan struct{}
}

var (
	mu      sync.Mutex
	running = map[Kind]*Server{}
	failed  = map[Kind]error{}
)

// ToolsDir returns the directory the emulator binaries are looked up in:
// $SHARESTORE_TOOLS_BIN, or .tools/bin at the module root (found by
// walking up from the working directory to go.mod).
func ToolsDir() string {
	if d := os.Getenv("SHARESTORE_TOOLS_BIN"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		return ".tools/bin"
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, ".tools", "bin")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ".tools/bin"
		}
		dir = parent
	}
}

// Binary returns the path of kind's executable, or an error naming the
// install script when it is missing.
func Binary(kind Kind) (string, error) {
	p := filepath.Join(ToolsDir(), string(kind))
	if st, err := os.Stat(p); err == nil && !st.IsDir() {
		return p, nil
	}
	if p, err := exec.LookPath(string(kind)); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("emulator %s is not installed in %s or on PATH (run scripts/install-emulators.sh)", kind, ToolsDir())
}

// Required reports whether SHARESTORE_REQUIRE_EMULATORS=1.
func Required() bool { return os.Getenv(RequireEnv) == "1" }

// TB is what Get needs of a test; testing.TB and conformance.TB have it.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
}

// Get returns the running emulator of kind, starting it on first use.
// A missing binary skips t (or fails it when Required); a start failure
// fails t.
func Get(t TB, kind Kind) *Server {
	t.Helper()
	bin, err := Binary(kind)
	if err != nil {
		if Required() {
			t.Fatalf("%v; %s=1 makes this a failure", err, RequireEnv)
		}
		t.Skipf("%v; skipping (set %s=1 to fail instead)", err, RequireEnv)
	}
	mu.Lock()
	defer mu.Unlock()
	if s := running[kind]; s != nil {
		return s
	}
	if err := failed[kind]; err != nil {
		t.Fatalf("emulator %s failed to start earlier: %v", kind, err)
	}
	s, err := start(kind, bin)
	if err != nil {
		failed[kind] = err
		t.Fatalf("start emulator %s: %v", kind, err)
	}
	running[kind] = s
	return s
}

// StopAll stops every emulator this process started and removes their
// data folders.
func StopAll() {
	mu.Lock()
	defer mu.Unlock()
	for k, s := range running {
		s.stop()
		delete(running, k)
	}
}

// Run runs the tests of m and then stops the emulators and the
// PostgreSQL cluster; use it from TestMain.
func Run(m *testing.M) int {
	defer StopPostgres()
	defer StopAll()
	return m.Run()
}

// FreePort returns a currently free TCP port on 127.0.0.1.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func start(kind Kind, bin string) (*Server, error) {
	var lastErr error
	for try := 0; try < 3; try++ { // a port taken between FreePort and bind: try another
		s, err := startOnce(kind, bin)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func startOnce(kind Kind, bin string) (*Server, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "sharestore-"+string(kind)+"-*")
	if err != nil {
		return nil, err
	}
	host := fmt.Sprintf("127.0.0.1:%d", port)
	s := &Server{Kind: kind, Host: host, Endpoint: "http://" + host, dir: dir, log: &syncWriter{b: &bytes.Buffer{}}, done: make(chan struct{})}
	var args []string
	env := append(os.Environ(), "HOME="+dir)
	var ready func() bool
	switch kind {
	case MinIO:
		cport, err := FreePort()
		if err != nil {
			return nil, err
		}
		args = []string{"server", "--quiet", "--address", host, "--console-address", fmt.Sprintf("127.0.0.1:%d", cport), filepath.Join(dir, "data")}
		env = append(env, "MINIO_ROOT_USER="+MinIOUser, "MINIO_ROOT_PASSWORD="+MinIOPassword,
			"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CI_CD=1")
		// The health check can pass before the object layer is up, when
		// S3 requests still fail with 503 XMinioServerNotInitialized; an
		// anonymous ListBuckets is refused (403) only once it is.
		ready = func() bool {
			return httpStatus(s.Endpoint+"/minio/health/ready") == 200 && httpStatus(s.Endpoint+"/") == http.StatusForbidden
		}
	case FakeGCS:
		args = []string{"-scheme", "http", "-host", "127.0.0.1", "-port", fmt.Sprint(port),
			"-backend", "filesystem", "-filesystem-root", filepath.Join(dir, "data"),
			"-public-host", host, "-external-url", s.Endpoint, "-log-level", "error"}
		ready = func() bool { return httpStatus(s.Endpoint+"/storage/v1/b?project=test") == 200 }
	case Azurite:
		args = []string{"--blobHost", "127.0.0.1", "--blobPort", fmt.Sprint(port), "--location", filepath.Join(dir, "data"),
			"--skipApiVersionCheck", "--loose", "--silent", "--disableProductStyleUrl"}
		ready = func() bool { return httpStatus(s.Endpoint+"/"+AzuriteAccount+"?comp=list") > 0 }
	default:
		return nil, fmt.Errorf("unknown emulator %q", kind)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = s.log, s.log
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s.cmd = cmd
	go func() { cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(90 * time.Second)
	for !ready() {
		select {
		case <-s.done:
			out := s.output()
			os.RemoveAll(dir)
			return nil, fmt.Errorf("%s exited before it was ready: %s", kind, out)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			out := s.output()
			s.stop()
			return nil, fmt.Errorf("%s not ready on %s after 90s: %s", kind, host, out)
		}
	}
	return s, nil
}

func (s *Server) output() string {
	s.log.mu.Lock()
	out := s.log.b.String()
	s.log.mu.Unlock()
	if len(out) > 2000 {
		out = out[len(out)-2000:]
	}
	return out
}

func (s *Server) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		signalGroup(s.cmd.Process, false)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			signalGroup(s.cmd.Process, true)
			<-s.done
		}
	}
	os.RemoveAll(s.dir)
}

// httpStatus returns the status of a GET of url, or 0 if it failed.
func httpStatus(url string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

type syncWriter struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.b.Len() > 1<<20 {
		return len(p), nil
	}
	return w.b.Write(p)
}
