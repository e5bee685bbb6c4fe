package plugin

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/driver"
	"github.com/sharestore/sharestore/internal/backendurl/redact"
	"github.com/sharestore/sharestore/internal/logging"
	pb "github.com/sharestore/sharestore/plugin/proto/backendv1"
)

// HostOptions are the host-side settings of Open. They never reach the
// plugin.
type HostOptions struct {
	// SHA256, when set, pins the plugin binary: Open (and every restart)
	// refuses to start a binary whose SHA-256 differs.
	SHA256 []byte
	// Logger receives the plugin's log records, in the host's format and
	// at the host's level: each record the plugin logs (plugin.Serve
	// writes them as JSON lines on its stderr), each line it writes
	// to its stdout or stderr outside its logger (at warn level once it
	// serves; at debug level during start-up, when such lines go into
	// the error that reports a failed start instead), and go-plugin's
	// own records (at debug level). Every record carries a "plugin"
	// attribute naming the binary and goes through redact.String. The
	// plugin process is told the logger's level (LogLevelEnv), so it
	// does not even produce records below it. Nil means a text logger at
	// info level on Stderr.
	Logger *slog.Logger
	// Stderr is where the default Logger writes. Nil means os.Stderr.
	Stderr io.Writer
	// StartTimeout bounds the start-up: from starting the binary to the
	// end of the handshake. When it passes (or ctx ends) first, the host
	// kills the plugin's whole process group, so a wrapper script's
	// children go too, and Open fails. Zero means 10 seconds.
	StartTimeout time.Duration
	// MaxRestarts is how many times in a row the supervisor tries to
	// restart a crashed plugin before a call fails with ErrUnavailable.
	// Zero means 5.
	MaxRestarts int
}

const (
	restartBackoffMin = 50 * time.Millisecond
	restartBackoffMax = 2 * time.Second
	// stopGrace bounds how long the host waits for go-plugin to let go
	// of a plugin whose process group it killed. Only a process that left
	// the group (setsid) and holds the plugin's stdout can make it wait
	// longer; the host then goes on without it.
	stopGrace = 5 * time.Second
)

// Backend is a sharestore.Backend served by a plugin subprocess. It is
// safe for concurrent use. The host side is the shared layer
// (driver.Backend, embedded) over the plugin's RPCs, so the host
// validates every call, refuses calls after Close, and takes its own
// per-storage-index lock around every mutation and around the guard of
// a DeleteShare: a guard that runs on the host excludes the host's own
// TestAndReadAndWrite, PutRaw and immutable commits on that storage
// index, as it does in process. The plugin's fast paths (one
// ScanPrefixes stream per scan, batched ReadHeaders) and its metadata
// records are reached through the layer.
type Backend struct {
	*driver.Backend
	c *client
}

// client is the driver under the shared layer: the RPCs of one plugin,
// restarted when it dies.
type client struct {
	path  string
	cfg   Config
	opts  HostOptions
	layer *driver.Backend // the Backend over this client

	mu       sync.Mutex
	cur      *instance
	caps     sharestore.Capabilities
	closed   bool
	restarts int
	tally    requestTally // the plugin's request counts, see StoreRequests
	// scratch, when set, makes this the client of one scratch backend
	// of the plugin's harness (OpenHarness) instead of a configured one.
	scratch *scratchClient
}

// instance is one running plugin process.
type instance struct {
	client  *goplugin.Client
	group   *groupRunner
	rpc     pb.BackendClient
	harness pb.HarnessClient
	mu      sync.Mutex
	dead    bool
}

func (i *instance) isDead() bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.dead || i.client.Exited()
}

func (i *instance) markDead() {
	i.mu.Lock()
	i.dead = true
	i.mu.Unlock()
}

// kill stops the plugin: go-plugin's Kill (a graceful exit first, then
// the process group's SIGKILL), bounded by stopGrace.
func (i *instance) kill() { stopClient(i.client, i.group) }

