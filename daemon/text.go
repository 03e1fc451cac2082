package daemon

import (
	"fmt"
	"io"
	"strings"

	"github.com/macsecd/macsecd/userspace"
)

// onOff spells a flag as iproute2 does.
func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// WriteStatusText prints ports for people, laid out like `ip macsec show`
// with the MKA state and counters added.
func WriteStatusText(w io.Writer, rep *StatusReport) {
	for i := range rep.Ports {
		if i > 0 {
			fmt.Fprintln(w)
		}
		writePortText(w, &rep.Ports[i], true, true)
	}
}

// WritePeersText prints only the MKA peers of each port.
func WritePeersText(w io.Writer, rep *StatusReport) {
	for i := range rep.Ports {
		ps := &rep.Ports[i]
		fmt.Fprintf(w, "%s: %s\n", ps.Name, ps.State)
		if ps.MKA == nil {
			fmt.Fprintf(w, "    no MKA (key_agreement %s)\n", ps.KeyAgreement)
			continue
		}
		writeMKAText(w, ps.MKA)
	}
}

// WriteStatsText prints only the counters of each port.
func WriteStatsText(w io.Writer, rep *StatusReport) {
	for i := range rep.Ports {
		ps := &rep.Ports[i]
		fmt.Fprintf(w, "%s: %s on %s\n", ps.Name, ps.Interface, ps.Parent)
		writeCountersText(w, &ps.Counters)
		writeDataplaneText(w, ps.Dataplane)
		for _, rx := range ps.RxSCs {
			fmt.Fprintf(w, "    RXSC %s: InPktsOK %d InPktsInvalid %d InPktsNotValid %d InPktsLate %d\n",
				rx.SCI, rx.InPktsOK, rx.Invalid, rx.NotValid, rx.Late)
		}
	}
}

func writePortText(w io.Writer, ps *PortStatus, mka, counters bool) {
	state := strings.ToUpper(ps.State)
	fmt.Fprintf(w, "%s: %s on %s: %s\n", ps.Name, ps.Interface, ps.Parent, state)
	if ps.Error != "" {
		fmt.Fprintf(w, "    error: %s\n", ps.Error)
	}
	if ps.Backend != "" {
		fmt.Fprintf(w, "    backend %s offload %s (%s)\n", ps.Backend, ps.Offload, ps.BackendReason)
	}
	fmt.Fprintf(w, "    protect on validate %s sc %s encrypt %s send_sci %s replay %s window %d policy %s\n",
		ps.Validate, onOff(len(ps.RxSCs) > 0), onOff(ps.Confidentiality != "integrity-only"), onOff(ps.IncludeSCI),
		onOff(ps.ReplayProtect), ps.ReplayWindow, ps.Policy)
	fmt.Fprintf(w, "    cipher suite: %s, using ICV length 16, confidentiality %s, key agreement %s\n",
		ps.CipherSuite, ps.Confidentiality, ps.KeyAgreement)
	if mka && ps.MKA != nil {
		writeMKAText(w, ps.MKA)
	}
	if ps.SCI != "" {
		enc := "-"
		if ps.EncodingSA != nil {
			enc = fmt.Sprint(*ps.EncodingSA)
		}
		fmt.Fprintf(w, "    TXSC: %s on SA %s, controlled port %s\n", ps.SCI, enc, onOff(ps.ControlledPort))
		for _, sa := range ps.TxSAs {
			fmt.Fprintf(w, "        %d: PN %d, state %s, key %s%s\n", sa.AN, sa.NextPN, onOff(sa.Active), sa.KeyID, saRole(ps, &sa))
		}
		for _, rx := range ps.RxSCs {
			fmt.Fprintf(w, "    RXSC: %s, state %s\n", rx.SCI, onOff(rx.Active))
			for _, sa := range rx.SAs {
				fmt.Fprintf(w, "        %d: PN %d, state %s, key %s\n", sa.AN, sa.NextPN, onOff(sa.Active), sa.KeyID)
			}
		}
	}
	if counters {
		writeCountersText(w, &ps.Counters)
		writeDataplaneText(w, ps.Dataplane)
	}
}

