package testenv

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// WPASupplicant is an MKA peer run by wpa_supplicant 2.10 with a
// pre-shared CAK (driver macsec_linux, no EAP): the reference
// implementation macsecd interoperates with. Debian's 2.10 has no
// macsec_csindex, so it only speaks GCM-AES-128.
type WPASupplicant struct {
	CAK, CKN      []byte
	Priority      int      // mka_priority (lower wins key server)
	IntegrityOnly bool     // macsec_integ_only=1: integrity without confidentiality
	Extra         []string // further network-block lines, e.g. "macsec_port=2"
}

// Config returns the wpa_supplicant.conf text.
func (w WPASupplicant) Config() string {
	var b strings.Builder
	fmt.Fprintf(&b, "eapol_version=3\nap_scan=0\nnetwork={\n\tkey_mgmt=NONE\n\teapol_flags=0\n\tmacsec_policy=1\n")
	fmt.Fprintf(&b, "\tmka_cak=%s\n\tmka_ckn=%s\n\tmka_priority=%d\n", hex.EncodeToString(w.CAK), hex.EncodeToString(w.CKN), w.Priority)
	if w.IntegrityOnly {
		b.WriteString("\tmacsec_integ_only=1\n")
	}
	for _, l := range w.Extra {
		fmt.Fprintf(&b, "\t%s\n", l)
	}
	b.WriteString("}\n")
	return b.String()
}

// Start runs wpa_supplicant on ifname in h until the test ends. Its debug
// log goes to $MACSECD_LAB_OUT (in the VM lab) or a temporary directory,
// and its tail is logged if the test fails. The configuration, which holds
// the CAK, is a 0600 file in a temporary directory.
func (w WPASupplicant) Start(t testing.TB, h *Host, ifname string) *exec.Cmd {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "wpa_supplicant.conf")
	if err := os.WriteFile(conf, []byte(w.Config()), 0o600); err != nil {
		t.Fatal(err)
	}
	logDir, _ := LabOut(t)
	logPath := filepath.Join(logDir, fmt.Sprintf("wpa_supplicant-%s-%s.log", h.Name, ifname))
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := h.Command("wpa_supplicant", "-D", "macsec_linux", "-i", ifname, "-c", conf, "-d", "-t")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("testenv: wpa_supplicant in %s: %v", h.Name, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
			if len(lines) > 40 {
				lines = lines[len(lines)-40:]
			}
			t.Logf("wpa_supplicant in %s (last lines of %s):\n%s", h.Name, logPath, bytes.Join(lines, []byte("\n")))
		}
	})
	return cmd
}
