package link

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"

	"github.com/macsecd/macsecd/macsec"
	"github.com/mdlayher/netlink"
)

// The recorded fixtures. TestRecordFixtures (vmlab) configures a SecY
// through this package exactly as described here, in each lab kernel, and
// writes what the kernel answers to $MACSECD_LAB_OUT/link/<kernel>/; the
// files are committed under testdata/<kernel>/ and the host tests decode
// them and compare with this description and with iproute2's view recorded
// at the same moment.
//
//	<suite>-link.bin   RTM_NEWLINK reply to RTM_GETLINK for the interface
//	<suite>-dump.bin   the messages of the GET_TXSC dump, before any traffic
//	<suite>-iplink.txt `ip -d link show ms0`
//	<suite>-ipmacsec.txt `ip macsec show ms0` (same moment as the dump)
//	traffic-dump.bin, traffic-ipmacsec.txt: after pings between two SecYs
//	(GCM-AES-128), for the counters

// fixtureKernels are the lab kernels the fixtures were recorded in.
var fixtureKernels = []string{"debian-6.12", "debian-6.1"}

// fixtureSuites are the cipher suites of the configuration fixtures, by
// file name prefix.
var fixtureSuites = []struct {
	name    string
	suite   macsec.CipherSuite
	encrypt bool
}{
	{"gcm-aes-128", macsec.GCMAES128, true},
	{"gcm-aes-256", macsec.GCMAES256, false},
	{"gcm-aes-xpn-128", macsec.GCMAESXPN128, true},
	{"gcm-aes-xpn-256", macsec.GCMAESXPN256, false},
}

var (
	fxSCI     = macsec.SCI{0x02, 0x00, 0x00, 0x00, 0xaa, 0x01, 0x00, 0x01}
	fxPeerSCI = macsec.SCI{0x02, 0x00, 0x00, 0x00, 0xbb, 0x02, 0x00, 0x05}
	fxSalt    = macsec.Salt{0xe6, 0x30, 0xe8, 0x1a, 0x48, 0xde, 0x86, 0xa2, 0x1c, 0x66, 0xfa, 0x6d}
)

// fxLinkConfig is the interface of the configuration fixtures.
func fxLinkConfig(cs macsec.CipherSuite, encrypt bool) LinkConfig {
	return LinkConfig{
		Name:   "ms0",
		Parent: "eth0",
		Settings: Settings{
			SCI:           fxSCI,
			CipherSuite:   cs,
			ICVLen:        16,
			EncodingSA:    1,
			Window:        32,
			Encrypt:       encrypt,
			Protect:       true,
			IncludeSCI:    true,
			ReplayProtect: true,
			Validate:      macsec.ValidateStrict,
		},
	}
}

// fxKey is a deterministic test key (never a real one).
func fxKey(cs macsec.CipherSuite, seed byte) []byte {
	k := make([]byte, cs.KeyLen())
	for i := range k {
		k[i] = seed + byte(i)
	}
	return k
}

func fxKeyID(seed byte) macsec.KeyID {
	var id macsec.KeyID
	for i := range id {
		id[i] = seed ^ byte(i*17)
	}
	return id
}

// fxTxSAs and fxRxSAs are the SAs of the configuration fixtures. The XPN
// PNs are above 2^32 so that the 8-octet encoding is exercised.
func fxTxSAs(cs macsec.CipherSuite) []SA {
	pn1, pn2 := uint64(100), uint64(1)
	if cs.XPN() {
		pn1, pn2 = 0x1_0000_0064, 0x2_0000_0001
	}
	return []SA{
		{AN: 1, Active: true, PN: pn1, XPN: cs.XPN(), Key: fxKey(cs, 0x10), KeyID: fxKeyID(0x11), SSCI: 7, Salt: fxSalt},
		{AN: 2, Active: false, PN: pn2, XPN: cs.XPN(), Key: fxKey(cs, 0x20), KeyID: fxKeyID(0x22), SSCI: 7, Salt: fxSalt},
	}
}

func fxRxSAs(cs macsec.CipherSuite) []SA {
	pn1, pn2 := uint64(50), uint64(1)
	if cs.XPN() {
		pn1, pn2 = 0x3_0000_0032, 0x1
	}
	return []SA{
		{AN: 1, Active: true, PN: pn1, XPN: cs.XPN(), Key: fxKey(cs, 0x30), KeyID: fxKeyID(0x33), SSCI: 9, Salt: fxSalt},
		{AN: 3, Active: false, PN: pn2, XPN: cs.XPN(), Key: fxKey(cs, 0x40), KeyID: fxKeyID(0x44), SSCI: 9, Salt: fxSalt},
	}
}

// marshalMessages concatenates netlink messages as they were on the wire.
func marshalMessages(msgs []netlink.Message) ([]byte, error) {
	var buf bytes.Buffer
	for _, m := range msgs {
		b, err := m.MarshalBinary()
		if err != nil {
			return nil, err
		}
		buf.Write(b)
	}
	return buf.Bytes(), nil
}

// unmarshalMessages splits a recorded byte stream into netlink messages.
func unmarshalMessages(b []byte) ([]netlink.Message, error) {
	var msgs []netlink.Message
	for len(b) > 0 {
		if len(b) < nlmsgHdrLen {
			return nil, fmt.Errorf("%d trailing octets", len(b))
		}
		n := int(binary.NativeEndian.Uint32(b))
		if n < nlmsgHdrLen || n > len(b) {
			return nil, fmt.Errorf("message length %d of %d octets left", n, len(b))
		}
		var m netlink.Message
		if err := m.UnmarshalBinary(b[:n]); err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
		b = b[min(align4(n), len(b)):]
	}
	return msgs, nil
}

func fixturePath(kernel, name string) string {
	return filepath.Join("testdata", kernel, name)
}

func readFixture(kernel, name string) ([]byte, error) {
	return os.ReadFile(fixturePath(kernel, name))
}
