//go:build vmlab

package daemon

import (
	"os"
	"testing"
)

// TestVMLabKernelBackend runs the daemon acceptance test inside a real
// Debian kernel with MACsec: two macsecd on the kernel backend secure a
// veth with MKA, with every check of TestDaemonsSecureLink (status JSON,
// reload without loss, rejected reload, rekey, SIGTERM, no key in output).
func TestVMLabKernelBackend(t *testing.T) {
	if os.Getenv("MACSECD_LAB_KERNEL") == "" {
		t.Fatal("vmlab test outside the VM lab: MACSECD_LAB_KERNEL is not set")
	}
	t.Setenv("MACSECD_TEST_BACKEND", "kernel")
	TestDaemonsSecureLink(t)
}
