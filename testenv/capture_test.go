package testenv

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/packet"
)

// TestCaptureSeesFrame sends one EAPOL frame across a veth and finds it,
// byte for byte, in the capture taken on the other side.
func TestCaptureSeesFrame(t *testing.T) {
	lab := New(t)
	a, b := lab.Host("a"), lab.Host("b")
	lab.Veth(a, "eth0", b, "eth0")
	pcap := b.Capture(t, "eth0", filepath.Join(t.TempDir(), "x.pcap"), "ether", "proto", "0x888e")

	var c *packet.Conn
	var src net.HardwareAddr
	err := a.Do(func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		src = ifi.HardwareAddr
		c, err = packet.Listen(ifi, packet.Raw, 0x888e, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dst := net.HardwareAddr{0x01, 0x80, 0xc2, 0, 0, 0x03}
	frame := append(append(append([]byte{}, dst...), src...), 0x88, 0x8e, 3, 5, 0, 4, 1, 2, 3, 4)
	frame = append(frame, make([]byte, 60-len(frame))...)
	if _, err := c.WriteTo(frame, &packet.Addr{HardwareAddr: dst}); err != nil {
		t.Fatal(err)
	}
	frames, err := pcap.Frames()
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 1 || !bytes.Equal(frames[0], frame) {
		t.Errorf("captured %d frames %x, want exactly the one sent %x", len(frames), frames, frame)
	}
}

func pcapFile(order binary.AppendByteOrder, linkType uint32, records ...[]byte) []byte {
	var b []byte
	b = order.AppendUint32(b, 0xa1b2c3d4)
	b = order.AppendUint16(b, 2)
	b = order.AppendUint16(b, 4)
	b = append(b, make([]byte, 8)...)
	b = order.AppendUint32(b, 65535)
	b = order.AppendUint32(b, linkType)
	for i, r := range records {
		b = order.AppendUint32(b, uint32(i))
		b = order.AppendUint32(b, 0)
		b = order.AppendUint32(b, uint32(len(r)))
		b = order.AppendUint32(b, uint32(len(r)))
		b = append(b, r...)
	}
	return b
}

func TestParsePcap(t *testing.T) {
	r1, r2 := bytes.Repeat([]byte{0xaa}, 60), bytes.Repeat([]byte{0xbb}, 14)
	for _, bo := range []binary.AppendByteOrder{binary.LittleEndian, binary.BigEndian} {
		frames, err := ParsePcap(pcapFile(bo, 1, r1, r2))
		if err != nil || len(frames) != 2 || !bytes.Equal(frames[0], r1) || !bytes.Equal(frames[1], r2) {
			t.Errorf("%v: got %x, %v", bo, frames, err)
		}
	}
	good := pcapFile(binary.LittleEndian, 1, r1)
	for name, c := range map[string]struct {
		b    []byte
		want string
	}{
		"empty":        {nil, "short file header"},
		"magic":        {append([]byte{1, 2, 3, 4}, good[4:]...), "bad magic"},
		"link type":    {pcapFile(binary.LittleEndian, 113, r1), "link type 113"},
		"short header": {good[:24+10], "truncated record header"},
		"short record": {good[:len(good)-1], "60 octets, 59 left"},
	} {
		_, err := ParsePcap(c.b)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, c.want)
		}
	}
}

// TestParsePcapRecords checks capture times in both timestamp resolutions
// and that a file cut inside its last record yields the records before it.
func TestParsePcapRecords(t *testing.T) {
	r1, r2 := bytes.Repeat([]byte{0xaa}, 60), bytes.Repeat([]byte{0xbb}, 14)
	for _, c := range []struct {
		magic uint32
		frac  uint32
		want  time.Duration // of the second record's fraction
	}{{0xa1b2c3d4, 250000, 250 * time.Millisecond}, {0xa1b23c4d, 250000, 250 * time.Microsecond}} {
		b := pcapFile(binary.BigEndian, 1, r1, r2)
		binary.BigEndian.PutUint32(b, c.magic)
		binary.BigEndian.PutUint32(b[24+16+len(r1)+4:], c.frac)
		recs, err := ParsePcapRecords(b)
		if err != nil || len(recs) != 2 || !bytes.Equal(recs[1].Frame, r2) {
			t.Fatalf("%#x: %v, %v", c.magic, recs, err)
		}
		if !recs[0].Time.Equal(time.Unix(0, 0)) || !recs[1].Time.Equal(time.Unix(1, int64(c.want))) {
			t.Errorf("%#x: times %v, %v", c.magic, recs[0].Time, recs[1].Time)
		}
		for _, cut := range []int{len(b) - 1, 24 + 16 + len(r1) + 5} {
			recs, err := ParsePcapRecords(b[:cut])
			if !errors.Is(err, ErrPcapCut) || len(recs) != 1 || !bytes.Equal(recs[0].Frame, r1) {
				t.Errorf("%#x cut at %d: %d records, %v; want the first and ErrPcapCut", c.magic, cut, len(recs), err)
			}
		}
	}
}

func FuzzParsePcap(f *testing.F) {
	f.Add(pcapFile(binary.LittleEndian, 1, []byte{1, 2, 3}))
	f.Add(pcapFile(binary.BigEndian, 1, make([]byte, 60), nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		frames, err := ParsePcap(b)
		if err != nil {
			return
		}
		n := 24
		for _, fr := range frames {
			n += 16 + len(fr)
		}
		if n != len(b) {
			t.Fatalf("frames account for %d of %d octets", n, len(b))
		}
	})
}

func TestWPASupplicantConfig(t *testing.T) {
	got := WPASupplicant{CAK: []byte{0x01, 0xab}, CKN: []byte{0xcd}, Priority: 7, IntegrityOnly: true,
		Extra: []string{"macsec_port=2"}}.Config()
	want := "eapol_version=3\nap_scan=0\nnetwork={\n\tkey_mgmt=NONE\n\teapol_flags=0\n\tmacsec_policy=1\n" +
		"\tmka_cak=01ab\n\tmka_ckn=cd\n\tmka_priority=7\n\tmacsec_integ_only=1\n\tmacsec_port=2\n}\n"
	if got != want {
		t.Errorf("config:\n%s\nwant:\n%s", got, want)
	}
}
