//go:build vmlab

package link

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/testenv"
	"github.com/mdlayher/packet"
)

// TestFrameEngineInterop cross-checks package macsec's frame engine with
// the kernel's MACsec, for every cipher suite, encrypted and integrity
// only: namespace k runs kernel MACsec configured through this package;
// namespace u has only a raw AF_PACKET socket on the wire and a
// macsec.SoftSecY with the same keys. Frames that u protects are accepted
// by k's kernel (a UDP socket in k receives them), and frames that k's
// kernel protects are validated by u's SoftSecY.
func TestFrameEngineInterop(t *testing.T) {
	for _, cs := range macsec.CipherSuites {
		for _, encrypt := range []bool{true, false} {
			t.Run(fmt.Sprintf("%v/encrypt=%v", cs, encrypt), func(t *testing.T) {
				interop(t, cs, encrypt)
			})
		}
	}
}

func interop(t *testing.T, cs macsec.CipherSuite, encrypt bool) {
	lab := testenv.New(t)
	k := &node{h: lab.Host("k"), mac: macA, ip: "10.9.0.1", ssci: 1}
	u := &node{h: lab.Host("u"), mac: macB, ip: "10.9.0.2", ssci: 2}
	quietIPv6(t, k.h)
	quietIPv6(t, u.h)
	lab.VethMAC(k.h, "eth0", k.mac, u.h, "eth0", u.mac)
	k.sci, u.sci = macsec.MakeSCI(k.mac, 1), macsec.MakeSCI(u.mac, 1)
	p := pairPolicy(cs, encrypt)

	// Kernel side, through this package.
	k.c = dialIn(t, k.h)
	y, err := New(k.c, Config{Parent: "eth0", Name: "ms0", SCI: k.sci, Policy: p})
	if err != nil {
		t.Fatal(err)
	}
	k.y = y
	t.Cleanup(func() { y.Close() })
	k.h.Run(t, "ip", "addr", "add", k.ip+"/24", "dev", "ms0")
	k.h.Run(t, "ip", "neigh", "add", u.ip, "lladdr", u.mac.String(), "dev", "ms0")
	// XPN suites start just below 2^32 so that the frames cross into the
	// upper PN half on both sides (the 64-bit PN attribute, and the IV's
	// PN beyond the SecTAG's 32 bits).
	startPN := uint64(1)
	if cs.XPN() {
		startPN = 1<<32 - 1
	}
	if err := k.y.CreateRxSC(u.sci); err != nil {
		t.Fatal(err)
	}
	for _, step := range []func() error{
		func() error { return k.y.CreateRxSA(u.sci, 0, startPN, pairSAK(cs, 0, u.ssci)) },
		func() error { return k.y.EnableRxSA(u.sci, 0) },
		func() error { return k.y.CreateTxSA(0, startPN, pairSAK(cs, 0, k.ssci)) },
		func() error { return k.y.EnableTxSA(0) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	if err := k.y.SetControlledPort(true); err != nil {
		t.Fatal(err)
	}

	// Userspace side: package macsec's SoftSecY with the same SAK.
	soft, err := macsec.NewSoftSecY(macsec.Config{SCI: u.sci, Policy: p})
	if err != nil {
		t.Fatal(err)
	}
	defer soft.Close()
	steps := []func() error{
		func() error { return soft.CreateRxSC(k.sci) },
		func() error { return soft.CreateRxSA(k.sci, 0, startPN, pairSAK(cs, 0, k.ssci)) },
		func() error { return soft.EnableRxSA(k.sci, 0) },
		func() error { return soft.CreateTxSA(0, startPN, pairSAK(cs, 0, u.ssci)) },
		func() error { return soft.EnableTxSA(0) },
		func() error { return soft.SetControlledPort(true) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			t.Fatal(err)
		}
	}
	w := soft.NewWorker()
	defer w.Close()

	var raw *packet.Conn
	var kudp, ksend *net.UDPConn
	if err := u.h.Do(func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		raw, err = packet.Listen(ifi, packet.Raw, macsec.EtherType, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := k.h.Do(func() error {
		var err error
		if kudp, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(k.ip), Port: 7100}); err != nil {
			return err
		}
		ksend, err = net.DialUDP("udp4", &net.UDPAddr{IP: net.ParseIP(k.ip), Port: 7101}, &net.UDPAddr{IP: net.ParseIP(u.ip), Port: 7300})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer kudp.Close()
	defer ksend.Close()

	// Userspace protects, the kernel validates and delivers.
	for i := 0; i < 3; i++ {
		msg := []byte(fmt.Sprintf("userspace->kernel %v %d", cs, i))
		clear := udpFrame(k.mac, u.mac, u.ip, k.ip, 7200, 7100, msg)
		buf := make([]byte, macsec.Headroom+len(clear), macsec.Headroom+len(clear)+macsec.Tailroom)
		copy(buf[macsec.Headroom:], clear)
		frame, err := w.Protect(buf, macsec.Headroom)
		if err != nil {
			t.Fatal(err)
		}
		if encrypt == bytes.Contains(frame, msg) {
			t.Fatalf("protected frame %x: encrypt=%v but plaintext visible=%v", frame, encrypt, !encrypt)
		}
		if _, err := raw.WriteTo(frame, &packet.Addr{HardwareAddr: k.mac}); err != nil {
			t.Fatal(err)
		}
		kudp.SetReadDeadline(time.Now().Add(5 * time.Second))
		got := make([]byte, 1500)
		n, err := kudp.Read(got)
		if err != nil {
			t.Fatalf("the kernel did not deliver the frame protected by package macsec: %v", err)
		}
		if !bytes.Equal(got[:n], msg) {
			t.Fatalf("kernel delivered %q, want %q", got[:n], msg)
		}
	}
	st, err := k.y.State()
	if err != nil {
		t.Fatal(err)
	}
	if rx := st.RxSC(u.sci).RxSA(0); rx.Stats.InPktsOK != 3 || rx.NextPN != startPN+3 {
		t.Errorf("kernel RX SA after 3 userspace frames: %+v", rx)
	}

	// The kernel protects, userspace validates.
	for i := 0; i < 3; i++ {
		msg := []byte(fmt.Sprintf("kernel->userspace %v %d", cs, i))
		if _, err := ksend.Write(msg); err != nil {
			t.Fatal(err)
		}
		frame := readMACsecFrom(t, raw, k.mac)
		if encrypt == bytes.Contains(frame, msg) {
			t.Fatalf("kernel frame %x: encrypt=%v but plaintext visible=%v", frame, encrypt, !encrypt)
		}
		clear, err := w.Validate(frame)
		if err != nil {
			t.Fatalf("package macsec refused the kernel's frame %x: %v", frame, err)
		}
		// The kernel's IP stack fills in IP ID, DF and the UDP checksum:
		// compare addresses, ports and payload.
		want := udpFrame(u.mac, k.mac, k.ip, u.ip, 7101, 7300, msg)
		if len(clear) != len(want) || !bytes.Equal(clear[:14], want[:14]) || !bytes.Equal(clear[26:38], want[26:38]) || !bytes.Equal(clear[42:], msg) {
			t.Fatalf("validated frame\n %x\nwant (but for IP ID, flags and checksums)\n %x", clear, want)
		}
	}
	w.Flush()
	ss, err := soft.Status()
	if err != nil {
		t.Fatal(err)
	}
	if len(ss.RxSCs) != 1 || len(ss.RxSCs[0].SAs) != 1 || ss.RxSCs[0].SAs[0].Stats.InPktsOK != 3 {
		t.Errorf("SoftSecY RX after 3 kernel frames: %+v", ss.RxSCs)
	}
	if pn, err := k.y.TxNextPN(0); err != nil || pn != startPN+3 {
		t.Errorf("kernel TX next PN %d, %v; want %d", pn, err, startPN+3)
	}
}

// readMACsecFrom returns the next MACsec frame from src on the raw socket.
func readMACsecFrom(t *testing.T, c *packet.Conn, src net.HardwareAddr) []byte {
	t.Helper()
	buf := make([]byte, 2048)
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.SetReadDeadline(deadline)
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no MACsec frame from the kernel: %v", err)
		}
		f := buf[:n]
		if n > 14 && bytes.Equal(f[6:12], src) && binary.BigEndian.Uint16(f[12:]) == macsec.EtherType {
			return append([]byte(nil), f...)
		}
	}
}

// udpFrame builds an Ethernet frame carrying an IPv4 UDP datagram (UDP
// checksum 0: none, as IPv4 allows).
func udpFrame(dst, src net.HardwareAddr, srcIP, dstIP string, sport, dport uint16, payload []byte) []byte {
	f := make([]byte, 14+20+8+len(payload))
	copy(f[0:], dst)
	copy(f[6:], src)
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:34]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(payload)))
	ip[8] = 64
	ip[9] = 17
	copy(ip[12:], net.ParseIP(srcIP).To4())
	copy(ip[16:], net.ParseIP(dstIP).To4())
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	udp := f[34:42]
	binary.BigEndian.PutUint16(udp[0:], sport)
	binary.BigEndian.PutUint16(udp[2:], dport)
	binary.BigEndian.PutUint16(udp[4:], uint16(8+len(payload)))
	copy(f[42:], payload)
	return f
}
