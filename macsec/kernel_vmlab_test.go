//go:build vmlab

package macsec_test

// The frame engine against the Linux kernel's MACsec, inside the VM lab
// (make test-vm). The kernel is an independent implementation of 802.1AE:
// a frame the engine protects must be one the kernel accepts, and a frame
// the kernel protects must validate in the engine.

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"

	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/testenv"
)

// TestKernelInterop: for each cipher suite (and integrity-only), the
// engine in one namespace protects an ICMP echo request and sends it to a
// kernel MACsec interface in the other; the kernel can only answer if it
// validated the request, and its protected echo reply must validate in
// the engine back to the reply the kernel's IP stack built.
func TestKernelInterop(t *testing.T) {
	testenv.LabKernel(t)
	testenv.RequireRoot(t)
	for _, c := range []struct {
		ip      string // iproute2's cipher name
		suite   macsec.CipherSuite
		encrypt bool
	}{
		{"gcm-aes-128", macsec.GCMAES128, true},
		{"gcm-aes-256", macsec.GCMAES256, true},
		{"gcm-aes-xpn-128", macsec.GCMAESXPN128, true},
		{"gcm-aes-xpn-256", macsec.GCMAESXPN256, true},
		{"gcm-aes-128", macsec.GCMAES128, false},
	} {
		t.Run(fmt.Sprintf("%s/encrypt=%v", c.ip, c.encrypt), func(t *testing.T) {
			kernelInterop(t, c.ip, c.suite, c.encrypt)
		})
	}
}

