package mkpdu

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/macsecd/macsecd/macsec"
)

// ErrNotMKA is returned (wrapped) by Parse for a well-formed EAPOL frame of
// another packet type (EAPOL-Start, EAP, announcements), which an MKA
// receiver ignores rather than counting as malformed.
var ErrNotMKA = errors.New("mkpdu: not an EAPOL-MKA packet")

// ErrMalformed is wrapped by every Parse error about the MKPDU's structure.
var ErrMalformed = errors.New("mkpdu: malformed")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// Parse decodes an Ethernet frame holding an EAPOL-MKA PDU. It checks the
// structure only, not the ICV (see VerifyICV). Octets after the EAPOL body
// (Ethernet padding) are ignored. The returned Frame does not alias frame.
//
// Parse accepts every EAPOL and MKA version, skips parameter sets of
// unknown types (keeping them in MKPDU.Unknown), and rejects truncated or
// inconsistent sets, duplicated sets, and a PDU not ending in an ICV.
func Parse(frame []byte) (*Frame, error) {
	f := &Frame{}
	if err := f.Unmarshal(frame); err != nil {
		return nil, err
	}
	return f, nil
}

// eapolBody returns the EtherType, EAPOL version and body of a frame.
func eapolBody(frame []byte) (et uint16, ver, typ uint8, body []byte, err error) {
	if len(frame) < ethHeaderLen+eapolHeaderLen {
		return 0, 0, 0, nil, malformed("frame of %d octets is shorter than the Ethernet and EAPOL headers", len(frame))
	}
	et = binary.BigEndian.Uint16(frame[12:])
	if et != EtherTypeEAPOL && et != EtherTypeWANEAPOL {
		return 0, 0, 0, nil, malformed("EtherType %#04x is not EAPOL", et)
	}
	ver, typ = frame[14], frame[15]
	n := int(binary.BigEndian.Uint16(frame[16:]))
	rest := frame[ethHeaderLen+eapolHeaderLen:]
	if n > len(rest) {
		return 0, 0, 0, nil, malformed("EAPOL body length %d exceeds the %d octets present", n, len(rest))
	}
	return et, ver, typ, rest[:n], nil
}

// Unmarshal is Parse into an existing Frame, reusing its slices' storage
// where it can (the receive path parses every MKPDU into one Frame). On
// error the Frame holds unspecified partial results.
func (f *Frame) Unmarshal(frame []byte) error {
	et, ver, typ, body, err := eapolBody(frame)
	if err != nil {
		return err
	}
	if typ != PacketTypeMKA {
		return fmt.Errorf("%w: EAPOL packet type %d", ErrNotMKA, typ)
	}
	f.Dst = append(f.Dst[:0], frame[0:6]...)
	f.Src = append(f.Src[:0], frame[6:12]...)
	f.EtherType, f.EAPOLVersion = et, ver
	return f.PDU.unmarshal(body)
}