// stopClient kills client, whose process group is group, and waits at
// most stopGrace for go-plugin to be done with it.
func stopClient(client *goplugin.Client, group *groupRunner) {
	done := make(chan struct{})
	go func() {
		client.Kill()
		close(done)
	}()
	t := time.NewTimer(stopGrace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		group.killGroup()
	}
}

var _ sharestore.Backend = (*Backend)(nil)

// Open starts the plugin binary at path, checks its handshake (and its
// SHA-256 when opts.SHA256 is set), and configures it with cfg through the
// Configure RPC. It fails fast, naming the binary and the cause, when path
// is not a plugin, speaks another protocol version, does not match the
// pin, or crashes at start-up. The returned backend restarts the plugin
// if it crashes; Close stops it.
func Open(ctx context.Context, path string, cfg Config, opts HostOptions) (*Backend, error) {
	return open(ctx, &client{path: path, cfg: cfg, opts: withDefaults(path, opts)})
}

// withDefaults fills in opts' defaults for the plugin at path.
func withDefaults(path string, opts HostOptions) HostOptions {
	if opts.Logger == nil {
		w := opts.Stderr
		if w == nil {
			w = os.Stderr
		}
		opts.Logger = slog.New(slog.NewTextHandler(w, nil))
	}
	// The plugin's records, its stdio and go-plugin's records may quote
	// the URL or a credential.
	opts.Logger = slog.New(logging.Redact(opts.Logger.Handler(), redact.String)).With("plugin", path)
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 10 * time.Second
	}
	if opts.MaxRestarts == 0 {
		opts.MaxRestarts = 5
	}
	return opts
}

// open starts c's plugin and puts the shared layer over it.
func open(ctx context.Context, c *client) (*Backend, error) {
	inst, caps, err := c.start(ctx)
	if err != nil {
		return nil, err
	}
	c.cur, c.caps = inst, caps
	layer, err := driver.New(c, driver.Options{Name: "plugin " + c.path})
	if err != nil {
		c.Close()
		return nil, err
	}
	c.layer = layer
	return &Backend{Backend: layer, c: c}, nil
}

// tailBuffer keeps the last few KiB of the lines a plugin wrote outside
// its logger: its last words, for the error that reports a failed start.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tailBuffer) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(append(t.buf, line...), '\n')
	if len(t.buf) > 4096 {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-4096:]...)
	}
}

// String returns the lines kept, on one line: joined with " / ", and cut
// to the last tailShown bytes.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var lines []string
	for _, l := range strings.Split(string(t.buf), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	s := strings.Join(lines, " / ")
	if len(s) > tailShown {
		s = "…" + s[len(s)-tailShown:]
	}
	return s
}

// tailShown bounds how much of a plugin's last words an error quotes.
const tailShown = 600

// output is where one plugin process's stderr and stdio go: records to
// the host's logger (logging.Relay), and every other line to the tail
// and to the logger, at debug level until the plugin serves and at warn
// level after.
type output struct {
	logger  *slog.Logger
	tail    tailBuffer
	serving atomic.Bool
}

// raw handles a line the plugin wrote outside its logger.
func (o *output) raw(line string) {
	o.tail.add(line)
	level := slog.LevelDebug
	if o.serving.Load() {
		level = slog.LevelWarn
	}
	o.logger.Log(context.Background(), level, line)
}

// relay returns a writer for one of the plugin's streams.
func (o *output) relay() *logging.Relay {
	return &logging.Relay{Logger: o.logger, Raw: o.raw}
}

