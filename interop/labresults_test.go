//go:build !vmlab

package interop

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/macsecd/macsecd/testenv"
)

// mkpduPcaps returns the MKPDU captures to dissect: those the VM run
// brought back when testenv/lab/vmtest.sh runs this test after the lab
// (MACSECD_LAB_RESULTS is its results directory), else the captures of an
// earlier lab run kept in testdata, so that a plain `go test` checks real
// wpa_supplicant and macsecd exchanges too.
func mkpduPcaps(t *testing.T) (files []string, fromLab bool) {
	t.Helper()
	if res := os.Getenv("MACSECD_LAB_RESULTS"); res != "" {
		files, _ = filepath.Glob(filepath.Join(res, "*", "out", "interop", "mkpdu-*.pcap"))
		if len(files) == 0 {
			t.Fatalf("no %s/*/out/interop/mkpdu-*.pcap: the VM run brought back no MKPDU capture", res)
		}
		return files, true
	}
	files, _ = filepath.Glob(filepath.Join("testdata", "mkpdu-*.pcap"))
	if len(files) == 0 {
		t.Fatal("no testdata/mkpdu-*.pcap")
	}
	return files, false
}

// mkpduFields are the tshark fields checked per frame, in -e order.
var mkpduFields = []string{"frame.number", "eth.src", "eapol.version", "eapol.type", "mka.sci", "mka.cak_name",
	"mka.key_server", "mka.aes_key_wrap_sak", "_ws.malformed", "_ws.expert"}

// TestLabResultsMKPDUs has tshark, an MKA dissector written independently
// of both macsecd and wpa_supplicant, decode every MKPDU the interop
// scenarios exchanged: every frame must dissect as EAPOL-MKA with no
// malformed packet and no expert information (error, warning or note),
// each capture must hold both ends' MKPDUs under one CKN, and a
// distributed SAK.
func TestLabResultsMKPDUs(t *testing.T) {
	files, fromLab := mkpduPcaps(t)
	if _, err := exec.LookPath("tshark"); err != nil {
		if fromLab {
			t.Fatalf("tshark is needed to check the VM lab's captures (apt-get install tshark): %v", err)
		}
		t.Skipf("tshark not installed (Debian package tshark; make test-vm needs it): %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".pcap"), func(t *testing.T) {
			frames, err := testenv.ReadPcap(f)
			if err != nil {
				t.Fatal(err)
			}
			if len(frames) == 0 {
				t.Fatal("no frame captured")
			}
			out, err := exec.Command("tshark", "-n", "-r", f, "-q", "-z", "expert").CombinedOutput()
			if err != nil {
				t.Fatalf("tshark -z expert: %v\n%s", err, out)
			}
			for _, sev := range []string{"Errors (", "Warns (", "Notes (", "Malformed"} {
				if strings.Contains(string(out), sev) {
					t.Errorf("tshark expert information: %s\n%s", sev, out)
				}
			}
			args := []string{"-n", "-r", f, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,", "-E", "separator=/t"}
			for _, fl := range mkpduFields {
				args = append(args, "-e", fl)
			}
			out, err = exec.Command("tshark", args...).Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
			if len(lines) != len(frames) {
				t.Fatalf("tshark shows %d frames, the file has %d", len(lines), len(frames))
			}
			scis, ckns := map[string]int{}, map[string]bool{}
			saks := 0
			for i, line := range lines {
				v := strings.Split(line, "\t")
				if len(v) != len(mkpduFields) {
					t.Fatalf("frame %d: %d fields: %q", i+1, len(v), line)
				}
				field := func(name string) string { return v[slices.Index(mkpduFields, name)] }
				if field("eapol.type") != "5" || field("mka.sci") == "" || field("_ws.malformed") != "" || field("_ws.expert") != "" {
					t.Errorf("frame %d is not a clean EAPOL-MKA frame: %q", i+1, line)
					continue
				}
				// The SCI of a port-based MKA actor is its MAC and a port.
				if src := strings.ReplaceAll(field("eth.src"), ":", ""); !strings.HasPrefix(field("mka.sci"), src) {
					t.Errorf("frame %d: SCI %s is not from source %s", i+1, field("mka.sci"), field("eth.src"))
				}
				if field("eapol.version") != "3" {
					t.Errorf("frame %d: EAPOL version %s, want 3 (both ends are configured for 3)", i+1, field("eapol.version"))
				}
				scis[field("mka.sci")]++
				ckns[field("mka.cak_name")] = true
				if field("mka.aes_key_wrap_sak") != "" {
					saks++
				}
			}
			if len(scis) != 2 {
				t.Errorf("MKPDUs from %d SCIs (%v), want both ends", len(scis), scis)
			}
			if len(ckns) != 1 {
				t.Errorf("CKNs %v, want the one CA", ckns)
			}
			if saks == 0 {
				t.Errorf("no Distributed SAK in %d MKPDUs", len(frames))
			}
			t.Logf("%d MKPDUs from %v, %d with a distributed SAK, dissected cleanly", len(frames), scis, saks)
		})
	}
}
