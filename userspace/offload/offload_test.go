package offload

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// naiveChecksum is RFC 1071 written the obvious way, the reference for the
// word-at-a-time sum.
func naiveChecksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}

func TestChecksum(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 300; n++ {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		if got, want := Checksum(b), naiveChecksum(b); got != want {
			t.Fatalf("len %d: Checksum %#04x, want %#04x", n, got, want)
		}
	}
	// All ones: the sum wraps many times.
	b := bytes.Repeat([]byte{0xff}, 1501)
	if got, want := Checksum(b), naiveChecksum(b); got != want {
		t.Fatalf("all ones: %#04x, want %#04x", got, want)
	}
	// RFC 1071 4.1 example octets.
	ex := []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}
	if got := Checksum(ex); got != ^uint16(0xddf2) {
		t.Fatalf("RFC 1071 example: %#04x, want %#04x", got, ^uint16(0xddf2))
	}
}

var (
	macDst = []byte{0x02, 0, 0, 0, 0, 0x0b}
	macSrc = []byte{0x02, 0, 0, 0, 0, 0x0a}
)

// superFrame builds what a TAP with TSO hands over: Ethernet, IPv4 or IPv6,
// TCP (with a 12-octet timestamp option) or UDP, payload, and a CHECKSUM_PARTIAL
// transport checksum (pseudo-header sum only), with its virtio-net header.
func superFrame(v6, udp bool, payload []byte, mss int, tcpFlags uint8) (VnetHdr, []byte) {
	ipLen := 20
	et := uint16(etherTypeIPv4)
	if v6 {
		ipLen, et = 40, etherTypeIPv6
	}
	l4Len := 32
	proto := uint8(protoTCP)
	if udp {
		l4Len, proto = 8, protoUDP
	}
	f := make([]byte, 14+ipLen+l4Len+len(payload))
	copy(f, macDst)
	copy(f[6:], macSrc)
	binary.BigEndian.PutUint16(f[12:], et)
	ip := f[14:]
	var src, dst []byte
	if v6 {
		ip[0] = 0x60
		binary.BigEndian.PutUint16(ip[4:], uint16(l4Len+len(payload)))
		ip[6], ip[7] = proto, 64
		ip[8], ip[23] = 0xfd, 1
		ip[24], ip[39] = 0xfd, 2
		src, dst = ip[8:24], ip[24:40]
	} else {
		ip[0], ip[8], ip[9] = 0x45, 64, proto
		binary.BigEndian.PutUint16(ip[2:], uint16(len(f)-14))
		binary.BigEndian.PutUint16(ip[4:], 0x1234)
		ip[6] = 0x40 // DF
		copy(ip[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
		binary.BigEndian.PutUint16(ip[10:], Checksum(ip[:20]))
		src, dst = ip[12:16], ip[16:20]
	}
	l4 := ip[ipLen:]
	binary.BigEndian.PutUint16(l4[0:], 40000)
	binary.BigEndian.PutUint16(l4[2:], 5201)
	csumOff := uint16(6)
	if udp {
		binary.BigEndian.PutUint16(l4[4:], uint16(8+len(payload)))
	} else {
		binary.BigEndian.PutUint32(l4[4:], 0xfffff000) // sequence wraps inside the frame
		binary.BigEndian.PutUint32(l4[8:], 777)
		l4[12] = 8 << 4
		l4[13] = tcpFlags
		binary.BigEndian.PutUint16(l4[14:], 512)
		copy(l4[20:], []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2})
		csumOff = 16
	}
	copy(l4[l4Len:], payload)
	binary.BigEndian.PutUint16(l4[csumOff:], fold(pseudoSum(src, dst, proto, l4Len+len(payload))))
	h := VnetHdr{Flags: FlagNeedsCsum, GSOType: GSOTCPv4, HdrLen: uint16(14 + ipLen + l4Len),
		GSOSize: uint16(mss), CsumStart: uint16(14 + ipLen), CsumOffset: csumOff}
	switch {
	case udp:
		h.GSOType = GSOUDPL4
	case v6:
		h.GSOType = GSOTCPv6
	}
	return h, f
}

func randPayload(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(r.Uint32())
	}
	return p
}

func outBufs(n, size int) ([][]byte, []int) {
	outs := make([][]byte, n)
	for i := range outs {
		outs[i] = make([]byte, size)
	}
	return outs, make([]int, n)
}

