package link

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/macsecd/macsecd/macsec"
	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// State is one SecY as the kernel's MACSEC_CMD_GET_TXSC dump reports it:
// settings, the transmit SC and its SAs, the receive SCs and their SAs,
// and every counter. Keys are never reported; key identifiers are.
type State struct {
	Index       int // ifindex of the macsec interface
	Settings        // Offload comes from MACSEC_ATTR_OFFLOAD
	Operational bool
	TxSAs       []TxSA
	TxSCStats   macsec.TxSCStats
	SecYStats   macsec.SecYStats
	RxSCs       []RxSC
}

// TxSA is a transmit SA in the dump.
type TxSA struct {
	AN     macsec.AN
	Active bool
	NextPN uint64
	KeyID  macsec.KeyID
	SSCI   uint32 // XPN only
	Stats  macsec.TxSAStats
}

// RxSC is a receive SC in the dump.
type RxSC struct {
	SCI    macsec.SCI
	Active bool
	SAs    []RxSA
	Stats  macsec.RxSCStats
}

// RxSA is a receive SA in the dump.
type RxSA struct {
	AN     macsec.AN
	Active bool
	NextPN uint64 // next expected PN
	KeyID  macsec.KeyID
	SSCI   uint32 // XPN only
	Stats  macsec.RxSAStats
}

// TxSA returns the transmit SA with the given AN, or nil.
func (s *State) TxSA(an macsec.AN) *TxSA {
	for i := range s.TxSAs {
		if s.TxSAs[i].AN == an {
			return &s.TxSAs[i]
		}
	}
	return nil
}

// RxSC returns the receive SC with the given SCI, or nil.
func (s *State) RxSC(sci macsec.SCI) *RxSC {
	for i := range s.RxSCs {
		if s.RxSCs[i].SCI == sci {
			return &s.RxSCs[i]
		}
	}
	return nil
}

// RxSA returns the receive SA with the given AN, or nil.
func (sc *RxSC) RxSA(an macsec.AN) *RxSA {
	for i := range sc.SAs {
		if sc.SAs[i].AN == an {
			return &sc.SAs[i]
		}
	}
	return nil
}

// dumpRetries bounds the retries of a dump that the kernel marks
// inconsistent (NLM_F_DUMP_INTR: a macsec interface came or went while the
// dump ran).
const dumpRetries = 10

// ErrDumpInterrupted is returned when every retry of a dump was
// interrupted by concurrent changes.
var ErrDumpInterrupted = errors.New("link: macsec dump interrupted by concurrent changes on every retry")

// Dump returns the state of every macsec interface in the Conn's network
// namespace.
func (c *Conn) Dump() ([]State, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dump()
}

// State returns the state of one macsec interface. The kernel dumps all of
// them; this picks the one with the given index.
func (c *Conn) State(index int) (*State, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	all, err := c.dump()
	if err != nil {
		return nil, err
	}
	for i := range all {
		if all[i].Index == index {
			return &all[i], nil
		}
	}
	return nil, &Error{Op: "dump", Object: c.ifname(index), Reason: "not a macsec interface", Err: unix.ENODEV}
}

func (c *Conn) dump() ([]State, error) {
	for try := 0; try < dumpRetries; try++ {
		c.genl(cmdGetTxSC, netlink.Request|netlink.Dump)
		msgs, err := c.gn.do()
		if err != nil {
			return nil, opErr("dump", "macsec SecYs", err, nil)
		}
		states, interrupted, err := parseDump(msgs)
		if err != nil {
			return nil, &Error{Op: "dump", Object: "macsec SecYs", Err: err}
		}
		if !interrupted {
			return states, nil
		}
		c.dumpsInterrupted++
	}
	return nil, ErrDumpInterrupted
}

// parseDump decodes the messages of a GET_TXSC dump. interrupted reports
// NLM_F_DUMP_INTR on any of them: the caller must dump again.
func parseDump(msgs []netlink.Message) (states []State, interrupted bool, err error) {
	for _, m := range msgs {
		if m.Header.Flags&netlink.DumpInterrupted != 0 {
			interrupted = true
		}
		var gm genetlink.Message
		if err := gm.UnmarshalBinary(m.Data); err != nil {
			return nil, false, fmt.Errorf("parse dump: %w", err)
		}
		if gm.Header.Command != cmdGetTxSC {
			return nil, false, fmt.Errorf("parse dump: unexpected command %d", gm.Header.Command)
		}
		st, err := parseSecYMsg(gm.Data)
		if err != nil {
			return nil, false, fmt.Errorf("parse dump: %w", err)
		}
		states = append(states, *st)
	}
	return states, interrupted, nil
}