// start launches one plugin process and configures it.
func (b *client) start(ctx context.Context) (*instance, sharestore.Capabilities, error) {
	var none sharestore.Capabilities
	out := &output{logger: b.opts.Logger}
	fail := func(code sharestore.Code, err error, withTail bool) error {
		msg := fmt.Sprintf("plugin %s: %v", b.path, err)
		if withTail {
			if s := out.tail.String(); s != "" {
				msg += "; plugin stderr: " + s
			}
		}
		return &sharestore.Error{Code: code, Msg: redact.String(msg)}
	}
	if fi, err := os.Stat(b.path); err != nil {
		return nil, none, fail(sharestore.ErrNotFound, err, false)
	} else if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return nil, none, fail(sharestore.ErrInvalidArgument, errors.New("not an executable file"), false)
	}
	if b.opts.SHA256 != nil {
		// go-plugin checks the command it runs itself; with a runner of
		// our own, the host checks the binary.
		sc := &goplugin.SecureConfig{Checksum: b.opts.SHA256, Hash: sha256.New()}
		if ok, err := sc.Check(b.path); err != nil {
			return nil, none, fail(sharestore.ErrUnavailable, fmt.Errorf("start-up failed: verifying its SHA-256: %w", err), false)
		} else if !ok {
			return nil, none, fail(sharestore.ErrPermissionDenied, errors.New("refusing to start: SHA-256 does not match the pin"), false)
		}
	}
	group := &groupRunner{path: b.path, env: []string{LogLevelEnv + "=" + logging.LevelName(logging.LevelOf(b.opts.Logger))}}
	stdio := out.relay()
	cc := &goplugin.ClientConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: map[int]goplugin.PluginSet{ProtocolVersion: {PluginName: &grpcPlugin{}}},
		RunnerFunc:       group.prepare,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		AutoMTLS:         true,
		Managed:          true,
		// The host's own timer (handshake) ends the start-up; go-plugin's
		// is a backstop.
		StartTimeout: 2 * b.opts.StartTimeout,
		// The plugin's stderr: its records (Serve writes them there) and
		// its last words. go-plugin's own re-logging of it is off (see
		// hclogger).
		Stderr: out.relay(),
		// What the plugin writes to os.Stdout/os.Stderr once it serves
		// travels over go-plugin's stdio stream; it is a log either way,
		// and must never reach the host's stdout.
		SyncStdout: stdio,
		SyncStderr: stdio,
		Logger:     newHCLogger(b.opts.Logger, filepath.Base(b.path)),
		GRPCDialOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(maxMsg), grpc.MaxCallSendMsgSize(maxMsg))},
	}
	client := goplugin.NewClient(cc)
	rpcClient, err := b.handshake(ctx, client, group)
	if err != nil {
		stopClient(client, group)
		if sharestore.CodeOf(err) == sharestore.ErrCanceled {
			return nil, none, err
		}
		return nil, none, fail(sharestore.ErrUnavailable, err, true)
	}
	raw, err := rpcClient.Dispense(PluginName)
	if err != nil {
		stopClient(client, group)
		return nil, none, fail(sharestore.ErrUnavailable, fmt.Errorf("start-up failed: %w", err), true)
	}
	out.serving.Store(true)
	r := raw.(rpcs)
	inst := &instance{client: client, group: group, rpc: r.backend, harness: r.harness}
	if b.scratch != nil {
		caps, err := b.scratch.start(ctx, b, inst)
		if err != nil {
			inst.kill()
			return nil, none, err
		}
		return inst, caps, nil
	}
	resp, err := inst.rpc.Configure(ctx, &pb.ConfigureRequest{Url: b.cfg.URL, Create: b.cfg.Create, Options: b.cfg.Options, Secrets: b.cfg.Secrets})
	if err != nil {
		inst.kill()
		e := fromStatus(ctx, err, "configure")
		return nil, none, &sharestore.Error{Code: sharestore.CodeOf(e), Msg: redact.String(fmt.Sprintf("plugin %s: configure %q: %v", b.path, b.cfg.URL, e))}
	}
	return inst, capsFromPB(resp.Capabilities), nil
}

