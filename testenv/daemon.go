package testenv

import (
	"io"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// StartDaemon starts cmd (from Host.Command) with its standard output and
// error going to out, and stops it when the test ends: SIGTERM, then
// SIGKILL if it has not exited within grace. The returned channel receives
// cmd.Wait's result once; a test that takes it must put it back for the
// cleanup. Cleanups registered before StartDaemon run after the process
// is gone, so they see its whole output.
func StartDaemon(t testing.TB, cmd *exec.Cmd, out io.Writer, grace time.Duration) chan error {
	t.Helper()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(grace):
			cmd.Process.Kill()
		}
	})
	return exited
}