// writeDataplaneText prints the userspace data plane's health and the
// counters 802.1AE does not define.
func writeDataplaneText(w io.Writer, d *userspace.State) {
	if d == nil {
		return
	}
	present := "present"
	if !d.TAPPresent {
		present = "MISSING"
	}
	up := "up"
	if !d.ParentUp {
		up = "DOWN"
	}
	fmt.Fprintf(w, "    data plane: TAP %s %s, parent %s %s; TAP recreated %d (restored %d addresses and routes), parent down %d times\n",
		d.TAP, present, d.Parent, up, d.TAPRecreated, d.TAPRestored, d.ParentDownEvents)
	fmt.Fprintf(w, "        tx: frames %d segments %d; dropped %d bad offload %d send errors %d wire drops %d\n",
		d.TxFrames, d.TxSegments, d.TxDropped, d.TxBadOffload, d.TxSendErrors, d.TxWireDropped)
	fmt.Fprintf(w, "        rx: frames %d TAP writes %d; dropped %d truncated %d TAP errors %d receive errors %d; EAPOL %d (dropped %d)\n",
		d.RxFrames, d.RxTAPWrites, d.RxDropped, d.RxTruncated, d.RxTAPErrors, d.RxRecvErrors, d.RxEAPOL, d.RxEAPOLDrops)
	if d.LastError != "" {
		fmt.Fprintf(w, "        last error: %s\n", d.LastError)
	}
}

func saRole(ps *PortStatus, sa *SAStatus) string {
	switch {
	case ps.CurrentSA != nil && ps.CurrentSA.AN == sa.AN && ps.CurrentSA.KeyID == sa.KeyID:
		return " (current)"
	case ps.PreviousSA != nil && ps.PreviousSA.AN == sa.AN && ps.PreviousSA.KeyID == sa.KeyID:
		return " (previous)"
	}
	return ""
}

func writeMKAText(w io.Writer, m *MKAStatus) {
	fmt.Fprintf(w, "    mka: ckn %s priority %d mi %s mn %d\n", m.CKN, m.Priority, m.MI, m.MN)
	if m.HelloTime > 0 {
		fmt.Fprintf(w, "        timers: hello %gs, bounded hello %gs, life %gs\n", m.HelloTime, m.BoundedHelloTime, m.LifeTime)
	}
	if ks := m.KeyServer; ks != nil {
		self := ""
		if ks.Self {
			self = " (this port)"
		}
		fmt.Fprintf(w, "        key server: %s priority %d%s\n", ks.SCI, ks.Priority, self)
	} else {
		fmt.Fprintf(w, "        key server: none elected\n")
	}
	for _, p := range m.LivePeers {
		fmt.Fprintf(w, "        live peer: %s priority %d mi %s mn %d heard %.1fs ago\n", p.SCI, p.Priority, p.MI, p.MN, p.LastHeard)
	}
	for _, p := range m.PotentialPeers {
		fmt.Fprintf(w, "        potential peer: %s priority %d mi %s mn %d heard %.1fs ago\n", p.SCI, p.Priority, p.MI, p.MN, p.LastHeard)
	}
	if m.LastRekey != "" {
		fmt.Fprintf(w, "        last SAK change: %s\n", m.LastRekey)
	}
}

func writeCountersText(w io.Writer, c *Counters) {
	fmt.Fprintf(w, "    TX: OutPktsProtected %d OutPktsEncrypted %d OutOctetsProtected %d OutOctetsEncrypted %d OutPktsUntagged %d OutPktsTooLong %d\n",
		c.OutPktsProtected, c.OutPktsEncrypted, c.OutOctetsProtected, c.OutOctetsEncrypted, c.OutPktsUntagged, c.OutPktsTooLong)
	fmt.Fprintf(w, "    RX: InPktsOK %d InPktsInvalid %d InPktsNotValid %d InPktsLate %d InPktsDelayed %d InPktsUnchecked %d InOctetsValidated %d InOctetsDecrypted %d\n",
		c.InPktsOK, c.InPktsInvalid, c.InPktsNotValid, c.InPktsLate, c.InPktsDelayed, c.InPktsUnchecked, c.InOctetsValidated, c.InOctetsDecrypted)
	fmt.Fprintf(w, "    RX drops: InPktsUntagged %d InPktsNoTag %d InPktsBadTag %d InPktsUnknownSCI %d InPktsNoSCI %d InPktsOverrun %d InPktsNotUsingSA %d InPktsUnusedSA %d\n",
		c.InPktsUntagged, c.InPktsNoTag, c.InPktsBadTag, c.InPktsUnknownSCI, c.InPktsNoSCI, c.InPktsOverrun, c.InPktsNotUsingSA, c.InPktsUnusedSA)
}
