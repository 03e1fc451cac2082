//go:build vmlab

package daemon

import (
	"testing"

	"github.com/macsecd/macsecd/testenv"
)

// TestVMLabKernelBackend runs the daemon acceptance tests inside a real
// Debian kernel with MACsec, on the kernel backend: two macsecd secure a
// veth with MKA, with every check of TestDaemonsSecureLink (status JSON,
// reload without loss, rejected reload, rekey, SIGTERM, no key in output),
// with static keys as in TestDaemonsStaticKeys, and with the parent
// deleted and created again (the kernel deletes the MACsec interface with
// it) as in TestDaemonsParentReplaced, and with the MACsec interface
// deleted under the port as in TestDaemonsSecuredInterfaceDeleted.
func TestVMLabKernelBackend(t *testing.T) {
	testenv.LabKernel(t)
	t.Setenv("MACSECD_TEST_BACKEND", "kernel")
	t.Run("mka", TestDaemonsSecureLink)
	t.Run("static", TestDaemonsStaticKeys)
	t.Run("parent-replaced", TestDaemonsParentReplaced)
	t.Run("secured-interface-deleted", TestDaemonsSecuredInterfaceDeleted)
}

// TestVMLabAutoPicksKernel: on veth (no offload) in a kernel with MACsec,
// backend auto must pick software kernel MACsec and say why.
func TestVMLabAutoPicksKernel(t *testing.T) {
	testenv.LabKernel(t)
	t.Setenv("MACSECD_TEST_BACKEND", "auto")
	TestDaemonsStaticKeys(t) // asserts the backend via wantBackend: kernel
}
