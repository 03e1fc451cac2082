//go:build !vmlab

package link

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/macsecd/macsecd/macsec"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// The kernel reports a SecY's settings and its SCs and SAs with the same
// attribute types it accepts (IFLA_MACSEC_* in RTM_NEWLINK replies,
// MACSEC_SA_ATTR_* and MACSEC_RXSC_ATTR_* in the dump). These tests encode
// the fixture configuration and require every attribute we send to be
// byte-identical to the one the kernel reported for the state that request
// created: type numbers, lengths (4-octet PN, 8 for XPN), byte order (the
// big-endian SCI in a u64) all agree with the real kernel.

// TestEncodeNewLinkMatchesKernel compares RTM_NEWLINK's IFLA_INFO_DATA with
// the kernel's RTM_NEWLINK reply for the created interface.
func TestEncodeNewLinkMatchesKernel(t *testing.T) {
	for _, k := range fixtureKernels {
		for _, fs := range fixtureSuites {
			t.Run(k+"/"+fs.name, func(t *testing.T) {
				var e encoder
				encodeNewLink(&e, fxLinkConfig(fs.suite, fs.encrypt), 2)
				msg := e.finish(1, 0)
				if got := int(binary.NativeEndian.Uint16(msg[4:])); got != unix.RTM_NEWLINK {
					t.Fatalf("message type %d", got)
				}
				flags := netlink.HeaderFlags(binary.NativeEndian.Uint16(msg[6:]))
				if want := netlink.Request | netlink.Acknowledge | netlink.Create | netlink.Excl; flags != want {
					t.Errorf("flags %v, want %v", flags, want)
				}
				top := attrsByType(t, msg[nlmsgHdrLen+ifinfoLen:])
				if string(top[unix.IFLA_IFNAME]) != "ms0\x00" || binary.NativeEndian.Uint32(top[unix.IFLA_LINK]) != 2 {
					t.Errorf("IFLA_IFNAME %q IFLA_LINK %x", top[unix.IFLA_IFNAME], top[unix.IFLA_LINK])
				}
				info := attrsByType(t, top[unix.IFLA_LINKINFO])
				if string(info[unix.IFLA_INFO_KIND]) != "macsec\x00" {
					t.Errorf("IFLA_INFO_KIND %q", info[unix.IFLA_INFO_KIND])
				}
				ours := attrsByType(t, info[unix.IFLA_INFO_DATA])
				kernel := infoData(t, loadMessages(t, k, fs.name+"-link.bin")[0].Data)
				if len(ours) < 12 {
					t.Fatalf("only %d attributes sent", len(ours))
				}
				for typ, v := range ours {
					kv, ok := kernel[typ]
					if !ok {
						t.Errorf("attribute %d: the kernel does not report it", typ)
						continue
					}
					if typ == iflaMacsecCipherSuite && fs.suite == macsec.GCMAES128 {
						// We send the standard id; the kernel reports the
						// legacy one for the same suite (TestLegacyCipherID).
						var legacy [8]byte
						binary.NativeEndian.PutUint64(legacy[:], uint64(macsec.GCMAES128Legacy))
						kv = legacy[:]
						var std [8]byte
						binary.NativeEndian.PutUint64(std[:], uint64(macsec.GCMAES128))
						if !bytes.Equal(v, std[:]) {
							t.Errorf("cipher suite sent as %x", v)
						}
						continue
					}
					if !bytes.Equal(v, kv) {
						t.Errorf("attribute %d: we send %x, the kernel reports %x", typ, v, kv)
					}
				}
			})
		}
	}
}