func kernelInterop(t *testing.T, cipherName string, cs macsec.CipherSuite, encrypt bool) {
	lab := testenv.New(t)
	k, e := lab.Host("kernel"), lab.Host("engine")
	macK := net.HardwareAddr{0x02, 0, 0, 0, 0x4b, 0x01}
	macE := net.HardwareAddr{0x02, 0, 0, 0, 0x45, 0x01}
	lab.VethMAC(k, "eth0", macK, e, "eth0", macE)
	keyK := bytes.Repeat([]byte{0xa1}, cs.KeyLen()) // kernel → engine
	keyE := bytes.Repeat([]byte{0xb2}, cs.KeyLen()) // engine → kernel
	salt := macsec.Salt{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	const ssciK, ssciE = 1, 2
	// Start both directions near the 2^32 boundary with XPN, so that the
	// recovered high half is not zero.
	pn := uint64(1)
	if cs.XPN() {
		pn = 1<<32 + 7
	}

	// Kernel side: iproute2 with static keys, SCI = MAC ‖ port 1.
	pnArgs := func(ssci int) []string {
		if cs.XPN() {
			return []string{"xpn", fmt.Sprint(pn), "ssci", fmt.Sprint(ssci), "salt", hex.EncodeToString(salt[:])}
		}
		return []string{"pn", fmt.Sprint(pn)}
	}
	onOff := map[bool]string{true: "on", false: "off"}
	k.Run(t, "ip", "link", "add", "link", "eth0", "macsec0", "type", "macsec",
		"port", "1", "encrypt", onOff[encrypt], "cipher", cipherName)
	k.Run(t, append(append([]string{"ip", "macsec", "add", "macsec0", "tx", "sa", "0"}, pnArgs(ssciK)...),
		"on", "key", "01", hex.EncodeToString(keyK))...)
	k.Run(t, "ip", "macsec", "add", "macsec0", "rx", "port", "1", "address", macE.String())
	k.Run(t, append(append([]string{"ip", "macsec", "add", "macsec0", "rx", "port", "1", "address", macE.String(),
		"sa", "0"}, pnArgs(ssciE)...), "on", "key", "02", hex.EncodeToString(keyE))...)
	k.Run(t, "ip", "addr", "add", "10.9.0.1/24", "dev", "macsec0")
	k.Run(t, "ip", "link", "set", "macsec0", "up")
	k.Run(t, "ip", "neigh", "replace", "10.9.0.2", "lladdr", macE.String(), "dev", "macsec0", "nud", "permanent")

	// Engine side: a SoftSecY and a packet socket on the wire.
	sciK, sciE := macsec.MakeSCI(macK, 1), macsec.MakeSCI(macE, 1)
	conf := macsec.IntegrityOnly
	if encrypt {
		conf = macsec.ConfidentialityOffset0
	}
	s, err := macsec.NewSoftSecY(macsec.Config{SCI: sciE, Policy: macsec.Policy{
		CipherSuite: cs, Confidentiality: conf, ProtectFrames: true,
		Validate: macsec.ValidateStrict, ReplayProtect: true, IncludeSCI: true,
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		s.CreateTxSA(0, pn, &macsec.SAK{Key: keyE, SSCI: ssciE, Salt: salt}),
		s.EnableTxSA(0),
		s.CreateRxSC(sciK),
		s.CreateRxSA(sciK, 0, pn, &macsec.SAK{Key: keyK, SSCI: ssciK, Salt: salt}),
		s.EnableRxSA(sciK, 0),
		s.SetControlledPort(true),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	w := s.NewWorker()
	var conn *packet.Conn
	if err := e.Do(func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		conn, err = packet.Listen(ifi, packet.Raw, unix.ETH_P_ALL, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	for seq := uint16(1); seq <= 3; seq++ {
		req := echoFrame(macK, macE, net.IPv4(10, 9, 0, 2), net.IPv4(10, 9, 0, 1), 8, 0x4d53, seq)
		buf := make([]byte, macsec.Headroom+len(req), macsec.Headroom+len(req)+macsec.Tailroom)
		copy(buf[macsec.Headroom:], req)
		wire, err := w.Protect(buf, macsec.Headroom)
		if err != nil {
			t.Fatal(err)
		}
		if got := wire[14] & (macsec.TCIE | macsec.TCIC); (got != 0) != encrypt {
			t.Fatalf("engine TCI %#02x, encrypt=%v", wire[14], encrypt)
		}
		if _, err := conn.WriteTo(wire, &packet.Addr{HardwareAddr: macK}); err != nil {
			t.Fatal(err)
		}
		reply := awaitReply(t, conn, w, macK, seq)
		want := echoFrame(macE, macK, net.IPv4(10, 9, 0, 1), net.IPv4(10, 9, 0, 2), 0, 0x4d53, seq)
		// The kernel picks its own IP ID and TTL: compare the rest.
		if len(reply) != len(want) || !bytes.Equal(reply[:18], want[:18]) || !bytes.Equal(reply[26:], want[26:]) {
			t.Fatalf("echo reply\n got % x\nwant % x", reply, want)
		}
	}
	w.Flush()
	st, err := s.Status()
	if err != nil {
		t.Fatal(err)
	}
	if ok := st.RxSCs[0].Stats.InPktsOK; ok != 3 {
		t.Errorf("engine InPktsOK = %d, want 3", ok)
	}
	// The kernel's view of the engine's frames: three validated, on the
	// receive SC for the engine's SCI.
	out := k.Run(t, "ip", "-s", "macsec", "show", "macsec0")
	rxsc := kernelStats(out, "RXSC:")
	if rxsc["InPktsOK"] != "3" || rxsc["InPktsNotValid"] != "0" || rxsc["InPktsLate"] != "0" {
		t.Errorf("kernel receive SC counters %v, want InPktsOK 3 and no drops\n%s", rxsc, out)
	}
	if !strings.Contains(out, "RXSC: "+sciE.String()) {
		t.Errorf("kernel has no receive SC %s:\n%s", sciE, out)
	}
	if next := st.TxSC.SAs[0].NextPN; next != pn+3 {
		t.Errorf("engine next PN %#x, want %#x", next, pn+3)
	}
}

// awaitReply reads the wire until the kernel's MACsec frame carrying the
// echo reply with seq arrives, validates it, and returns the clear frame.
func awaitReply(t *testing.T, conn *packet.Conn, w *macsec.Worker, from net.HardwareAddr, seq uint16) []byte {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	conn.SetReadDeadline(deadline)
	buf := make([]byte, 2048)
	for {
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no MACsec echo reply %d from the kernel: %v", seq, err)
		}
		f := buf[:n]
		if n < 14 || !bytes.Equal(f[6:12], from) || binary.BigEndian.Uint16(f[12:14]) != macsec.EtherType {
			continue // our own frames, the kernel's IPv6 chatter on eth0
		}
		clear, err := w.Validate(f)
		if err != nil {
			t.Fatalf("kernel frame did not validate: %v\n% x", err, f)
		}
		if len(clear) >= 14+20+8 && binary.BigEndian.Uint16(clear[12:14]) == 0x0800 && clear[23] == 1 &&
			clear[34] == 0 && binary.BigEndian.Uint16(clear[40:42]) == seq {
			return append([]byte{}, clear...)
		}
	}
}

// echoFrame builds an Ethernet frame with an IPv4 ICMP echo (typ 8) or
// echo reply (typ 0) and 32 octets of payload.
func echoFrame(dst, src net.HardwareAddr, from, to net.IP, typ uint8, id, seq uint16) []byte {
	const payload = 32
	f := make([]byte, 14+20+8+payload)
	copy(f[0:6], dst)
	copy(f[6:12], src)
	binary.BigEndian.PutUint16(f[12:14], 0x0800)
	ip := f[14:34]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:4], uint16(20+8+payload))
	binary.BigEndian.PutUint16(ip[6:8], 0x4000) // DF
	ip[8] = 64
	ip[9] = 1 // ICMP
	copy(ip[12:16], from.To4())
	copy(ip[16:20], to.To4())
	binary.BigEndian.PutUint16(ip[10:12], checksum(ip))
	icmp := f[34:]
	icmp[0] = typ
	binary.BigEndian.PutUint16(icmp[4:6], id)
	binary.BigEndian.PutUint16(icmp[6:8], seq)
	for i := 8; i < len(icmp); i++ {
		icmp[i] = byte(i)
	}
	binary.BigEndian.PutUint16(icmp[2:4], checksum(icmp))
	return f
}

// checksum is the Internet checksum (RFC 1071).
func checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// kernelStats returns the first "stats:" table of `ip -s macsec show`
// after the line containing marker, as counter name to value.
func kernelStats(out, marker string) map[string]string {
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if !strings.Contains(l, marker) {
			continue
		}
		for j := i + 1; j+1 < len(lines); j++ {
			names := strings.Fields(lines[j])
			if len(names) > 1 && names[0] == "stats:" {
				m := map[string]string{}
				for k, v := range strings.Fields(lines[j+1]) {
					if k+1 < len(names) {
						m[names[k+1]] = v
					}
				}
				return m
			}
		}
	}
	return nil
}
