package testenv

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// fatalRecorder is a testing.TB whose Fatalf records the message instead
// of ending the test, so that a helper's failure path can be checked.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper() {}

func (f *fatalRecorder) Fatalf(format string, args ...any) { f.msg = fmt.Sprintf(format, args...) }

func TestHostRun(t *testing.T) {
	lab := New(t)
	a, b := lab.Host("a"), lab.Host("b")
	lab.Veth(a, "eth0", b, "eth1")
	// Run executes in the host's namespace: each sees only its own end.
	for _, c := range []struct {
		h         *Host
		own, peer string
	}{{a, "eth0@", "eth1@"}, {b, "eth1@", "eth0@"}} {
		if out := c.h.Run(t, "ip", "-o", "link", "show"); !strings.Contains(out, c.own) || strings.Contains(out, c.peer) {
			t.Errorf("ip link show in %s, want %s and not %s:\n%s", c.h.Name, c.own, c.peer, out)
		}
	}
	rec := &fatalRecorder{TB: t}
	a.Run(rec, "ip", "link", "show", "nosuchdev")
	if !strings.Contains(rec.msg, a.Name) || !strings.Contains(rec.msg, "ip link show nosuchdev") || !strings.Contains(rec.msg, "exit status") {
		t.Errorf("failing command reported as %q", rec.msg)
	}
}

// TestLogBuffer writes from several goroutines while reading (run with
// -race to check the locking) and finds every line once.
func TestLogBuffer(t *testing.T) {
	var l LogBuffer
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 100 {
				fmt.Fprintf(&l, "w%d-%d\n", i, j)
				_ = l.String()
			}
		}()
	}
	wg.Wait()
	out := l.String()
	for i := range 4 {
		for j := range 100 {
			if n := strings.Count(out, fmt.Sprintf("w%d-%d\n", i, j)); n != 1 {
				t.Fatalf("line w%d-%d seen %d times", i, j, n)
			}
		}
	}
}