// TestEncodeSAMatchesKernel compares ADD_TXSA, ADD_RXSA and ADD_RXSC with
// the dump of the state they created.
func TestEncodeSAMatchesKernel(t *testing.T) {
	for _, k := range fixtureKernels {
		for _, fs := range fixtureSuites {
			t.Run(k+"/"+fs.name, func(t *testing.T) {
				dump := dumpAttrs(t, loadMessages(t, k, fs.name+"-dump.bin"))
				for _, sa := range fxTxSAs(fs.suite) {
					var e encoder
					e.reset(7, uint16(netlink.Request|netlink.Acknowledge))
					e.genl(cmdAddTxSA, genlVersion)
					encodeAddSA(&e, 3, nil, &sa)
					top := attrsByType(t, e.finish(1, 0)[nlmsgHdrLen+genlHdrLen:])
					if got := binary.NativeEndian.Uint32(top[attrIfindex]); got != 3 {
						t.Errorf("ifindex %d", got)
					}
					sent := attrsByType(t, top[attrSAConfig])
					checkSAAttrs(t, "TX", sa, sent, dump.tx[sa.AN])
				}
				for _, sa := range fxRxSAs(fs.suite) {
					var e encoder
					e.reset(7, uint16(netlink.Request|netlink.Acknowledge))
					e.genl(cmdAddRxSA, genlVersion)
					sci := fxPeerSCI
					encodeAddSA(&e, 3, &sci, &sa)
					top := attrsByType(t, e.finish(1, 0)[nlmsgHdrLen+genlHdrLen:])
					rxsc := attrsByType(t, top[attrRxSCConfig])
					if !bytes.Equal(rxsc[rxscAttrSCI], dump.rxscSCI) {
						t.Errorf("RX SC SCI: we send %x, the kernel reports %x", rxsc[rxscAttrSCI], dump.rxscSCI)
					}
					checkSAAttrs(t, "RX", sa, attrsByType(t, top[attrSAConfig]), dump.rx[sa.AN])
				}
				var e encoder
				on := true
				e.reset(7, uint16(netlink.Request|netlink.Acknowledge))
				e.genl(cmdAddRxSC, genlVersion)
				encodeRxSC(&e, 3, fxPeerSCI, &on)
				top := attrsByType(t, e.finish(1, 0)[nlmsgHdrLen+genlHdrLen:])
				rxsc := attrsByType(t, top[attrRxSCConfig])
				if !bytes.Equal(rxsc[rxscAttrSCI], dump.rxscSCI) || !bytes.Equal(rxsc[rxscAttrActive], dump.rxscActive) {
					t.Errorf("ADD_RXSC sends %x, the kernel reports %x/%x", rxsc, dump.rxscSCI, dump.rxscActive)
				}
			})
		}
	}
}

func checkSAAttrs(t *testing.T, dir string, sa SA, sent, kernel map[uint16][]byte) {
	t.Helper()
	if kernel == nil {
		t.Fatalf("%s SA %d not in the dump", dir, sa.AN)
	}
	// The kernel reports everything but the key and the salt.
	for _, typ := range []uint16{saAttrAN, saAttrPN, saAttrKeyID, saAttrActive, saAttrSSCI} {
		if typ == saAttrSSCI && !sa.XPN {
			if sent[typ] != nil || kernel[typ] != nil {
				t.Errorf("%s SA %d: SSCI present without XPN", dir, sa.AN)
			}
			continue
		}
		if !bytes.Equal(sent[typ], kernel[typ]) {
			t.Errorf("%s SA %d attribute %d: we send %x, the kernel reports %x", dir, sa.AN, typ, sent[typ], kernel[typ])
		}
	}
	if !bytes.Equal(sent[saAttrKey], sa.Key) {
		t.Errorf("%s SA %d: key attribute %x", dir, sa.AN, sent[saAttrKey])
	}
	if sa.XPN != (len(sent[saAttrSalt]) == saltLen) {
		t.Errorf("%s SA %d: salt attribute %x with XPN=%v", dir, sa.AN, sent[saAttrSalt], sa.XPN)
	}
}

type dumpSAs struct {
	tx, rx     map[macsec.AN]map[uint16][]byte
	rxscSCI    []byte
	rxscActive []byte
}

// dumpAttrs indexes the SA attributes of a one-SecY, one-RX-SC dump.
func dumpAttrs(t *testing.T, msgs []netlink.Message) dumpSAs {
	t.Helper()
	d := dumpSAs{tx: map[macsec.AN]map[uint16][]byte{}, rx: map[macsec.AN]map[uint16][]byte{}}
	if len(msgs) != 1 {
		t.Fatalf("%d dump messages", len(msgs))
	}
	top := attrsByType(t, msgs[0].Data[genlHdrLen:])
	each := func(list []byte, fn func(map[uint16][]byte)) {
		ad, err := netlink.NewAttributeDecoder(list)
		if err != nil {
			t.Fatal(err)
		}
		for ad.Next() {
			fn(attrsByType(t, ad.Bytes()))
		}
	}
	each(top[attrTxSAList], func(a map[uint16][]byte) { d.tx[macsec.AN(a[saAttrAN][0])] = a })
	each(top[attrRxSCList], func(sc map[uint16][]byte) {
		d.rxscSCI, d.rxscActive = sc[rxscAttrSCI], sc[rxscAttrActive]
		each(sc[rxscAttrSAList], func(a map[uint16][]byte) { d.rx[macsec.AN(a[saAttrAN][0])] = a })
	})
	return d
}