// handshake starts the plugin and waits for its handshake, at most
// opts.StartTimeout and no longer than ctx. When either ends first, it
// kills the plugin's process group and says so: go-plugin's own timeout
// only kills the plugin, and then waits for its stdout to close, which a
// child of a wrapper script holds open for as long as it lives.
func (b *client) handshake(ctx context.Context, client *goplugin.Client, group *groupRunner) (goplugin.ClientProtocol, error) {
	type result struct {
		c   goplugin.ClientProtocol
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := client.Client()
		done <- result{c, err}
	}()
	t := time.NewTimer(b.opts.StartTimeout)
	defer t.Stop()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, errors.New("start-up failed: " + handshakeFailure(r.err))
		}
		return r.c, nil
	case <-t.C:
		group.killGroup()
		return nil, fmt.Errorf("did not complete the handshake within the start-up timeout of %v; its process group was killed", b.opts.StartTimeout)
	case <-ctx.Done():
		group.killGroup()
		return nil, sharestore.Wrap(sharestore.ErrCanceled, ctx.Err(), fmt.Sprintf("plugin %s: start-up ended before the handshake; its process group was killed", b.path))
	}
}

// get returns the running plugin, restarting it first (with exponential
// backoff, at most opts.MaxRestarts attempts) if it died.
func (b *client) get(ctx context.Context) (*instance, error) {
	if err := sharestore.CtxErr(ctx); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "plugin %s: backend used after Close", b.path)
	}
	if b.cur != nil && !b.cur.isDead() {
		return b.cur, nil
	}
	if b.cur != nil {
		b.cur.kill()
		b.cur = nil
	}
	if b.scratch != nil {
		return nil, sharestore.Errorf(sharestore.ErrUnavailable, "plugin %s died; its scratch backend is gone with it", b.path)
	}
	wait := restartBackoffMin
	var last error
	for attempt := 0; attempt < b.opts.MaxRestarts; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, sharestore.CtxErr(ctx)
			case <-t.C:
			}
			wait = min(2*wait, restartBackoffMax)
		}
		inst, caps, err := b.start(ctx)
		if err == nil {
			b.cur, b.caps = inst, caps
			b.restarts++
			return inst, nil
		}
		last = err
		if ctx.Err() != nil {
			return nil, sharestore.CtxErr(ctx)
		}
	}
	return nil, sharestore.Wrap(sharestore.ErrUnavailable, last, fmt.Sprintf("plugin %s: restart failed %d times", b.path, b.opts.MaxRestarts))
}

// Restarts returns how many times the supervisor has restarted the plugin.
func (b *Backend) Restarts() int { return b.c.restartCount() }

func (b *client) restartCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.restarts
}

// PID returns the process id of the running plugin, or 0 if none is
// running. It is meant for diagnostics and tests.
func (b *Backend) PID() int { return b.c.pid() }

func (b *client) pid() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cur == nil {
		return 0
	}
	return b.cur.group.PID()
}

// rpcErr converts an RPC error. A transport failure (the plugin died or
// the connection broke) marks the instance dead, so that the next call
// restarts it, and is reported as ErrUnavailable.
func (b *client) rpcErr(ctx context.Context, inst *instance, err error, what string) error {
	if ctx.Err() != nil {
		return sharestore.Wrap(sharestore.ErrCanceled, ctx.Err(), what)
	}
	if st, ok := status.FromError(err); ok && len(st.Details()) == 0 && st.Code() == codes.Unavailable || inst.client.Exited() {
		inst.markDead()
		return sharestore.Errorf(sharestore.ErrUnavailable, "%s: plugin %s stopped responding (%s); it will be restarted", what, b.path, redact.String(err.Error()))
	}
	return fromStatus(ctx, err, what)
}

