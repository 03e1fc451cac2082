package mkpdu

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Header sizes.
const (
	ethHeaderLen   = 14
	eapolHeaderLen = 4
	setHeaderLen   = 4
	basicFixedLen  = 28 // Basic body before the CKN
	sakUseBodyLen  = 40
	xpnBodyLen     = 8
	peerEntryLen   = 16
	maxSetBodyLen  = 0xfff // 12-bit body length
	maxTLVLen      = 0x1ff // 9-bit TLV length
	suiteEntryLen  = 10
)

// Marshal encodes the frame and computes its ICV with ick (16 or 32
// octets), which it also stores in f.PDU.ICV.
func (f *Frame) Marshal(ick []byte) ([]byte, error) {
	return f.AppendMarshal(nil, ick)
}

// AppendMarshal is Marshal appending to b, so a sender can reuse a buffer.
func (f *Frame) AppendMarshal(b, ick []byte) ([]byte, error) {
	k, err := NewICVKey(ick)
	if err != nil {
		return nil, fmt.Errorf("mkpdu: marshal: %w", err)
	}
	return f.AppendMarshalKey(b, k)
}

// AppendMarshalKey is AppendMarshal with a prepared ICV key: with a buffer
// of sufficient capacity it does not allocate.
func (f *Frame) AppendMarshalKey(b []byte, k *ICVKey) ([]byte, error) {
	start := len(b)
	b, err := f.appendUnsigned(b)
	if err != nil {
		return nil, err
	}
	f.PDU.ICV = k.sumOf(b[start:])
	return append(b, f.PDU.ICV[:]...), nil
}

// appendUnsigned appends everything up to the ICV (with the EAPOL body
// length already counting the ICV).
func (f *Frame) appendUnsigned(b []byte) ([]byte, error) {
	if len(f.Dst) != 6 || len(f.Src) != 6 {
		return nil, fmt.Errorf("mkpdu: marshal: want 6-octet MAC addresses, have dst %d and src %d octets", len(f.Dst), len(f.Src))
	}
	et, ver := f.EtherType, f.EAPOLVersion
	if et == 0 {
		et = EtherTypeEAPOL
	}
	if ver == 0 {
		ver = EAPOLVersion3
	}
	start := len(b)
	b = append(b, f.Dst...)
	b = append(b, f.Src...)
	b = binary.BigEndian.AppendUint16(b, et)
	b = append(b, ver, PacketTypeMKA, 0, 0) // body length patched below
	bodyStart := len(b)
	var err error
	if b, err = f.PDU.appendSets(b); err != nil {
		return nil, err
	}
	if f.PDU.ICVIndicator {
		b = appendSetHeader(b, TypeICVIndicator, 0, 0, ICVLen)
	}
	bodyLen := len(b) - bodyStart + ICVLen
	if bodyLen > 0xffff {
		return nil, fmt.Errorf("mkpdu: marshal: EAPOL body of %d octets exceeds 65535", bodyLen)
	}
	binary.BigEndian.PutUint16(b[start+ethHeaderLen+2:], uint16(bodyLen))
	return b, nil
}

// appendSetHeader appends a generic parameter set header.
func appendSetHeader(b []byte, typ, octet2, bits uint8, bodyLen int) []byte {
	return append(b, typ, octet2, bits<<4|byte(bodyLen>>8)&0x0f, byte(bodyLen))
}

// pad appends zero octets up to the next multiple of 4 (802.1X-2020
// 11.11.3: each parameter set is padded; the padding is not counted in the
// body length).
func pad(b []byte, bodyLen int) []byte {
	for n := bodyLen; n%4 != 0; n++ {
		b = append(b, 0)
	}
	return b
}

func b2u(v bool) uint8 {
	if v {
		return 1
	}
	return 0
}