// checkSegment verifies the IP and transport checksums of a wire frame
// the way a receiving host would, and returns its payload and TCP header.
func checkSegment(t *testing.T, f []byte) (payload []byte, l4 []byte) {
	t.Helper()
	ipOff, v6, ok := l3Offset(f)
	if !ok {
		t.Fatal("segment without IP header")
	}
	var l4Off, end int
	var src, dst []byte
	var proto uint8
	if v6 {
		l4Off = ipOff + 40
		end = l4Off + int(binary.BigEndian.Uint16(f[ipOff+4:]))
		src, dst, proto = f[ipOff+8:ipOff+24], f[ipOff+24:ipOff+40], f[ipOff+6]
	} else {
		if Checksum(f[ipOff:ipOff+20]) != 0 {
			t.Fatal("bad IPv4 header checksum")
		}
		l4Off = ipOff + 20
		end = ipOff + int(binary.BigEndian.Uint16(f[ipOff+2:]))
		src, dst, proto = f[ipOff+12:ipOff+16], f[ipOff+16:ipOff+20], f[ipOff+9]
	}
	if end != len(f) {
		t.Fatalf("IP length says %d, frame has %d", end, len(f))
	}
	l4 = f[l4Off:end]
	if c := ^fold(sum(l4, pseudoSum(src, dst, proto, len(l4)))); c != 0 {
		t.Fatalf("transport checksum does not verify (residue %#04x)", c)
	}
	if proto == protoUDP {
		if int(binary.BigEndian.Uint16(l4[4:])) != len(l4) {
			t.Fatal("UDP length wrong")
		}
		return l4[8:], l4
	}
	return l4[int(l4[12]>>4)*4:], l4
}

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		v6, udp bool
		n, mss  int
	}{
		{"tcp4", false, false, 60000, 1448},
		{"tcp4-exact", false, false, 1448 * 4, 1448},
		{"tcp6", true, false, 30001, 1428},
		{"udp4", false, true, 9000, 1472},
		{"udp6", true, true, 4000, 1452},
	} {
		t.Run(tc.name, func(t *testing.T) {
			payload := randPayload(tc.n, uint64(tc.n))
			h, f := superFrame(tc.v6, tc.udp, payload, tc.mss, 0x10|tcpFlagPSH|tcpFlagFIN|tcpFlagCWR)
			outs, sizes := outBufs(128, 16+1600)
			k, err := Split(h, f, outs, 16, sizes)
			if err != nil {
				t.Fatal(err)
			}
			if want := (tc.n + tc.mss - 1) / tc.mss; k != want {
				t.Fatalf("%d segments, want %d", k, want)
			}
			var got []byte
			var seq uint32 = 0xfffff000
			var id uint16 = 0x1234
			for i := 0; i < k; i++ {
				seg := outs[i][16 : 16+sizes[i]]
				pl, l4 := checkSegment(t, seg)
				if i < k-1 && len(pl) != tc.mss {
					t.Fatalf("segment %d: %d octets, want %d", i, len(pl), tc.mss)
				}
				if !tc.udp {
					if s := binary.BigEndian.Uint32(l4[4:]); s != seq {
						t.Fatalf("segment %d: seq %#x, want %#x", i, s, seq)
					}
					fl := l4[13]
					last, first := i == k-1, i == 0
					if (fl&(tcpFlagPSH|tcpFlagFIN) != 0) != last || (fl&tcpFlagCWR != 0) != first {
						t.Fatalf("segment %d: flags %#02x", i, fl)
					}
					seq += uint32(len(pl))
				}
				if !tc.v6 {
					if got := binary.BigEndian.Uint16(seg[18:]); got != id+uint16(i) {
						t.Fatalf("segment %d: IP ID %#x, want %#x", i, got, id+uint16(i))
					}
				}
				got = append(got, pl...)
			}
			if !bytes.Equal(got, payload) {
				t.Fatal("reassembled payload differs")
			}
		})
	}
}

func TestSplitNoGSO(t *testing.T) {
	// A single UDP datagram with a partial checksum: Split finishes it.
	payload := randPayload(333, 3)
	h, f := superFrame(false, true, payload, 1472, 0)
	h.GSOType = GSONone
	outs, sizes := outBufs(1, 1600)
	k, err := Split(h, f, outs, 16, sizes)
	if err != nil || k != 1 {
		t.Fatalf("Split: %d, %v", k, err)
	}
	pl, _ := checkSegment(t, outs[0][16:16+sizes[0]])
	if !bytes.Equal(pl, payload) {
		t.Fatal("payload differs")
	}
}