// parseSecYMsg decodes the attributes of one dump message.
func parseSecYMsg(b []byte) (*State, error) {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return nil, err
	}
	st := &State{}
	var haveIndex, haveSecY bool
	for ad.Next() {
		switch ad.Type() {
		case attrIfindex:
			st.Index = int(ad.Uint32())
			haveIndex = true
		case attrOffload:
			ad.Nested(func(nad *netlink.AttributeDecoder) error {
				for nad.Next() {
					if nad.Type() == offloadAttrType {
						st.Offload = Offload(nad.Uint8())
					}
				}
				return nad.Err()
			})
		case attrSecY:
			haveSecY = true
			ad.Nested(func(nad *netlink.AttributeDecoder) error {
				return decodeSettings(nad, secySettingsAttrs, &st.Settings, &st.Operational)
			})
		case attrTxSCStats:
			ad.Nested(func(nad *netlink.AttributeDecoder) error { return parseTxSCStats(nad, &st.TxSCStats) })
		case attrSecYStats:
			ad.Nested(func(nad *netlink.AttributeDecoder) error { return parseSecYStats(nad, &st.SecYStats) })
		case attrTxSAList:
			ad.Nested(func(list *netlink.AttributeDecoder) error {
				for list.Next() {
					var sa TxSA
					list.Nested(func(nad *netlink.AttributeDecoder) error {
						return parseSA(nad, &sa.AN, &sa.Active, &sa.NextPN, &sa.KeyID, &sa.SSCI, func(sd *netlink.AttributeDecoder) error {
							return parseTxSAStats(sd, &sa.Stats)
						})
					})
					st.TxSAs = append(st.TxSAs, sa)
				}
				return list.Err()
			})
		case attrRxSCList:
			ad.Nested(func(list *netlink.AttributeDecoder) error {
				for list.Next() {
					var sc RxSC
					list.Nested(func(nad *netlink.AttributeDecoder) error { return parseRxSC(nad, &sc) })
					st.RxSCs = append(st.RxSCs, sc)
				}
				return list.Err()
			})
		}
	}
	if err := ad.Err(); err != nil {
		return nil, err
	}
	if !haveIndex || !haveSecY {
		return nil, fmt.Errorf("SecY message without MACSEC_ATTR_IFINDEX or MACSEC_ATTR_SECY")
	}
	return st, nil
}

// parseSA decodes the attributes common to TX and RX SAs in the dump.
func parseSA(ad *netlink.AttributeDecoder, an *macsec.AN, active *bool, pn *uint64, keyID *macsec.KeyID, ssci *uint32, stats func(*netlink.AttributeDecoder) error) error {
	for ad.Next() {
		switch ad.Type() {
		case saAttrAN:
			*an = macsec.AN(ad.Uint8())
		case saAttrActive:
			*active = ad.Uint8() != 0
		case saAttrPN:
			// 4 octets, or 8 on an XPN SecY.
			v, err := uintAttr(ad.Bytes(), pnLen, xpnPNLen)
			if err != nil {
				return fmt.Errorf("PN: %w", err)
			}
			*pn = v
		case saAttrKeyID:
			b := ad.Bytes()
			if len(b) != keyIDLen {
				return fmt.Errorf("key identifier of %d octets, want %d", len(b), keyIDLen)
			}
			copy(keyID[:], b)
		case saAttrSSCI:
			// Network byte order: the octets of the IV (see SA.SSCI).
			b := ad.Bytes()
			if len(b) != 4 {
				return fmt.Errorf("SSCI of %d octets, want 4", len(b))
			}
			*ssci = binary.BigEndian.Uint32(b)
		case saAttrStats:
			ad.Nested(stats)
		}
	}
	return ad.Err()
}

func parseRxSC(ad *netlink.AttributeDecoder, sc *RxSC) error {
	for ad.Next() {
		switch ad.Type() {
		case rxscAttrSCI:
			sci, err := sciAttr(ad.Bytes())
			if err != nil {
				return err
			}
			sc.SCI = sci
		case rxscAttrActive:
			sc.Active = ad.Uint8() != 0
		case rxscAttrStats:
			ad.Nested(func(nad *netlink.AttributeDecoder) error { return parseRxSCStats(nad, &sc.Stats) })
		case rxscAttrSAList:
			ad.Nested(func(list *netlink.AttributeDecoder) error {
				for list.Next() {
					var sa RxSA
					list.Nested(func(nad *netlink.AttributeDecoder) error {
						return parseSA(nad, &sa.AN, &sa.Active, &sa.NextPN, &sa.KeyID, &sa.SSCI, func(sd *netlink.AttributeDecoder) error {
							return parseRxSAStats(sd, &sa.Stats)
						})
					})
					sc.SAs = append(sc.SAs, sa)
				}
				return list.Err()
			})
		}
	}
	return ad.Err()
}