func (p *MKPDU) unmarshal(body []byte) error {
	ckn := p.Basic.CKN[:0]
	*p = MKPDU{}
	if len(body) < setHeaderLen+basicFixedLen+1+ICVLen {
		return malformed("MKPDU of %d octets is shorter than a Basic Parameter Set and an ICV", len(body))
	}
	// Basic Parameter Set.
	n := int(body[2]&0x0f)<<8 | int(body[3])
	if n < basicFixedLen+1 || n > basicFixedLen+32 {
		return malformed("basic parameter set body length %d, want %d to %d (CKN of 1 to 32 octets)", n, basicFixedLen+1, basicFixedLen+32)
	}
	padded := setHeaderLen + n + (4-n%4)%4
	if padded > len(body)-ICVLen {
		return malformed("basic parameter set of %d octets overruns the MKPDU", padded)
	}
	b := &p.Basic
	b.Version, b.Priority = body[0], body[1]
	b.KeyServer = body[2]&0x80 != 0
	b.MACsecDesired = body[2]&0x40 != 0
	b.MACsecCapability = body[2] >> 4 & 3
	s := body[setHeaderLen:]
	copy(b.SCI[:], s[0:8])
	copy(b.MI[:], s[8:20])
	b.MN = binary.BigEndian.Uint32(s[20:])
	b.AlgAgility = binary.BigEndian.Uint32(s[24:])
	b.CKN = append(ckn, s[basicFixedLen:n]...)
	rest := body[padded:]

	var seen [256]bool
	for len(rest) > ICVLen {
		if len(rest) < setHeaderLen {
			return malformed("%d octets after the last parameter set are neither a set header nor an ICV", len(rest))
		}
		typ, o2, bits := rest[0], rest[1], rest[2]>>4
		n := int(rest[2]&0x0f)<<8 | int(rest[3])
		if typ == TypeICVIndicator {
			if n != ICVLen {
				return malformed("ICV indicator body length %d, want %d", n, ICVLen)
			}
			if len(rest) != setHeaderLen+ICVLen {
				return malformed("ICV indicator followed by %d octets", len(rest)-setHeaderLen-ICVLen)
			}
			p.ICVIndicator = true
			rest = rest[setHeaderLen:]
			break
		}
		padded := setHeaderLen + n + (4-n%4)%4
		if padded > len(rest)-ICVLen {
			return malformed("parameter set type %d with body length %d overruns the MKPDU", typ, n)
		}
		if typ == 0 {
			// Type 0 would be a second Basic Parameter Set: there is
			// only one, and it comes first.
			return malformed("second basic parameter set")
		}
		if knownType(typ) {
			if seen[typ] {
				return malformed("duplicate parameter set type %d", typ)
			}
			seen[typ] = true
		}
		if err := p.unmarshalSet(typ, o2, bits, rest[setHeaderLen:setHeaderLen+n]); err != nil {
			return err
		}
		rest = rest[padded:]
	}
	if len(rest) != ICVLen {
		return malformed("MKPDU ends with %d octets where the %d-octet ICV belongs", len(rest), ICVLen)
	}
	copy(p.ICV[:], rest)
	return nil
}

func (p *MKPDU) unmarshalSet(typ, o2, bits uint8, body []byte) error {
	switch typ {
	case TypeLivePeerList, TypePotentialPeerList:
		if len(body)%peerEntryLen != 0 {
			return malformed("peer list type %d body length %d is not a multiple of %d", typ, len(body), peerEntryLen)
		}
		l := make([]PeerEntry, len(body)/peerEntryLen)
		for i := range l {
			e := body[i*peerEntryLen:]
			copy(l[i].MI[:], e[:12])
			l[i].MN = binary.BigEndian.Uint32(e[12:])
		}
		if typ == TypeLivePeerList {
			p.LivePeers, p.KeyServerSSCI = l, o2
		} else {
			p.PotentialPeers = l
		}
	case TypeSAKUse:
		u := &SAKUse{
			LatestAN: o2 >> 6, LatestTx: o2&0x20 != 0, LatestRx: o2&0x10 != 0,
			OldAN: o2 >> 2 & 3, OldTx: o2&0x02 != 0, OldRx: o2&0x01 != 0,
			PlainTx: bits&8 != 0, PlainRx: bits&4 != 0, DelayProtect: bits&1 != 0,
		}
		switch {
		case len(body) == 0:
			u.Empty = true
		case len(body) == sakUseBodyLen:
			copy(u.LatestKI.MI[:], body[0:12])
			u.LatestKI.KN = binary.BigEndian.Uint32(body[12:])
			u.LatestLowestPN = binary.BigEndian.Uint32(body[16:])
			copy(u.OldKI.MI[:], body[20:32])
			u.OldKI.KN = binary.BigEndian.Uint32(body[32:])
			u.OldLowestPN = binary.BigEndian.Uint32(body[36:])
		default:
			return malformed("SAK use body length %d, want 0 or %d", len(body), sakUseBodyLen)
		}
		p.SAKUse = u
	case TypeDistributedSAK:
		d := &DistSAK{AN: o2 >> 6, ConfidentialityOffset: o2 >> 4 & 3}
		switch {
		case len(body) == 0:
		case len(body) == 4+24:
			d.KeyNumber = binary.BigEndian.Uint32(body)
			d.WrappedSAK = append([]byte(nil), body[4:]...)
		case len(body) >= 4+8+24 && (len(body)-12)%8 == 0:
			d.KeyNumber = binary.BigEndian.Uint32(body)
			d.CipherSuite = macsec.CipherSuite(binary.BigEndian.Uint64(body[4:]))
			if d.CipherSuite == 0 {
				return malformed("distributed SAK with cipher suite identifier 0")
			}
			d.WrappedSAK = append([]byte(nil), body[12:]...)
		default:
			return malformed("distributed SAK body length %d, want 0, 28, or 12 plus a wrapped key of 24 or more octets (multiple of 8)", len(body))
		}
		p.DistSAK = d
	case TypeDistributedCAK:
		// The set does not say how long the wrapped CAK is; a 128-bit CAK
		// (24 octets) is assumed, see DistCAK.Split for 256-bit CAKs.
		if len(body) < 24+1 {
			return malformed("distributed CAK body length %d, want a wrapped CAK and a CKN", len(body))
		}
		p.DistCAK = &DistCAK{WrappedCAK: append([]byte(nil), body[:24]...), CKN: append([]byte(nil), body[24:]...)}
	case TypeKMD:
		p.KMD = &KMD{Name: append([]byte(nil), body...)}
	case TypeAnnouncement:
		a, err := parseAnnouncement(body)
		if err != nil {
			return err
		}
		p.Announcement = a
	case TypeXPN:
		if len(body) != xpnBodyLen {
			return malformed("XPN body length %d, want %d", len(body), xpnBodyLen)
		}
		p.XPN = &XPN{SuspensionTime: o2, LatestLowestPNHigh: binary.BigEndian.Uint32(body), OldLowestPNHigh: binary.BigEndian.Uint32(body[4:])}
	default:
		p.Unknown = append(p.Unknown, RawSet{Type: typ, Octet: o2, Bits: bits, Body: append([]byte(nil), body...)})
	}
	return nil
}

