package userspace_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/mdlayher/packet"

	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/mka/mkpdu"
	"github.com/macsecd/macsecd/testenv"
)

// TestPing checks basic reachability through the TAPs for every suite,
// with the smallest frames (an empty ICMP echo makes a 42-octet frame,
// padded on the wire, so the SecTAG carries SL) and the largest the TAP
// MTU allows without fragmentation (the protected frame then fills the
// parent's MTU exactly).
func TestPing(t *testing.T) {
	for _, cs := range suites {
		t.Run(cs.String(), func(t *testing.T) {
			p := newPair(t, cs, strictPolicy(cs))
			// Each capture sees what the other host sent: frames sent
			// with PACKET_QDISC_BYPASS skip the sender's own taps.
			pcap := p.capture(t, p.b, "eth0")
			pcapA := p.capture(t, p.a, "eth0")
			ping(t, p.a, p.ipB)
			ping(t, p.a, p.ipB, "-s", "0")
			max := p.ba.MTU() - 28 // IPv4 and ICMP headers
			if want := p.parentMTU - macsec.Overhead; p.ba.MTU() != want {
				t.Fatalf("TAP MTU %d, want parent MTU - %d = %d", p.ba.MTU(), macsec.Overhead, want)
			}
			ping(t, p.a, p.ipB, "-s", strconv.Itoa(max), "-M", "do")
			ping(t, p.b, p.ipA, "-s", strconv.Itoa(max), "-M", "do")
			// One octet more does not fit the TAP MTU with DF set.
			if out, err := p.a.Command("ping", "-c", "1", "-W", "1", "-M", "do", "-s", strconv.Itoa(max+1), p.ipB).CombinedOutput(); err == nil {
				t.Fatalf("ping larger than the TAP MTU succeeded:\n%s", out)
			}
			frames := pcap.stop(t)
			assertOnlyMACsec(t, frames)
			assertOnlyMACsec(t, pcapA.stop(t))
			// The wire saw a full-MTU MACsec frame (1514 octets without
			// FCS) and the protected empty echo: 42 clear octets plus
			// SecTAG and ICV, with SL giving the short secure data length.
			if !hasLen(frames, p.parentMTU+14) {
				t.Errorf("no MACsec frame of %d octets on the wire", p.parentMTU+14)
			}
			small := 42 + macsec.Overhead
			if !hasLen(frames, small) {
				t.Errorf("no %d-octet MACsec frame (empty echo) on the wire", small)
			}
			for _, f := range frames {
				if len(f) == small && f[15] != 42-12 {
					t.Errorf("short frame SL = %d, want %d", f[15], 42-12)
				}
			}
		})
	}
}

// TestTCPTransfer sends pseudo-random bytes over TCP through the TAPs and
// compares digests at both ends, for every suite, while a capture on the
// wire checks that every frame is MACsec and that a marker in the data
// never appears in the clear.
func TestTCPTransfer(t *testing.T) {
	const size = 8 << 20
	marker := []byte("MACSECD-CLEARTEXT-MARKER-0123456789")
	for _, cs := range suites {
		t.Run(cs.String(), func(t *testing.T) {
			p := newPair(t, cs, strictPolicy(cs))
			pcap := p.capture(t, p.b, "eth0")
			pcapA := p.capture(t, p.a, "eth0")
			transferTCP(t, p.a, p.b, p.ipB, size, marker, uint64(cs))
			frames := pcap.stop(t)
			assertOnlyMACsec(t, frames)
			assertOnlyMACsec(t, pcapA.stop(t))
			for _, f := range frames {
				if bytes.Contains(f, marker) {
					t.Fatal("clear-text marker seen on the wire")
				}
			}
			// The transfer went through TSO super-frames and coalesced
			// writes, not one frame per read.
			sa, sb := p.ba.State(), p.bb.State()
			if sa.TxSegments <= sa.TxFrames {
				t.Errorf("sender: %d segments from %d TAP frames: no TSO super-frames", sa.TxSegments, sa.TxFrames)
			}
			if sb.RxTAPWrites >= sb.RxFrames {
				t.Errorf("receiver: %d TAP writes for %d frames: no coalescing", sb.RxTAPWrites, sb.RxFrames)
			}
			st, _ := p.bb.Status()
			var ok uint64
			for _, sc := range st.RxSCs {
				ok += sc.Stats.InPktsOK
			}
			if ok < size/1500 {
				t.Errorf("receiver InPktsOK %d, want at least %d", ok, size/1500)
			}
		})
	}
}