// ListPrefix implements sharestore.Backend.
func (b *client) ListPrefix(ctx context.Context, p sharestore.Prefix, fn func(sharestore.ShareInfo) error) error {
	inst, err := b.get(ctx)
	if err != nil {
		return err
	}
	ctx2, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := inst.rpc.ListPrefix(ctx2, &pb.ListPrefixRequest{Prefix: string(p)})
	if err != nil {
		return b.rpcErr(ctx, inst, err, "list prefix "+string(p))
	}
	for {
		page, err := stream.Recv()
		if err == io.EOF {
			// A callback may have canceled ctx after the last entry.
			return sharestore.CtxErr(ctx)
		}
		if err != nil {
			return b.rpcErr(ctx, inst, err, "list prefix "+string(p))
		}
		for _, e := range page.Shares {
			info, err := infoFromPB(e)
			if err != nil {
				return err
			}
			if err := fn(info); err != nil {
				return err
			}
			if err := sharestore.CtxErr(ctx); err != nil {
				return err
			}
		}
	}
}

func siFromPB(b []byte) (sharestore.StorageIndex, error) {
	si, err := parseSI(b)
	if err != nil {
		return si, sharestore.Errorf(sharestore.ErrInternal, "plugin sent a bad storage index: %v", err)
	}
	return si, nil
}

func infoFromPB(e *pb.ShareInfo) (sharestore.ShareInfo, error) {
	si, err := siFromPB(e.GetSi())
	if err != nil {
		return sharestore.ShareInfo{}, err
	}
	return infoOf(e, si), nil
}

// infoOf returns the ShareInfo e describes, with its already parsed
// storage index.
func infoOf(e *pb.ShareInfo, si sharestore.StorageIndex) sharestore.ShareInfo {
	return sharestore.ShareInfo{SI: si, Shnum: int(e.GetShnum()), Size: e.GetSize(), UsedSpace: e.GetUsedSpace(), ModTime: time.Unix(0, e.GetModTimeUnixNano()), Version: e.GetVersion()}
}

func shareFromPB(s *pb.Share) (sharestore.Share, error) {
	info, err := infoFromPB(s.GetInfo())
	if err != nil {
		return sharestore.Share{}, err
	}
	return sharestore.Share{ShareInfo: info, Type: sharestore.ShareType(s.Type), Version: int(s.Version), DataLength: s.DataLength}, nil
}

// SharesetsForPrefix implements sharestore.Backend.
func (b *client) SharesetsForPrefix(ctx context.Context, p sharestore.Prefix) ([]sharestore.StorageIndex, error) {
	inst, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	ctx2, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := inst.rpc.SharesetsForPrefix(ctx2, &pb.SharesetsForPrefixRequest{Prefix: string(p)})
	if err != nil {
		return nil, b.rpcErr(ctx, inst, err, "sharesets for prefix "+string(p))
	}
	var out []sharestore.StorageIndex
	for {
		page, err := stream.Recv()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, b.rpcErr(ctx, inst, err, "sharesets for prefix "+string(p))
		}
		for _, raw := range page.Sis {
			si, err := siFromPB(raw)
			if err != nil {
				return nil, err
			}
			out = append(out, si)
		}
	}
}

// set returns the host-side handle of si's shares.
func (b *client) set(si sharestore.StorageIndex) *shareset {
	return &shareset{b: b, si: si}
}

// AvailableSpace implements sharestore.Backend.
func (b *client) AvailableSpace(ctx context.Context) (int64, error) {
	inst, err := b.get(ctx)
	if err != nil {
		return 0, err
	}
	resp, err := inst.rpc.AvailableSpace(ctx, &pb.AvailableSpaceRequest{})
	if err != nil {
		return 0, b.rpcErr(ctx, inst, err, "available space")
	}
	return resp.Bytes, nil
}

// Capabilities implements sharestore.Backend: the plugin backend's own
// capabilities, as reported by Configure.
func (b *client) Capabilities() sharestore.Capabilities {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.caps
}

// Close stops the plugin process and waits for it to exit. It is safe to
// call twice.
func (b *client) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	if b.cur != nil && b.scratch != nil && !b.cur.isDead() {
		b.scratch.drop(b.cur)
	}
	if b.cur != nil {
		b.cur.kill()
		b.cur = nil
	}
	return nil
}
