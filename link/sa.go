package link

import (
	"fmt"
	"math"

	"github.com/macsecd/macsecd/macsec"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// SA is a secure association to install, transmit or receive.
//
// The Conn copies Key only into its own request buffer and zeroes that
// buffer as soon as the message is sent; the caller owns Key and zeroes it
// (macsec.SAK.Zero) when done.
type SA struct {
	AN     macsec.AN
	Active bool   // in use from the start
	PN     uint64 // TX: next PN to send; RX: lowest acceptable PN. Must not be 0.
	// XPN sends the PN as 8 octets and adds SSCI and Salt; it must match
	// the SecY's cipher suite (the kernel answers EINVAL otherwise).
	XPN   bool
	Key   []byte // the SAK, 16 or 32 octets as the cipher suite says
	KeyID macsec.KeyID
	// SSCI (XPN only) is the transmitter's short SCI. The kernel copies
	// the attribute's octets into the IV (ssci_t), so it is sent in
	// network byte order. (iproute2's "ssci N" sends host order: on
	// little-endian machines it sets the IV's SSCI to the octets of N
	// reversed, which interoperates only with itself.)
	SSCI uint32

	Salt macsec.Salt // XPN only
}

// SAUpdate changes a secure association in place. PN 0 and a nil Active
// leave the value as it is.
type SAUpdate struct {
	AN     macsec.AN
	Active *bool
	PN     uint64
	XPN    bool // PN is 8 octets (XPN cipher suites)
}

// Reasons for the errnos of the family's SC and SA commands
// (drivers/net/macsec.c).
var (
	addSAReasons = map[unix.Errno]string{
		unix.EBUSY:  "association number already in use",
		unix.ENODEV: "no such macsec interface or RX SC",
		unix.EINVAL: "key, PN, SSCI or salt does not match the SecY's cipher suite, or PN is 0",
	}
	updSAReasons = map[unix.Errno]string{
		unix.ENODEV: "no such macsec interface, RX SC or SA",
		unix.EINVAL: "PN length does not match the SecY's cipher suite, or PN is 0",
	}
	delSAReasons = map[unix.Errno]string{
		unix.EBUSY:  "the SA is active: deactivate it first",
		unix.ENODEV: "no such macsec interface, RX SC or SA",
	}
	rxscReasons = map[unix.Errno]string{
		unix.EEXIST: "the RX SC exists",
		unix.ENODEV: "no such macsec interface or RX SC",
	}
	offloadReasons = map[unix.Errno]string{
		unix.EBUSY:      "the offload mode changes only while the interface is down and has no SCs or SAs",
		unix.ENODEV:     "no such macsec interface",
		unix.EOPNOTSUPP: "the parent device does not offload MACsec in this mode",
	}
)

// AddRxSC creates the receive SC for sci on the interface.
func (c *Conn) AddRxSC(index int, sci macsec.SCI, active bool) error {
	return c.rxsc(cmdAddRxSC, "add RX SC", index, sci, &active)
}

// UpdateRxSC turns a receive SC on or off.
func (c *Conn) UpdateRxSC(index int, sci macsec.SCI, active bool) error {
	return c.rxsc(cmdUpdRxSC, "update RX SC", index, sci, &active)
}

// DeleteRxSC deletes a receive SC and its SAs.
func (c *Conn) DeleteRxSC(index int, sci macsec.SCI) error {
	return c.rxsc(cmdDelRxSC, "delete RX SC", index, sci, nil)
}

func (c *Conn) rxsc(cmd uint8, op string, index int, sci macsec.SCI, active *bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	encodeRxSC(c.genl(cmd, netlink.Request|netlink.Acknowledge), index, sci, active)
	_, err := c.gn.do()
	return c.saErr(op, index, &sci, nil, err, rxscReasons)
}

func encodeRxSC(e *encoder, index int, sci macsec.SCI, active *bool) {
	e.u32(attrIfindex, uint32(index))
	e.begin(attrRxSCConfig)
	e.attr(rxscAttrSCI, sci[:])
	if active != nil {
		e.flag8(rxscAttrActive, *active)
	}
	e.end()
}

// AddTxSA installs a transmit SA.
func (c *Conn) AddTxSA(index int, sa *SA) error {
	return c.addSA(cmdAddTxSA, "add TX SA", index, nil, sa)
}

// AddRxSA installs a receive SA in the receive SC sci.
func (c *Conn) AddRxSA(index int, sci macsec.SCI, sa *SA) error {
	return c.addSA(cmdAddRxSA, "add RX SA", index, &sci, sa)
}

func (c *Conn) addSA(cmd uint8, op string, index int, sci *macsec.SCI, sa *SA) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if sa == nil {
		return c.saErr(op, index, sci, nil, unix.EINVAL, map[unix.Errno]string{unix.EINVAL: "no SA given"})
	}
	if !sa.AN.Valid() {
		return c.saErr(op, index, sci, &sa.AN, unix.EINVAL, map[unix.Errno]string{unix.EINVAL: "association number above 3"})
	}
	if !sa.XPN && sa.PN > math.MaxUint32 {
		return c.saErr(op, index, sci, &sa.AN, unix.EINVAL, map[unix.Errno]string{unix.EINVAL: "PN above 2^32-1 needs an XPN cipher suite"})
	}
	if len(sa.Key) > maxKeyLen {
		return c.saErr(op, index, sci, &sa.AN, unix.EINVAL, map[unix.Errno]string{unix.EINVAL: "key longer than 128 octets"})
	}
	encodeAddSA(c.genl(cmd, netlink.Request|netlink.Acknowledge), index, sci, sa)
	_, err := c.gn.do() // zeroes the request buffer, key included
	return c.saErr(op, index, sci, &sa.AN, err, addSAReasons)
}