func TestSplitErrors(t *testing.T) {
	h, f := superFrame(false, false, randPayload(20000, 4), 1448, 0x10)
	outs, sizes := outBufs(4, 1600)
	if _, err := Split(h, f, outs, 16, sizes); err != ErrTooManySegs {
		t.Fatalf("too few buffers: %v, want ErrTooManySegs", err)
	}
	bad := h
	bad.CsumStart = 20
	outs, sizes = outBufs(64, 1600)
	if _, err := Split(bad, f, outs, 16, sizes); err != ErrMalformed {
		t.Fatalf("wrong csum_start: %v, want ErrMalformed", err)
	}
	bad = h
	bad.GSOType = GSOUDP
	if _, err := Split(bad, f, outs, 16, sizes); err != ErrGSOType {
		t.Fatalf("UFO: %v, want ErrGSOType", err)
	}
	small, _ := outBufs(64, 200)
	if _, err := Split(h, f, small, 16, sizes); err != ErrOutBuf {
		t.Fatalf("small buffers: %v, want ErrOutBuf", err)
	}
}

// recorder is a Writer that keeps copies of what it is given.
type recorder struct{ writes [][]byte }

func (r *recorder) Write(b []byte) (int, error) {
	r.writes = append(r.writes, append([]byte(nil), b...))
	return len(b), nil
}

// TestCoalesceRoundTrip splits a super-frame, coalesces the segments back
// and splits the result again: the second split must give the same wire
// frames as the first, so what the TAP receives is exactly what the
// sender's TAP gave. For UDP (datagrams of one flow, the last one
// shorter) the coalescer merges only with UDP set; else it writes each
// datagram alone.
func TestCoalesceRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name    string
		v6, udp bool
		payload int
		mss     int
		segs    int
		gso     uint8
		csumOff uint16
	}{
		{"TCPv4", false, false, 40000, 1448, 28, GSOTCPv4, 16},
		{"TCPv6", true, false, 40000, 1448, 28, GSOTCPv6, 16},
		{"UDPv4", false, true, 100*20 + 37, 100, 21, GSOUDPL4, 6},
		{"UDPv6", true, true, 100*20 + 37, 100, 21, GSOUDPL4, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, f := superFrame(tc.v6, tc.udp, randPayload(tc.payload, 9), tc.mss, 0x10|tcpFlagPSH)
			outs, sizes := outBufs(64, 16+1600)
			k, err := Split(h, f, outs, 16, sizes)
			if err != nil || k != tc.segs {
				t.Fatalf("split: %d segments, %v; want %d", k, err, tc.segs)
			}
			coalesce := func(udp bool) [][]byte {
				rec := &recorder{}
				c := NewCoalescer(rec)
				c.UDP = udp
				for i := 0; i < k; i++ {
					c.Add(outs[i][:16+sizes[i]], 16)
				}
				c.Flush()
				return rec.writes
			}
			if tc.udp {
				if w := coalesce(false); len(w) != k {
					t.Fatalf("UDP off: %d writes, want %d", len(w), k)
				}
			}
			writes := coalesce(true)
			if len(writes) != 1 {
				t.Fatalf("%d writes, want 1", len(writes))
			}
			w := writes[0]
			gh, err := DecodeVnetHdr(w)
			if err != nil {
				t.Fatal(err)
			}
			if gh.GSOType != tc.gso || int(gh.GSOSize) != tc.mss || gh.Flags != FlagNeedsCsum || gh.CsumStart != h.CsumStart || gh.CsumOffset != tc.csumOff {
				t.Fatalf("GSO header %+v", gh)
			}
			outs2, sizes2 := outBufs(64, 16+1600)
			k2, err := Split(gh, w[VnetHdrLen:], outs2, 16, sizes2)
			if err != nil || k2 != k {
				t.Fatalf("re-split: %d segments, %v; want %d", k2, err, k)
			}
			for i := 0; i < k; i++ {
				// The coalesced frame keeps the first segment's IP ID, so the
				// re-split IDs match too.
				if a, b := outs[i][16:16+sizes[i]], outs2[i][16:16+sizes2[i]]; !bytes.Equal(a, b) {
					t.Fatalf("segment %d differs after coalesce and re-split:\n% x\n% x", i, a[:48], b[:48])
				}
			}
		})
	}
}

// TestCoalesceUDPTrains: a datagram longer than the train's size, another
// flow and a short datagram each end or leave alone the train as GRO
// would, and nothing is reordered within a flow.
func TestCoalesceUDPTrains(t *testing.T) {
	dgram := func(n int, port uint16) []byte {
		_, f := superFrame(false, true, randPayload(n, uint64(n)), 1400, 0)
		binary.BigEndian.PutUint16(f[14+20:], port) // source port: the flow
		// Fix the checksum for the new port (the coalescer trusts it).
		l4 := f[14+20:]
		l4[6], l4[7] = 0, 0
		binary.BigEndian.PutUint16(l4[6:], ^fold(sum(l4, pseudoSum(f[26:30], f[30:34], protoUDP, len(l4)))))
		return f
	}
	rec := &recorder{}
	c := NewCoalescer(rec)
	c.UDP = true
	for _, d := range [][]byte{
		dgram(100, 1), dgram(100, 1), dgram(100, 2), dgram(100, 1), // flow 2 does not end flow 1's train
		dgram(200, 1),               // longer: ends the train, starts another
		dgram(200, 1), dgram(50, 1), // shorter: joins as the last and ends it
		dgram(200, 1), // a new train
	} {
		c.Add(d, 0)
	}
	c.Flush()
	var got []string
	for _, w := range rec.writes {
		h, _ := DecodeVnetHdr(w)
		port := binary.BigEndian.Uint16(w[VnetHdrLen+14+20:])
		got = append(got, fmt.Sprintf("port%d:%d/%d", port, len(w)-VnetHdrLen-14-20-8, h.GSOSize))
	}
	// Flush writes the open flows in slot order: across flows any order
	// is right.
	want := []string{"port1:300/100", "port1:450/200", "port1:200/0", "port2:100/0"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("writes %v, want %v", got, want)
	}
}

