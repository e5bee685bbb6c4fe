package plugin

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/sharestore/sharestore/internal/backendurl/redact"
	"github.com/sharestore/sharestore/internal/logging"
)

// watchdogInterval is how often a plugin checks that its host is alive.
const watchdogInterval = 200 * time.Millisecond

// Serve is the whole main of a plugin binary: it serves the backend that
// factory opens (on the host's Configure call) over gRPC with go-plugin's
// VersionedPlugins and its grpc.health.v1 service, and returns only when
// the host ends the plugin. stdout carries only the go-plugin handshake.
// A watchdog ends the process as soon as its parent (the host) is gone,
// so a plugin never outlives its host.
//
// The plugin logs through one *slog.Logger: JSON lines on its stderr, at
// the level the host sets in LogLevelEnv, every known secret removed.
// It is slog.Default() in the plugin process, go-plugin's records go to
// it (at debug level), and the factory gets it in Config.Logger. The
// host re-emits each line through its own logger (HostOptions.Logger).
//
// Run by hand (not by a host), Serve prints a message and exits with
// status 1.
func Serve(factory Factory, opts ...ServeOption) {
	if os.Getenv(Handshake.MagicCookieKey) != Handshake.MagicCookieValue {
		fmt.Fprintf(os.Stderr, "%s is a sharestore backend plugin: run it through a host, e.g. sharestore ls --plugin %[1]s --backend URL\n", os.Args[0])
		os.Exit(1)
	}
	var cfg serveConfig
	for _, o := range opts {
		o(&cfg)
	}
	logger := pluginLogger()
	slog.SetDefault(logger)
	srv := &server{factory: factory, logger: logger}
	var hs *harnessServer
	if cfg.harness != nil {
		hs = &harnessServer{srv: srv, h: cfg.harness}
		defer hs.drop()
	}
	var atExit func()
	if hs != nil {
		atExit = func() { hs.drop() }
	}
	startWatchdog(logger, atExit)
	defer srv.close()
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: Handshake,
		VersionedPlugins: map[int]goplugin.PluginSet{
			ProtocolVersion: {PluginName: &grpcPlugin{factory: factory, srv: srv, harness: hs}},
		},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			opts = append(opts, grpc.MaxRecvMsgSize(maxMsg), grpc.MaxSendMsgSize(maxMsg))
			return goplugin.DefaultGRPCServer(opts)
		},
		Logger: newHCLogger(logger, ""),
	})
}

// pluginLogger is the logger of a plugin process: logging.NewWire on the
// process's own stderr (captured before go-plugin replaces os.Stderr
// with its stdio stream), at the level LogLevelEnv names, with the
// secrets Configure brought removed.
func pluginLogger() *slog.Logger {
	level, err := logging.ParseLevel(os.Getenv(LogLevelEnv))
	if err != nil {
		level = slog.LevelInfo
	}
	h := logging.NewWire(os.Stderr, level).Handler()
	return slog.New(logging.Redact(h, func(s string) string { return redact.String(knownSecrets.scrub(s)) }))
}

// startWatchdog makes the process die with its parent: the kernel's
// parent-death signal where there is one, and a poll of the parent pid
// everywhere (it catches the race where the parent died before prctl).
// With atExit (a plugin serving a harness: it drops the scratch
// backend, so that its temporary data goes too), the parent's death is
// SIGTERM instead of SIGKILL, and both that and the poll call atExit
// before the process exits.
//
// The host's death also breaks the pipe that is the plugin's stderr, and
// a Go program that writes to a broken pipe on fd 2 dies of SIGPIPE
// unless it handles that signal. So SIGPIPE is ignored (a write then
// fails with EPIPE, which the logger drops), and atExit runs before the
// farewell is logged.
func startWatchdog(logger *slog.Logger, atExit func()) {
	ppid := os.Getppid()
	signal.Ignore(syscall.SIGPIPE)
	setParentDeathSignal(atExit != nil)
	if atExit != nil {
		term := make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM)
		go func() {
			<-term
			atExit()
			logger.Warn("terminated; dropped the scratch backend; exiting")
			os.Exit(3)
		}()
	} else {
		atExit = func() {}
	}
	if os.Getppid() != ppid || ppid == 1 {
		os.Exit(3)
	}
	go func() {
		for {
			time.Sleep(watchdogInterval)
			if os.Getppid() != ppid {
				atExit()
				logger.Warn("the host is gone; exiting", "host_pid", ppid)
				os.Exit(3)
			}
		}
	}()
}
