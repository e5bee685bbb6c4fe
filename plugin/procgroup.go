package plugin

import (
	"context"
	"io"
	"os/exec"
	"strconv"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin/runner"
)

// groupRunner is the go-plugin runner of a plugin process: it starts the
// binary as the leader of a process group of its own (on unix) and kills
// the whole group, never the leader alone, so that nothing the plugin
// started (a wrapper script's child, a helper) outlives it or keeps the
// handshake pipes open. The group is killed
//
//   - by Kill: go-plugin's own kill, and the host's start-up timeout;
//   - in Wait, as soon as the leader has exited and before it is reaped,
//     so that a plugin that crashes leaves no process behind.
//
// Where the leader can be observed without being reaped (Linux), its pid
// cannot be reused while the group is killed.
type groupRunner struct {
	path string
	env  []string // added to the plugin's environment (LogLevelEnv)

	// Set once by prepare, before go-plugin calls any other method.
	cmd            *exec.Cmd
	stdout, stderr io.ReadCloser

	mu     sync.Mutex
	pid    int  // 0 until started
	reaped bool // the leader has been reaped: its pid is not ours any more
}

var _ runner.Runner = (*groupRunner)(nil)

// prepare builds the command from spec, the command go-plugin filled in
// (its environment: the host's, the magic cookie, the client certificate,
// ...), less the variables that IsSecretEnv names. It is the client's
// RunnerFunc.
func (r *groupRunner) prepare(_ hclog.Logger, spec *exec.Cmd, _ string) (runner.Runner, error) {
	cmd := exec.Command(r.path)
	cmd.Env, cmd.Stdin = append(pluginEnv(spec.Env), r.env...), spec.Stdin
	ownGroup(cmd)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		stdout.Close()
		return nil, err
	}
	r.cmd, r.stdout, r.stderr = cmd, stdout, stderr
	return r, nil
}

// Start implements runner.Runner.
func (r *groupRunner) Start(context.Context) error {
	if err := r.cmd.Start(); err != nil {
		return err
	}
	r.mu.Lock()
	r.pid = r.cmd.Process.Pid
	r.mu.Unlock()
	return nil
}

// Wait implements runner.Runner: it waits for the leader to exit, kills
// what is left of its group, and reaps it.
func (r *groupRunner) Wait(context.Context) error {
	r.mu.Lock()
	pid := r.pid
	r.mu.Unlock()
	waitExited(pid)
	r.mu.Lock()
	r.killLocked()
	r.reaped = true
	r.mu.Unlock()
	return r.cmd.Wait()
}

// Kill implements runner.Runner: it SIGKILLs the whole process group.
func (r *groupRunner) Kill(context.Context) error {
	r.killGroup()
	return nil
}

// killGroup SIGKILLs the process group, if the plugin was started and
// its leader has not been reaped. It is safe to call at any time, from
// any goroutine, any number of times.
func (r *groupRunner) killGroup() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.killLocked()
}

func (r *groupRunner) killLocked() {
	if r.pid != 0 && !r.reaped {
		killGroup(r.cmd.Process, r.pid)
	}
}

// PID returns the leader's process id, or 0 before it started.
func (r *groupRunner) PID() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pid
}

// ID implements runner.Runner: the leader's pid, "" before it started.
func (r *groupRunner) ID() string {
	if pid := r.PID(); pid != 0 {
		return strconv.Itoa(pid)
	}
	return ""
}

// Stdout implements runner.Runner.
func (r *groupRunner) Stdout() io.ReadCloser { return r.stdout }

// Stderr implements runner.Runner.
func (r *groupRunner) Stderr() io.ReadCloser { return r.stderr }

// Name implements runner.Runner.
func (r *groupRunner) Name() string { return r.path }

// Diagnose implements runner.Runner. It adds nothing: the host says in
// one line what went wrong (handshakeFailure).
func (r *groupRunner) Diagnose(context.Context) string { return "" }

// PluginToHost implements runner.Runner: host and plugin share addresses.
func (r *groupRunner) PluginToHost(network, addr string) (string, string, error) {
	return network, addr, nil
}

// HostToPlugin implements runner.Runner: host and plugin share addresses.
func (r *groupRunner) HostToPlugin(network, addr string) (string, string, error) {
	return network, addr, nil
}