// TestRequestZeroedAfterSend: the key is in the datagram handed to the
// socket and nowhere in the Conn's buffer afterwards, whether the send
// worked or failed.
func TestRequestZeroedAfterSend(t *testing.T) {
	for _, fail := range []bool{false, true} {
		s := &nlsock{}
		key := fxKey(macsec.GCMAESXPN256, 0xa0)
		var sent []byte
		s.send = func(b []byte) error {
			sent = append([]byte(nil), b...)
			if fail {
				return unix.ENOBUFS
			}
			return nil
		}
		s.enc.reset(7, uint16(netlink.Request|netlink.Acknowledge))
		s.enc.genl(cmdAddTxSA, genlVersion)
		encodeAddSA(&s.enc, 3, nil, &SA{AN: 1, PN: 1, XPN: true, Key: key, SSCI: 1})
		buf := s.enc.b[:cap(s.enc.b)]
		_, _, err := s.sendRequest()
		if (err != nil) != fail {
			t.Fatalf("fail=%v: err %v", fail, err)
		}
		if !bytes.Contains(sent, key) {
			t.Fatal("the key was not in the sent datagram")
		}
		if bytes.Contains(buf, key[:8]) || !bytes.Equal(buf, make([]byte, len(buf))) {
			t.Errorf("fail=%v: request buffer not zeroed after the send", fail)
		}
	}
}

// TestChangeLinkEncoding: a change carries only the fields set, and the
// immutable ones are sent (for the kernel to refuse) and named.
func TestChangeLinkEncoding(t *testing.T) {
	var e encoder
	an := macsec.AN(2)
	off := false
	cs := macsec.GCMAES256
	ch := LinkChange{EncodingSA: &an, Encrypt: &off, CipherSuite: &cs}
	encodeChangeLink(&e, 9, ch)
	msg := e.finish(1, 0)
	if idx := int32(binary.NativeEndian.Uint32(msg[nlmsgHdrLen+4:])); idx != 9 {
		t.Errorf("ifindex %d", idx)
	}
	top := attrsByType(t, msg[nlmsgHdrLen+ifinfoLen:])
	data := attrsByType(t, attrsByType(t, top[unix.IFLA_LINKINFO])[unix.IFLA_INFO_DATA])
	if len(data) != 3 || data[iflaMacsecEncodingSA][0] != 2 || data[iflaMacsecEncrypt][0] != 0 ||
		binary.NativeEndian.Uint64(data[iflaMacsecCipherSuite]) != uint64(cs) {
		t.Errorf("IFLA_INFO_DATA %x", data)
	}
	if got := ch.immutable(); got != "cipher suite" {
		t.Errorf("immutable() = %q", got)
	}
}

// TestEncoderGrowthZeroes: when a request outgrows the buffer, the array
// left behind holds no key octets.
func TestEncoderGrowthZeroes(t *testing.T) {
	var e encoder
	e.b = make([]byte, 0, 48) // too small for an SA with a 32-octet key
	orig := e.b[:cap(e.b)]
	key := fxKey(macsec.GCMAES256, 0xc0)
	e.reset(7, uint16(netlink.Request|netlink.Acknowledge))
	e.genl(cmdAddTxSA, genlVersion)
	encodeAddSA(&e, 3, nil, &SA{AN: 1, PN: 1, Key: key})
	if !bytes.Contains(e.b, key) {
		t.Fatal("key not encoded")
	}
	if &orig[0] == &e.b[:1][0] {
		t.Fatal("buffer did not grow; the test proves nothing")
	}
	if !bytes.Equal(orig, make([]byte, len(orig))) {
		t.Errorf("old buffer not zeroed: %x", orig)
	}
}
