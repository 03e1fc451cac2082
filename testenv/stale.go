package testenv

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

const netnsDir = "/var/run/netns"

var sweepOnce sync.Once

// sweepStale removes, once per process, the namespaces of earlier test
// processes that no longer run (killed before their cleanup ran), so that a
// run right after a killed one starts clean.
func sweepStale() { sweepOnce.Do(removeStale) }

func removeStale() {
	entries, _ := os.ReadDir(netnsDir)
	for _, e := range entries {
		pid, ok := ownerPID(e.Name())
		if !ok || pid == os.Getpid() || alive(pid) {
			continue
		}
		_ = removeNS(e.Name())
	}
}

// ownerPID parses the pid out of "mtv-<pid>-<lab>-<host>".
func ownerPID(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, nsPrefix)
	if !ok {
		return 0, false
	}
	pidStr, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(pidStr)
	return pid, err == nil && pid > 0
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// removeNS kills every process whose network namespace is the named one
// (they would keep it and its links alive), then unbinds the name.
func removeNS(name string) error {
	path := filepath.Join(netnsDir, name)
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	killIn(st.Dev, st.Ino)
	return netns.DeleteNamed(name)
}

// killIn sends SIGKILL to the processes in the namespace identified by
// (dev, ino) and waits briefly for them to go.
func killIn(dev, ino uint64) {
	for try := 0; try < 50; try++ {
		pids := pidsIn(dev, ino)
		if len(pids) == 0 {
			return
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func pidsIn(dev, ino uint64) []int {
	procs, _ := os.ReadDir("/proc")
	self := os.Getpid()
	var pids []int
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == self {
			continue
		}
		var st unix.Stat_t
		if unix.Stat("/proc/"+p.Name()+"/ns/net", &st) != nil {
			continue
		}
		// A zombie has left its namespaces already; only live ones match.
		if st.Dev == dev && st.Ino == ino {
			pids = append(pids, pid)
		}
	}
	return pids
}