func parseAnnouncement(body []byte) (*Announcement, error) {
	a := &Announcement{}
	for len(body) > 0 {
		if len(body) < 2 {
			return nil, malformed("announcement: 1 octet left where a TLV header belongs")
		}
		typ := body[0] >> 1
		n := int(body[0]&1)<<8 | int(body[1])
		if 2+n > len(body) {
			return nil, malformed("announcement: TLV type %d length %d overruns the set", typ, n)
		}
		v := body[2 : 2+n]
		if typ == TLVMACsecCipherSuites {
			if a.CipherSuites != nil {
				return nil, malformed("announcement: duplicate MACsec cipher suites TLV")
			}
			if n%suiteEntryLen != 0 {
				return nil, malformed("announcement: cipher suites TLV length %d is not a multiple of %d", n, suiteEntryLen)
			}
			a.CipherSuites = make([]CipherSuiteCap, n/suiteEntryLen)
			for i := range a.CipherSuites {
				e := v[i*suiteEntryLen:]
				a.CipherSuites[i] = CipherSuiteCap{Capability: e[1] & 3, ID: macsec.CipherSuite(binary.BigEndian.Uint64(e[2:]))}
			}
		} else {
			a.Other = append(a.Other, TLV{Type: typ, Value: append([]byte(nil), v...)})
		}
		body = body[2+n:]
	}
	return a, nil
}

// Split re-divides a Distributed CAK body for a wrapped CAK of wrapLen
// octets (24 for a 128-bit CAK, 40 for a 256-bit one): the parameter set
// does not encode the length, so Parse assumes 24 and a receiver that
// expects 256-bit CAKs splits again.
func (d *DistCAK) Split(wrapLen int) (wrapped, ckn []byte, err error) {
	all := append(append([]byte(nil), d.WrappedCAK...), d.CKN...)
	if wrapLen < 24 || wrapLen%8 != 0 || len(all) < wrapLen+1 {
		return nil, nil, malformed("distributed CAK of %d octets cannot hold a %d-octet wrapped CAK and a CKN", len(all), wrapLen)
	}
	return all[:wrapLen], all[wrapLen:], nil
}

// ICVOffset returns the offset of the ICV in an EAPOL-MKA frame: the ICV
// is the last 16 octets of the EAPOL body, with or without an ICV Indicator
// before it.
func icvOffset(frame []byte) (int, error) {
	_, _, typ, body, err := eapolBody(frame)
	if err != nil {
		return 0, err
	}
	if typ != PacketTypeMKA {
		return 0, fmt.Errorf("%w: EAPOL packet type %d", ErrNotMKA, typ)
	}
	if len(body) < ICVLen {
		return 0, malformed("EAPOL body of %d octets holds no ICV", len(body))
	}
	return ethHeaderLen + eapolHeaderLen + len(body) - ICVLen, nil
}