func encodeAddSA(e *encoder, index int, sci *macsec.SCI, sa *SA) {
	e.u32(attrIfindex, uint32(index))
	if sci != nil {
		e.begin(attrRxSCConfig)
		e.attr(rxscAttrSCI, sci[:])
		e.end()
	}
	e.begin(attrSAConfig)
	e.u8(saAttrAN, uint8(sa.AN))
	pnAttr(e, sa.PN, sa.XPN)
	if sa.XPN {
		e.u32be(saAttrSSCI, sa.SSCI)
		e.attr(saAttrSalt, sa.Salt[:])
	}
	e.attr(saAttrKeyID, sa.KeyID[:])
	e.attr(saAttrKey, sa.Key)
	e.flag8(saAttrActive, sa.Active)
	e.end()
}

// pnAttr encodes MACSEC_SA_ATTR_PN in the length the kernel requires:
// exactly 4 octets, or 8 on an XPN SecY.
func pnAttr(e *encoder, pn uint64, xpn bool) {
	if xpn {
		e.u64(saAttrPN, pn)
	} else {
		e.u32(saAttrPN, uint32(pn))
	}
}

// UpdateTxSA changes a transmit SA's next PN or activity.
func (c *Conn) UpdateTxSA(index int, u SAUpdate) error {
	return c.updSA(cmdUpdTxSA, "update TX SA", index, nil, u)
}

// UpdateRxSA changes a receive SA's lowest acceptable PN or activity.
func (c *Conn) UpdateRxSA(index int, sci macsec.SCI, u SAUpdate) error {
	return c.updSA(cmdUpdRxSA, "update RX SA", index, &sci, u)
}

func (c *Conn) updSA(cmd uint8, op string, index int, sci *macsec.SCI, u SAUpdate) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !u.XPN && u.PN > math.MaxUint32 {
		return c.saErr(op, index, sci, &u.AN, unix.EINVAL, map[unix.Errno]string{unix.EINVAL: "PN above 2^32-1 needs an XPN cipher suite"})
	}
	encodeUpdSA(c.genl(cmd, netlink.Request|netlink.Acknowledge), index, sci, u)
	_, err := c.gn.do()
	return c.saErr(op, index, sci, &u.AN, err, updSAReasons)
}

func encodeUpdSA(e *encoder, index int, sci *macsec.SCI, u SAUpdate) {
	e.u32(attrIfindex, uint32(index))
	if sci != nil {
		e.begin(attrRxSCConfig)
		e.attr(rxscAttrSCI, sci[:])
		e.end()
	}
	e.begin(attrSAConfig)
	e.u8(saAttrAN, uint8(u.AN))
	if u.PN != 0 {
		pnAttr(e, u.PN, u.XPN)
	}
	if u.Active != nil {
		e.flag8(saAttrActive, *u.Active)
	}
	e.end()
}

// DeleteTxSA deletes an inactive transmit SA; the kernel zeroes its key.
func (c *Conn) DeleteTxSA(index int, an macsec.AN) error {
	return c.delSA(cmdDelTxSA, "delete TX SA", index, nil, an)
}

// DeleteRxSA deletes an inactive receive SA; the kernel zeroes its key.
func (c *Conn) DeleteRxSA(index int, sci macsec.SCI, an macsec.AN) error {
	return c.delSA(cmdDelRxSA, "delete RX SA", index, &sci, an)
}

func (c *Conn) delSA(cmd uint8, op string, index int, sci *macsec.SCI, an macsec.AN) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	encodeUpdSA(c.genl(cmd, netlink.Request|netlink.Acknowledge), index, sci, SAUpdate{AN: an})
	_, err := c.gn.do()
	return c.saErr(op, index, sci, &an, err, delSAReasons)
}

// UpdateOffload moves a SecY between software and PHY or MAC offload. The
// kernel allows this only while the interface is down and has no SCs or
// SAs (EBUSY otherwise), and only to a mode the parent supports
// (EOPNOTSUPP otherwise).
func (c *Conn) UpdateOffload(index int, mode Offload) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.genl(cmdUpdOffload, netlink.Request|netlink.Acknowledge)
	e.u32(attrIfindex, uint32(index))
	e.begin(attrOffload)
	e.u8(offloadAttrType, uint8(mode))
	e.end()
	_, err := c.gn.do()
	if err == nil {
		return nil
	}
	return opErr("set offload "+mode.String(), c.ifname(index), err, offloadReasons)
}

// saErr builds the error of an SC or SA command. c.mu must be held.
func (c *Conn) saErr(op string, index int, sci *macsec.SCI, an *macsec.AN, err error, reasons map[unix.Errno]string) error {
	if err == nil {
		return nil
	}
	obj := c.ifname(index)
	if sci != nil {
		obj = sciObj(obj, *sci)
	}
	if an != nil {
		obj += fmt.Sprintf(" AN %d", *an)
	}
	return opErr(op, obj, err, reasons)
}
