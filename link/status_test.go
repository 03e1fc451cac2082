//go:build !vmlab

package link

import (
	"testing"

	"github.com/macsecd/macsecd/macsec"
	"github.com/mdlayher/netlink"
)

// TestDumpInterruptedFlag: a dump message flagged NLM_F_DUMP_INTR makes
// parseDump ask for a retry.
func TestDumpInterruptedFlag(t *testing.T) {
	msgs := loadMessages(t, "debian-6.12", "traffic-dump.bin")
	if _, intr, err := parseDump(msgs); err != nil || intr {
		t.Fatalf("recorded dump: interrupted=%v err=%v", intr, err)
	}
	msgs[0].Header.Flags |= netlink.DumpInterrupted
	if _, intr, err := parseDump(msgs); err != nil || !intr {
		t.Fatalf("flagged dump: interrupted=%v err=%v", intr, err)
	}
}

// TestStatusFromDump: the backend-neutral status carries what the kernel
// reported.
func TestStatusFromDump(t *testing.T) {
	states, _, err := parseDump(loadMessages(t, "debian-6.12", "gcm-aes-xpn-128-dump.bin"))
	if err != nil {
		t.Fatal(err)
	}
	st := states[0].Status("ms0", "eth0", true)
	want := macsec.Policy{CipherSuite: macsec.GCMAESXPN128, Confidentiality: macsec.ConfidentialityOffset0,
		ProtectFrames: true, Validate: macsec.ValidateStrict, ReplayProtect: true, ReplayWindow: 32, IncludeSCI: true}
	if st.Policy != want || st.Backend != "kernel" || st.Offload != "off" || st.SCI != fxSCI || st.EncodingSA != 1 ||
		!st.ControlledPort || st.Interface != "ms0" || st.Parent != "eth0" {
		t.Errorf("status %+v", st)
	}
	tx := fxTxSAs(macsec.GCMAESXPN128)
	if len(st.TxSC.SAs) != 2 || st.TxSC.SAs[0].NextPN != tx[0].PN || st.TxSC.SAs[0].KeyID != tx[0].KeyID || !st.TxSC.SAs[0].Active {
		t.Errorf("TX SAs %+v", st.TxSC.SAs)
	}
	if len(st.RxSCs) != 1 || st.RxSCs[0].SCI != fxPeerSCI || len(st.RxSCs[0].SAs) != 2 || st.RxSCs[0].SAs[1].AN != 3 {
		t.Errorf("RX SCs %+v", st.RxSCs)
	}
}