func (p *MKPDU) appendSets(b []byte) ([]byte, error) {
	var err error
	if b, err = p.Basic.append(b); err != nil {
		return nil, err
	}
	for _, l := range []struct {
		typ     uint8
		octet2  uint8
		entries []PeerEntry
	}{{TypeLivePeerList, p.KeyServerSSCI, p.LivePeers}, {TypePotentialPeerList, 0, p.PotentialPeers}} {
		if l.entries == nil {
			continue
		}
		n := len(l.entries) * peerEntryLen
		if n > maxSetBodyLen {
			return nil, fmt.Errorf("mkpdu: marshal: peer list type %d: %d entries do not fit", l.typ, len(l.entries))
		}
		b = appendSetHeader(b, l.typ, l.octet2, 0, n)
		for _, e := range l.entries {
			b = append(b, e.MI[:]...)
			b = binary.BigEndian.AppendUint32(b, e.MN)
		}
	}
	if p.SAKUse != nil {
		b = p.SAKUse.append(b)
	}
	if p.DistSAK != nil {
		if b, err = p.DistSAK.append(b); err != nil {
			return nil, err
		}
	}
	if p.DistCAK != nil {
		n := len(p.DistCAK.WrappedCAK) + len(p.DistCAK.CKN)
		if len(p.DistCAK.WrappedCAK) != 24 && len(p.DistCAK.WrappedCAK) != 40 {
			return nil, fmt.Errorf("mkpdu: marshal: distributed CAK: wrapped CAK is %d octets, want 24 or 40", len(p.DistCAK.WrappedCAK))
		}
		if len(p.DistCAK.CKN) < 1 || len(p.DistCAK.CKN) > 32 {
			return nil, fmt.Errorf("mkpdu: marshal: distributed CAK: CKN is %d octets, want 1 to 32", len(p.DistCAK.CKN))
		}
		b = appendSetHeader(b, TypeDistributedCAK, 0, 0, n)
		b = append(b, p.DistCAK.WrappedCAK...)
		b = append(b, p.DistCAK.CKN...)
		b = pad(b, n)
	}
	if p.KMD != nil {
		if len(p.KMD.Name) > maxSetBodyLen {
			return nil, errors.New("mkpdu: marshal: KMD too long")
		}
		b = appendSetHeader(b, TypeKMD, 0, 0, len(p.KMD.Name))
		b = append(b, p.KMD.Name...)
		b = pad(b, len(p.KMD.Name))
	}
	if p.Announcement != nil {
		if b, err = p.Announcement.append(b); err != nil {
			return nil, err
		}
	}
	if p.XPN != nil {
		b = appendSetHeader(b, TypeXPN, p.XPN.SuspensionTime, 0, xpnBodyLen)
		b = binary.BigEndian.AppendUint32(b, p.XPN.LatestLowestPNHigh)
		b = binary.BigEndian.AppendUint32(b, p.XPN.OldLowestPNHigh)
	}
	for _, r := range p.Unknown {
		if knownType(r.Type) || r.Type == 0 {
			return nil, fmt.Errorf("mkpdu: marshal: raw parameter set of known type %d", r.Type)
		}
		if len(r.Body) > maxSetBodyLen || r.Bits > 15 {
			return nil, fmt.Errorf("mkpdu: marshal: raw parameter set type %d: body %d octets, bits %d", r.Type, len(r.Body), r.Bits)
		}
		b = appendSetHeader(b, r.Type, r.Octet, r.Bits, len(r.Body))
		b = append(b, r.Body...)
		b = pad(b, len(r.Body))
	}
	return b, nil
}

func knownType(t uint8) bool {
	return t >= TypeLivePeerList && t <= TypeXPN || t == TypeICVIndicator
}

func (s *Basic) append(b []byte) ([]byte, error) {
	if len(s.CKN) < 1 || len(s.CKN) > 32 {
		return nil, fmt.Errorf("mkpdu: marshal: basic parameter set: CKN is %d octets, want 1 to 32", len(s.CKN))
	}
	if s.MACsecCapability > 3 {
		return nil, fmt.Errorf("mkpdu: marshal: basic parameter set: MACsec capability %d does not fit 2 bits", s.MACsecCapability)
	}
	n := basicFixedLen + len(s.CKN)
	flags := b2u(s.KeyServer)<<7 | b2u(s.MACsecDesired)<<6 | s.MACsecCapability<<4
	b = append(b, s.Version, s.Priority, flags|byte(n>>8)&0x0f, byte(n))
	b = append(b, s.SCI[:]...)
	b = append(b, s.MI[:]...)
	b = binary.BigEndian.AppendUint32(b, s.MN)
	b = binary.BigEndian.AppendUint32(b, s.AlgAgility)
	b = append(b, s.CKN...)
	return pad(b, n), nil
}