// transferTCP sends size pseudo-random octets (with marker every 4 KB)
// from host from to toIP:5001 in host to and compares SHA-256 digests.
func transferTCP(t *testing.T, from, to *testenv.Host, toIP string, size int, marker []byte, seed uint64) {
	t.Helper()
	data := make([]byte, size)
	r := rand.New(rand.NewPCG(seed, 1))
	for i := 0; i+8 <= len(data); i += 8 {
		binary.LittleEndian.PutUint64(data[i:], r.Uint64())
	}
	for i := 0; i+len(marker) < len(data); i += 4096 {
		copy(data[i:], marker)
	}
	want := sha256.Sum256(data)

	var ln net.Listener
	if err := to.Do(func() (err error) {
		ln, err = net.Listen("tcp4", toIP+":5001")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(120 * time.Second))
		h := sha256.New()
		n, _ := io.Copy(h, c)
		if n != int64(size) {
			got <- []byte(fmt.Sprintf("received %d octets, want %d", n, size))
			return
		}
		got <- h.Sum(nil)
	}()
	var c net.Conn
	if err := from.Do(func() (err error) {
		c, err = net.DialTimeout("tcp4", toIP+":5001", 10*time.Second)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(120 * time.Second))
	if _, err := c.Write(data); err != nil {
		t.Fatalf("write: %v", err)
	}
	c.Close()
	if g := <-got; !bytes.Equal(g, want[:]) {
		t.Fatalf("digest mismatch: %q", g)
	}
}

// TestUDPBurst sends bursts of small datagrams across the pair: every one
// arrives intact and in order, and with USO the receiver writes trains of
// them to its TAP merged (the kernel cuts them apart again).
func TestUDPBurst(t *testing.T) {
	cs := macsec.GCMAES128
	p := newPair(t, cs, strictPolicy(cs))
	ping(t, p.a, p.ipB)
	const count, size = 3000, 200
	var rc *net.UDPConn
	if err := p.b.Do(func() (err error) {
		rc, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(p.ipB), Port: 5002})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	rc.SetReadBuffer(8 << 20)
	var sc *net.UDPConn
	if err := p.a.Do(func() (err error) {
		sc, err = net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.ParseIP(p.ipB), Port: 5002})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	datagram := func(i int) []byte {
		d := make([]byte, size)
		binary.BigEndian.PutUint32(d, uint32(i))
		for j := 4; j < size; j++ {
			d[j] = byte(i * j)
		}
		return d
	}
	go func() {
		for i := 0; i < count; i++ {
			sc.Write(datagram(i))
			if i%50 == 49 {
				time.Sleep(time.Millisecond) // bursts the TAP queue holds
			}
		}
	}()
	rc.SetReadDeadline(time.Now().Add(20 * time.Second))
	buf := make([]byte, 2048)
	for i := 0; i < count; i++ {
		n, err := rc.Read(buf)
		if err != nil {
			t.Fatalf("after %d datagrams: %v", i, err)
		}
		if !bytes.Equal(buf[:n], datagram(i)) {
			t.Fatalf("datagram %d: got number %d, %d octets, or bad contents", i, binary.BigEndian.Uint32(buf), n)
		}
	}
	sb := p.bb.State()
	t.Logf("receiver: %d frames, %d TAP writes (USO %t)", sb.RxFrames, sb.RxTAPWrites, p.bb.USO())
	if p.bb.USO() && sb.RxTAPWrites*2 > sb.RxFrames {
		t.Errorf("receiver with USO: %d TAP writes for %d frames: trains not merged", sb.RxTAPWrites, sb.RxFrames)
	}
}

// TestMultiQueue runs the TCP transfer with two worker pairs (multi-queue
// TAP, PACKET_FANOUT) and the replay window that interleaved PNs need.
func TestMultiQueue(t *testing.T) {
	cs := macsec.GCMAES256
	pol := strictPolicy(cs)
	pol.ReplayWindow = 512
	p := newPairQueues(t, cs, pol, 2)
	ping(t, p.a, p.ipB)
	transferTCP(t, p.a, p.b, p.ipB, 8<<20, []byte("MULTIQUEUE"), 3)
	transferTCP(t, p.b, p.a, p.ipA, 8<<20, []byte("MULTIQUEUE"), 4)
	st, _ := p.bb.Status()
	if st.Stats.InPktsNoTag != 0 {
		t.Errorf("InPktsNoTag %d", st.Stats.InPktsNoTag)
	}
}

// TestInjectedClearFrame puts a clear UDP datagram on the wire, addressed
// to host b's TAP address: under must-secure (validateFrames Strict) it
// never reaches b and is counted as InPktsNoTag; under should-secure
// (Check) it is delivered and counted as InPktsUntagged.
func TestInjectedClearFrame(t *testing.T) {
	for _, tc := range []struct {
		name    string
		val     macsec.ValidateFrames
		deliver bool
	}{{"must-secure", macsec.ValidateStrict, false}, {"should-secure", macsec.ValidateCheck, true}} {
		t.Run(tc.name, func(t *testing.T) {
			pol := strictPolicy(macsec.GCMAES128)
			pol.Validate = tc.val
			p := newPair(t, macsec.GCMAES128, pol)
			ping(t, p.a, p.ipB) // ARP resolved, path proven
			var pc net.PacketConn
			if err := p.b.Do(func() (err error) {
				pc, err = net.ListenPacket("udp4", p.ipB+":7777")
				return err
			}); err != nil {
				t.Fatal(err)
			}
			defer pc.Close()
			payload := []byte("INJECTED-CLEAR-FRAME")
			frame := udpFrame(p.macB, p.macA, net.ParseIP(p.ipA), net.ParseIP(p.ipB), 7777, payload)
			if err := p.a.Do(func() error {
				ifi, err := net.InterfaceByName("eth0")
				if err != nil {
					return err
				}
				c, err := packet.Listen(ifi, packet.Raw, 0, nil)
				if err != nil {
					return err
				}
				defer c.Close()
				// The injector stands for an attacker on the wire, whose
				// own port passes anything: without a's egress chain.
				nft, err := nftables.New()
				if err != nil {
					return err
				}
				nft.DelChain(&nftables.Chain{Name: "egress",
					Table: &nftables.Table{Name: "macsecd-eth0", Family: nftables.TableFamilyNetdev}})
				if err := nft.Flush(); err != nil {
					return fmt.Errorf("remove a's egress chain: %w", err)
				}
				for i := 0; i < 3; i++ {
					if _, err := c.WriteTo(frame, &packet.Addr{HardwareAddr: p.macB}); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			pc.SetReadDeadline(time.Now().Add(time.Second))
			buf := make([]byte, 100)
			n, _, err := pc.ReadFrom(buf)
			st, _ := p.bb.Status()
			if tc.deliver {
				if err != nil || !bytes.Equal(buf[:n], payload) {
					t.Fatalf("should-secure: clear datagram not delivered: %v", err)
				}
				if st.Stats.InPktsUntagged < 1 {
					t.Errorf("InPktsUntagged = %d, want >= 1", st.Stats.InPktsUntagged)
				}
				return
			}
			if err == nil {
				t.Fatalf("must-secure: clear datagram %q reached the other host", buf[:n])
			}
			if st.Stats.InPktsNoTag < 3 {
				t.Errorf("InPktsNoTag = %d, want >= 3", st.Stats.InPktsNoTag)
			}
		})
	}
}

// udpFrame builds an Ethernet/IPv4/UDP frame.
func udpFrame(dst, src net.HardwareAddr, sip, dip net.IP, port uint16, payload []byte) []byte {
	f := make([]byte, 14+20+8+len(payload))
	copy(f, dst)
	copy(f[6:], src)
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:]
	ip[0], ip[8], ip[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(payload)))
	copy(ip[12:], sip.To4())
	copy(ip[16:], dip.To4())
	var s uint32
	for i := 0; i < 20; i += 2 {
		s += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(s))
	udp := ip[20:]
	binary.BigEndian.PutUint16(udp[0:], 40000)
	binary.BigEndian.PutUint16(udp[2:], port)
	binary.BigEndian.PutUint16(udp[4:], uint16(8+len(payload)))
	copy(udp[8:], payload)
	return f
}

// capture starts tcpdump on ifname in h (testenv.Capture).
func (p *pair) capture(t *testing.T, h *testenv.Host, ifname string) *capture {
	t.Helper()
	return &capture{h.Capture(t, ifname, filepath.Join(t.TempDir(), "wire.pcap"))}
}

type capture struct{ c *testenv.Capture }

// stop ends the capture and returns the captured frames.
func (c *capture) stop(t *testing.T) [][]byte {
	t.Helper()
	frames, err := c.c.Frames()
	if err != nil {
		t.Fatal(err)
	}
	return frames
}

// assertOnlyMACsec fails unless every frame is MACsec or EAPOL.
func assertOnlyMACsec(t *testing.T, frames [][]byte) {
	t.Helper()
	n := 0
	for i, f := range frames {
		if len(f) < 14 {
			t.Fatalf("frame %d: %d octets", i, len(f))
		}
		switch et := binary.BigEndian.Uint16(f[12:]); et {
		case macsec.EtherType:
			n++
		case mkpdu.EtherTypeEAPOL, mkpdu.EtherTypeWANEAPOL:
		default:
			t.Fatalf("frame %d of %d on the wire is not MACsec: EtherType %#04x, % x", i, len(frames), et, f[:min(len(f), 48)])
		}
	}
	if n == 0 {
		t.Fatal("no MACsec frame captured")
	}
}

func hasLen(frames [][]byte, n int) bool {
	for _, f := range frames {
		if len(f) == n && binary.BigEndian.Uint16(f[12:]) == macsec.EtherType {
			return true
		}
	}
	return false
}
