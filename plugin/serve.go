package plugin

import (
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// watchdogInterval is how often a plugin checks that its host is alive.
const watchdogInterval = 200 * time.Millisecond

// Serve is the whole main of a plugin binary: it serves the backend that
// factory opens (on the host's Configure call) over gRPC with go-plugin's
// VersionedPlugins and its grpc.health.v1 service, and returns only when
// the host ends the plugin. Logs go to stderr; stdout carries only the
// go-plugin handshake. A watchdog ends the process as soon as its parent
// (the host) is gone, so a plugin never outlives its host.
//
// Run by hand (not by a host), Serve prints a message and exits with
// status 1.
func Serve(factory Factory) {
	if os.Getenv(Handshake.MagicCookieKey) != Handshake.MagicCookieValue {
		fmt.Fprintf(os.Stderr, "%s is a sharestore backend plugin: run it through a host, e.g. sharestore ls --plugin %[1]s --backend URL\n", os.Args[0])
		os.Exit(1)
	}
	startWatchdog()
	srv := &server{factory: factory}
	defer srv.close()
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: Handshake,
		VersionedPlugins: map[int]goplugin.PluginSet{
			ProtocolVersion: {PluginName: &grpcPlugin{factory: factory, srv: srv}},
		},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			opts = append(opts, grpc.MaxRecvMsgSize(maxMsg), grpc.MaxSendMsgSize(maxMsg))
			return goplugin.DefaultGRPCServer(opts)
		},
		Logger: hclog.New(&hclog.LoggerOptions{Name: "plugin", Output: os.Stderr, Level: hclog.Warn}),
	})
}

// startWatchdog makes the process die with its parent: the kernel's
// parent-death signal where there is one, and a poll of the parent pid
// everywhere (it catches the race where the parent died before prctl).
func startWatchdog() {
	ppid := os.Getppid()
	setParentDeathSignal()
	if os.Getppid() != ppid || ppid == 1 {
		os.Exit(3)
	}
	go func() {
		for {
			time.Sleep(watchdogInterval)
			if os.Getppid() != ppid {
				fmt.Fprintf(os.Stderr, "sharestore plugin: host (pid %d) is gone; exiting\n", ppid)
				os.Exit(3)
			}
		}
	}()
}
