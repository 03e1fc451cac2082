package testenv

import (
	"os"
	"strings"
	"testing"
)

// LabKernel returns the VM lab kernel the test runs on
// ($MACSECD_LAB_KERNEL: debian-6.12, debian-6.1 or custom) and fails the
// test outside the lab: a vmlab test that runs elsewhere must not pass by
// not testing anything.
func LabKernel(t testing.TB) string {
	t.Helper()
	k := os.Getenv("MACSECD_LAB_KERNEL")
	if k == "" {
		t.Fatal("MACSECD_LAB_KERNEL unset: vmlab tests run inside the VM lab (make test-vm)")
	}
	return k
}

// LabOut returns the directory for files a test hands back to the host:
// $MACSECD_LAB_OUT in the VM lab (inLab true; the lab copies it out), or
// else a temporary directory of the test.
func LabOut(t testing.TB) (dir string, inLab bool) {
	t.Helper()
	if d := os.Getenv("MACSECD_LAB_OUT"); d != "" {
		return d, true
	}
	return t.TempDir(), false
}

// Run runs args[0] with args[1:] in h's namespace and returns its combined
// output; the test fails, naming the host, the command and its output, if
// the command does not exit 0.
func (h *Host) Run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := h.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %s: %v\n%s", h.Name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