// counters decodes a nest of counters into the fields fields[type]. The
// kernel sends u64 (SecY, TX SC, RX SC) or u32 (SA) counters; both are
// accepted so that a future widening does not break parsing.
func counters(ad *netlink.AttributeDecoder, fields map[uint16]*uint64) error {
	for ad.Next() {
		f, ok := fields[ad.Type()]
		if !ok {
			continue // padding or a counter newer than this package
		}
		v, err := uintAttr(ad.Bytes(), 4, 8)
		if err != nil {
			return fmt.Errorf("counter %d: %w", ad.Type(), err)
		}
		*f = v
	}
	return ad.Err()
}

func parseSecYStats(ad *netlink.AttributeDecoder, s *macsec.SecYStats) error {
	return counters(ad, map[uint16]*uint64{
		secyStatsOutPktsUntagged:  &s.OutPktsUntagged,
		secyStatsInPktsUntagged:   &s.InPktsUntagged,
		secyStatsOutPktsTooLong:   &s.OutPktsTooLong,
		secyStatsInPktsNoTag:      &s.InPktsNoTag,
		secyStatsInPktsBadTag:     &s.InPktsBadTag,
		secyStatsInPktsUnknownSCI: &s.InPktsUnknownSCI,
		secyStatsInPktsNoSCI:      &s.InPktsNoSCI,
		secyStatsInPktsOverrun:    &s.InPktsOverrun,
	})
}

func parseTxSCStats(ad *netlink.AttributeDecoder, s *macsec.TxSCStats) error {
	return counters(ad, map[uint16]*uint64{
		txscStatsOutPktsProtected:   &s.OutPktsProtected,
		txscStatsOutPktsEncrypted:   &s.OutPktsEncrypted,
		txscStatsOutOctetsProtected: &s.OutOctetsProtected,
		txscStatsOutOctetsEncrypted: &s.OutOctetsEncrypted,
	})
}

func parseRxSCStats(ad *netlink.AttributeDecoder, s *macsec.RxSCStats) error {
	return counters(ad, map[uint16]*uint64{
		rxscStatsInOctetsValidated: &s.InOctetsValidated,
		rxscStatsInOctetsDecrypted: &s.InOctetsDecrypted,
		rxscStatsInPktsUnchecked:   &s.InPktsUnchecked,
		rxscStatsInPktsDelayed:     &s.InPktsDelayed,
		rxscStatsInPktsOK:          &s.InPktsOK,
		rxscStatsInPktsInvalid:     &s.InPktsInvalid,
		rxscStatsInPktsLate:        &s.InPktsLate,
		rxscStatsInPktsNotValid:    &s.InPktsNotValid,
		rxscStatsInPktsNotUsingSA:  &s.InPktsNotUsingSA,
		rxscStatsInPktsUnusedSA:    &s.InPktsUnusedSA,
	})
}

func parseTxSAStats(ad *netlink.AttributeDecoder, s *macsec.TxSAStats) error {
	return counters(ad, map[uint16]*uint64{
		saStatsOutPktsProtected: &s.OutPktsProtected,
		saStatsOutPktsEncrypted: &s.OutPktsEncrypted,
	})
}

func parseRxSAStats(ad *netlink.AttributeDecoder, s *macsec.RxSAStats) error {
	return counters(ad, map[uint16]*uint64{
		saStatsInPktsOK:         &s.InPktsOK,
		saStatsInPktsInvalid:    &s.InPktsInvalid,
		saStatsInPktsNotValid:   &s.InPktsNotValid,
		saStatsInPktsNotUsingSA: &s.InPktsNotUsingSA,
		saStatsInPktsUnusedSA:   &s.InPktsUnusedSA,
	})
}

// uintAttr decodes a native-endian unsigned integer of one of the allowed
// lengths.
func uintAttr(b []byte, lens ...int) (uint64, error) {
	for _, n := range lens {
		if len(b) != n {
			continue
		}
		switch n {
		case 1:
			return uint64(b[0]), nil
		case 2:
			return uint64(binary.NativeEndian.Uint16(b)), nil
		case 4:
			return uint64(binary.NativeEndian.Uint32(b)), nil
		case 8:
			return binary.NativeEndian.Uint64(b), nil
		}
	}
	return 0, fmt.Errorf("%d octets, want one of %v", len(b), lens)
}