func TestCoalesceKeepsOrderAndFlows(t *testing.T) {
	payload := randPayload(1448*6, 11)
	h, f := superFrame(false, false, payload, 1448, 0x10)
	outs, sizes := outBufs(64, 16+1600)
	k, _ := Split(h, f, outs, 16, sizes)
	rec := &recorder{}
	c := NewCoalescer(rec)
	// Segments 0,1,3,2,4,5: the gap closes the first group.
	for _, i := range []int{0, 1, 3, 2, 4, 5} {
		c.Add(outs[i][:16+sizes[i]], 16)
	}
	// A non-TCP frame is written alone, at once.
	arp := make([]byte, 16+42)
	copy(arp[16:], macDst)
	binary.BigEndian.PutUint16(arp[16+12:], 0x0806)
	c.Add(arp, 16)
	c.Flush()
	if k != 6 {
		t.Fatalf("k = %d", k)
	}
	var segs []int
	for _, w := range rec.writes {
		h, _ := DecodeVnetHdr(w)
		n := 1
		if h.GSOType != GSONone {
			n = (len(w) - VnetHdrLen - int(h.HdrLen) + int(h.GSOSize) - 1) / int(h.GSOSize)
		}
		segs = append(segs, n)
	}
	// [0,1] then 3 alone (2 is behind it), then [2]... in the order of
	// arrival, never reordered within the flow; the ARP frame is written
	// when it arrives.
	total := 0
	for _, n := range segs {
		total += n
	}
	if total != 7 {
		t.Fatalf("writes carry %d frames, want 7 (%v)", total, segs)
	}
	if c.Frames != 7 || c.Writes != uint64(len(rec.writes)) || c.Writes >= 7 {
		t.Fatalf("Frames %d Writes %d", c.Frames, c.Writes)
	}
	// The first write holds segments 0 and 1.
	if segs[0] != 2 {
		t.Fatalf("first write has %d segments, want 2", segs[0])
	}
}

func FuzzSplit(f *testing.F) {
	h, fr := superFrame(false, false, randPayload(5000, 1), 1448, 0x18)
	var hb [VnetHdrLen]byte
	h.Encode(hb[:])
	f.Add(append(hb[:], fr...))
	h, fr = superFrame(true, true, randPayload(3000, 2), 1000, 0)
	h.Encode(hb[:])
	f.Add(append(hb[:], fr...))
	outs, sizes := outBufs(64, 16+1600)
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := DecodeVnetHdr(b)
		if err != nil {
			return
		}
		k, err := Split(h, b[VnetHdrLen:], outs, 16, sizes)
		if err != nil {
			return
		}
		for i := 0; i < k; i++ {
			if sizes[i] < 0 || 16+sizes[i] > len(outs[i]) {
				t.Fatalf("segment %d size %d", i, sizes[i])
			}
		}
	})
}

func FuzzCoalesce(f *testing.F) {
	_, fr := superFrame(false, false, randPayload(1448, 1), 1448, 0x10)
	f.Add(fr, fr)
	_, fr6 := superFrame(true, false, randPayload(100, 1), 1448, 0x18)
	f.Add(fr6, fr)
	_, u4 := superFrame(false, true, randPayload(100, 1), 100, 0)
	f.Add(u4, u4)
	f.Fuzz(func(t *testing.T, a, b []byte) {
		rec := &recorder{}
		c := NewCoalescer(rec)
		c.UDP = len(a)%2 == 0 // both ways, from the same corpus
		c.Add(a, 0)
		c.Add(b, 0)
		c.Add(a, 0)
		c.Flush()
		for _, w := range rec.writes {
			if _, err := DecodeVnetHdr(w); err != nil {
				t.Fatal(err)
			}
			if len(w) > VnetHdrLen+MaxFrame {
				t.Fatal("write too long")
			}
		}
	})
}
