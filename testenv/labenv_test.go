package testenv

import (
	"fmt"
	"strings"
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
	a := lab.Host("a")
	// Run executes in a's namespace: only its own loopback is there.
	if out := a.Run(t, "ip", "-o", "link", "show"); !strings.Contains(out, "lo:") || strings.Count(out, "\n") != 1 {
		t.Errorf("ip link show in a new namespace:\n%s", out)
	}
	rec := &fatalRecorder{TB: t}
	a.Run(rec, "ip", "link", "show", "nosuchdev")
	if !strings.Contains(rec.msg, a.Name) || !strings.Contains(rec.msg, "ip link show nosuchdev") || !strings.Contains(rec.msg, "exit status") {
		t.Errorf("failing command reported as %q", rec.msg)
	}
}