func (s *SAKUse) append(b []byte) []byte {
	o2 := (s.LatestAN&3)<<6 | b2u(s.LatestTx)<<5 | b2u(s.LatestRx)<<4 |
		(s.OldAN&3)<<2 | b2u(s.OldTx)<<1 | b2u(s.OldRx)
	bits := b2u(s.PlainTx)<<3 | b2u(s.PlainRx)<<2 | b2u(s.DelayProtect)
	if s.Empty {
		return appendSetHeader(b, TypeSAKUse, o2, bits, 0)
	}
	b = appendSetHeader(b, TypeSAKUse, o2, bits, sakUseBodyLen)
	b = append(b, s.LatestKI.MI[:]...)
	b = binary.BigEndian.AppendUint32(b, s.LatestKI.KN)
	b = binary.BigEndian.AppendUint32(b, s.LatestLowestPN)
	b = append(b, s.OldKI.MI[:]...)
	b = binary.BigEndian.AppendUint32(b, s.OldKI.KN)
	return binary.BigEndian.AppendUint32(b, s.OldLowestPN)
}

func (d *DistSAK) append(b []byte) ([]byte, error) {
	if d.AN > 3 || d.ConfidentialityOffset > 3 {
		return nil, fmt.Errorf("mkpdu: marshal: distributed SAK: AN %d or confidentiality offset %d does not fit 2 bits", d.AN, d.ConfidentialityOffset)
	}
	o2 := d.AN<<6 | d.ConfidentialityOffset<<4
	if d.WrappedSAK == nil {
		return appendSetHeader(b, TypeDistributedSAK, o2, 0, 0), nil
	}
	w := len(d.WrappedSAK)
	if w < 24 || w%8 != 0 {
		return nil, fmt.Errorf("mkpdu: marshal: distributed SAK: wrapped SAK is %d octets, want 24, 40 or another multiple of 8", w)
	}
	if d.CipherSuite == 0 && w != 24 {
		return nil, fmt.Errorf("mkpdu: marshal: distributed SAK: the GCM-AES-128 form carries a 24-octet wrapped SAK, have %d", w)
	}
	n := 4 + w
	if d.CipherSuite != 0 {
		n += 8
	}
	b = appendSetHeader(b, TypeDistributedSAK, o2, 0, n)
	b = binary.BigEndian.AppendUint32(b, d.KeyNumber)
	if d.CipherSuite != 0 {
		b = binary.BigEndian.AppendUint64(b, uint64(d.CipherSuite))
	}
	return append(b, d.WrappedSAK...), nil
}

func (a *Announcement) append(b []byte) ([]byte, error) {
	hdr := len(b)
	b = appendSetHeader(b, TypeAnnouncement, 0, 0, 0)
	start := len(b)
	if a.CipherSuites != nil {
		n := len(a.CipherSuites) * suiteEntryLen
		if n > maxTLVLen {
			return nil, fmt.Errorf("mkpdu: marshal: announcement: %d cipher suites do not fit a TLV", len(a.CipherSuites))
		}
		b = append(b, TLVMACsecCipherSuites<<1|byte(n>>8)&1, byte(n))
		for _, c := range a.CipherSuites {
			if c.Capability > 3 {
				return nil, fmt.Errorf("mkpdu: marshal: announcement: capability %d does not fit 2 bits", c.Capability)
			}
			b = append(b, 0, c.Capability)
			b = binary.BigEndian.AppendUint64(b, uint64(c.ID))
		}
	}
	for _, t := range a.Other {
		if t.Type > 127 || len(t.Value) > maxTLVLen || t.Type == TLVMACsecCipherSuites {
			return nil, fmt.Errorf("mkpdu: marshal: announcement: TLV type %d with %d octets", t.Type, len(t.Value))
		}
		b = append(b, t.Type<<1|byte(len(t.Value)>>8)&1, byte(len(t.Value)))
		b = append(b, t.Value...)
	}
	n := len(b) - start
	if n > maxSetBodyLen {
		return nil, fmt.Errorf("mkpdu: marshal: announcement of %d octets does not fit", n)
	}
	b[hdr+2] = byte(n>>8) & 0x0f
	b[hdr+3] = byte(n)
	return pad(b, n), nil
}
