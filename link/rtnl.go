package link

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"

	"github.com/macsecd/macsecd/macsec"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Settings are a SecY's settings as the kernel holds them; the rtnetlink
// link attributes (IFLA_MACSEC_*) and the SecY part of the generic netlink
// dump (MACSEC_SECY_ATTR_*) report the same values.
type Settings struct {
	SCI           macsec.SCI
	CipherSuite   macsec.CipherSuite // the kernel's legacy GCM-AES-128 id is reported as macsec.GCMAES128
	ICVLen        uint8
	EncodingSA    macsec.AN
	Window        uint32 // replay window; the kernel reports it only while ReplayProtect is on
	Encrypt       bool
	Protect       bool
	IncludeSCI    bool // SC bit: send the SCI in every SecTAG
	ES            bool // end station bit
	SCB           bool // single copy broadcast bit
	ReplayProtect bool
	Validate      macsec.ValidateFrames
	Offload       Offload
}

// Link is an interface as rtnetlink reports it. Kind is "macsec" for the
// SecYs this package manages; Settings is filled for those only.
type Link struct {
	Index        int
	Name         string
	Kind         string
	Parent       int // ifindex of the lower device (IFLA_LINK), 0 if none
	HardwareAddr net.HardwareAddr
	MTU          uint32
	Up           bool // administratively up (IFF_UP)
	Settings
}

// LinkConfig describes a macsec interface to create.
//
// Every flag is sent explicitly, so the zero value of a field means off,
// not the kernel's default. Exceptions, which follow the kernel's defaults:
// ICVLen 0 means 16, CipherSuite 0 means GCM-AES-128, and a zero SCI means
// the interface's MAC address with Port (port 1 when Port is 0).
type LinkConfig struct {
	Name         string           // required
	Parent       string           // required: the wire-side interface
	HardwareAddr net.HardwareAddr // MAC address of the interface; nil: the parent's
	Port         uint16           // used only when Settings.SCI is zero
	Settings
}

// LinkChange lists the changes to a macsec interface; nil fields stay as
// they are.
//
// SCI, Port, ICVLen and CipherSuite are fixed at creation: the kernel
// refuses a change that carries them with EINVAL, which ChangeLink reports
// as an error matching ErrImmutable. They are here so that a caller asking
// for such a change gets that answer from the kernel itself.
type LinkChange struct {
	Window        *uint32
	EncodingSA    *macsec.AN
	Encrypt       *bool
	Protect       *bool
	IncludeSCI    *bool
	ES            *bool
	SCB           *bool
	ReplayProtect *bool
	Validate      *macsec.ValidateFrames
	Offload       *Offload

	SCI         *macsec.SCI
	Port        *uint16
	ICVLen      *uint8
	CipherSuite *macsec.CipherSuite
}

// CreateLink creates a macsec interface on cfg.Parent and returns it as
// the kernel reports it. The interface starts administratively down.
func (c *Conn) CreateLink(cfg LinkConfig) (*Link, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	const op = "create macsec interface"
	if cfg.Name == "" || cfg.Parent == "" {
		return nil, newInvalid(op, cfg.Name, "interface name and parent are required")
	}
	parent, err := c.getLink(0, cfg.Parent)
	if err != nil {
		return nil, opErr(op, cfg.Name, err, map[unix.Errno]string{unix.ENODEV: "no parent interface " + cfg.Parent})
	}
	encodeNewLink(&c.rt.enc, cfg, int32(parent.Index))
	if _, err := c.rt.do(); err != nil {
		return nil, opErr(op, cfg.Name+" on "+cfg.Parent, err, map[unix.Errno]string{
			unix.EEXIST:     "an interface with this name exists",
			unix.EBUSY:      "the parent already has a macsec interface with this SCI",
			unix.EOPNOTSUPP: "MACsec offload mode " + cfg.Offload.String() + " is not supported by " + cfg.Parent + ", or the kernel has no MACsec",
			unix.EINVAL:     "settings rejected (cipher suite, ICV length, replay protection without window, an explicit SCI without IncludeSCI, or conflicting IncludeSCI/ES/SCB)",
		})
	}
	l, err := c.getLink(0, cfg.Name)
	if err != nil {
		return nil, opErr("read back", cfg.Name, err, nil)
	}
	return l, nil
}

// encodeNewLink builds RTM_NEWLINK for cfg on the parent with ifindex
// parent.
func encodeNewLink(e *encoder, cfg LinkConfig, parent int32) {
	e.reset(unix.RTM_NEWLINK, uint16(netlink.Request|netlink.Acknowledge|netlink.Create|netlink.Excl))
	e.ifinfo(0, 0, 0)
	e.str(unix.IFLA_IFNAME, cfg.Name)
	e.u32(unix.IFLA_LINK, uint32(parent))
	if cfg.HardwareAddr != nil {
		e.attr(unix.IFLA_ADDRESS, cfg.HardwareAddr)
	}
	e.begin(unix.IFLA_LINKINFO)
	e.str(unix.IFLA_INFO_KIND, "macsec")
	e.begin(unix.IFLA_INFO_DATA)
	s := cfg.Settings
	if s.SCI != (macsec.SCI{}) {
		e.attr(iflaMacsecSCI, s.SCI[:])
	} else if cfg.Port != 0 {
		e.u16be(iflaMacsecPort, cfg.Port)
	}
	if s.ICVLen != 0 {
		e.u8(iflaMacsecICVLen, s.ICVLen)
	}
	cs := s.CipherSuite
	if cs == 0 {
		cs = macsec.GCMAES128
	}
	e.u64(iflaMacsecCipherSuite, uint64(cs))
	if s.ReplayProtect || s.Window != 0 {
		e.u32(iflaMacsecWindow, s.Window)
	}
	e.u8(iflaMacsecEncodingSA, uint8(s.EncodingSA))
	e.flag8(iflaMacsecEncrypt, s.Encrypt)
	e.flag8(iflaMacsecProtect, s.Protect)
	e.flag8(iflaMacsecIncSCI, s.IncludeSCI)
	e.flag8(iflaMacsecES, s.ES)
	e.flag8(iflaMacsecSCB, s.SCB)
	e.flag8(iflaMacsecReplayProtect, s.ReplayProtect)
	e.u8(iflaMacsecValidation, uint8(s.Validate))
	if s.Offload != OffloadOff {
		e.u8(iflaMacsecOffload, uint8(s.Offload))
	}
	e.end()
	e.end()
}

// ChangeLink applies ch to the macsec interface with the given index.
func (c *Conn) ChangeLink(index int, ch LinkChange) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	encodeChangeLink(&c.rt.enc, int32(index), ch)
	_, err := c.rt.do()
	if err == nil {
		return nil
	}
	if fixed := ch.immutable(); fixed != "" {
		var oe *netlink.OpError
		if errors.As(err, &oe) && oe.Err == unix.EINVAL {
			return &Error{Op: "change", Object: c.ifname(index), Kernel: oe.Message,
				Err: &immutableError{attrs: fixed, err: unix.EINVAL}}
		}
	}
	return opErr("change", c.ifname(index), err, map[unix.Errno]string{
		unix.ENODEV:     "no such interface",
		unix.EOPNOTSUPP: "the parent does not offload MACsec in this mode",
		unix.EBUSY:      "the offload mode changes only while the interface is down and has no SCs or SAs",
		unix.EINVAL:     "settings rejected (replay protection without window, XPN window above 2^30-1, AN above 3, or conflicting IncludeSCI/ES/SCB)",
	})
}

// immutable names the fixed attributes the change carries.
func (ch LinkChange) immutable() string {
	var s string
	add := func(present bool, name string) {
		if !present {
			return
		}
		if s != "" {
			s += ", "
		}
		s += name
	}
	add(ch.SCI != nil, "SCI")
	add(ch.Port != nil, "port")
	add(ch.ICVLen != nil, "ICV length")
	add(ch.CipherSuite != nil, "cipher suite")
	return s
}

func encodeChangeLink(e *encoder, index int32, ch LinkChange) {
	e.reset(unix.RTM_NEWLINK, uint16(netlink.Request|netlink.Acknowledge))
	e.ifinfo(index, 0, 0)
	e.begin(unix.IFLA_LINKINFO)
	e.str(unix.IFLA_INFO_KIND, "macsec")
	e.begin(unix.IFLA_INFO_DATA)
	if ch.SCI != nil {
		e.attr(iflaMacsecSCI, ch.SCI[:])
	}
	if ch.Port != nil {
		e.u16be(iflaMacsecPort, *ch.Port)
	}
	if ch.ICVLen != nil {
		e.u8(iflaMacsecICVLen, *ch.ICVLen)
	}
	if ch.CipherSuite != nil {
		e.u64(iflaMacsecCipherSuite, uint64(*ch.CipherSuite))
	}
	if ch.Window != nil {
		e.u32(iflaMacsecWindow, *ch.Window)
	}
	if ch.EncodingSA != nil {
		e.u8(iflaMacsecEncodingSA, uint8(*ch.EncodingSA))
	}
	flags := []struct {
		typ uint16
		v   *bool
	}{
		{iflaMacsecEncrypt, ch.Encrypt},
		{iflaMacsecProtect, ch.Protect},
		{iflaMacsecIncSCI, ch.IncludeSCI},
		{iflaMacsecES, ch.ES},
		{iflaMacsecSCB, ch.SCB},
		{iflaMacsecReplayProtect, ch.ReplayProtect},
	}
	for _, f := range flags {
		if f.v != nil {
			e.flag8(f.typ, *f.v)
		}
	}
	if ch.Validate != nil {
		e.u8(iflaMacsecValidation, uint8(*ch.Validate))
	}
	if ch.Offload != nil {
		e.u8(iflaMacsecOffload, uint8(*ch.Offload))
	}
	e.end()
	e.end()
}

// DeleteLink deletes the interface with the given index, and with it all
// its SCs and SAs (the kernel zeroes their keys).
func (c *Conn) DeleteLink(index int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	name := c.ifname(index)
	e := &c.rt.enc
	e.reset(unix.RTM_DELLINK, uint16(netlink.Request|netlink.Acknowledge))
	e.ifinfo(int32(index), 0, 0)
	_, err := c.rt.do()
	return opErr("delete", name, err, map[unix.Errno]string{unix.ENODEV: "no such interface"})
}

// SetUp sets the interface administratively up or down. For a macsec
// interface this is the Controlled Port: while down, no user frames pass.
func (c *Conn) SetUp(index int, up bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var flags uint32
	if up {
		flags = unix.IFF_UP
	}
	e := &c.rt.enc
	e.reset(unix.RTM_NEWLINK, uint16(netlink.Request|netlink.Acknowledge))
	e.ifinfo(int32(index), flags, unix.IFF_UP)
	_, err := c.rt.do()
	op := "set down"
	if up {
		op = "set up"
	}
	return opErr(op, c.ifname(index), err, map[unix.Errno]string{unix.ENODEV: "no such interface"})
}

// LinkByName returns the interface with the given name.
func (c *Conn) LinkByName(name string) (*Link, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, err := c.getLink(0, name)
	return l, opErr("get link", name, err, map[unix.Errno]string{unix.ENODEV: "no such interface"})
}

// LinkByIndex returns the interface with the given index.
func (c *Conn) LinkByIndex(index int) (*Link, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, err := c.getLink(index, "")
	return l, opErr("get link", fmt.Sprintf("ifindex %d", index), err, map[unix.Errno]string{unix.ENODEV: "no such interface"})
}

// getLink asks for one interface by index or, if index is 0, by name.
// c.mu must be held.
func (c *Conn) getLink(index int, name string) (*Link, error) {
	e := &c.rt.enc
	e.reset(unix.RTM_GETLINK, uint16(netlink.Request|netlink.Acknowledge))
	e.ifinfo(int32(index), 0, 0)
	if index == 0 {
		e.str(unix.IFLA_IFNAME, name)
	}
	msgs, err := c.rt.do()
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		if m.Header.Type == unix.RTM_NEWLINK {
			return parseLink(m.Data)
		}
	}
	return nil, fmt.Errorf("no RTM_NEWLINK in the reply")
}

// parseLink decodes the body of an RTM_NEWLINK message (struct ifinfomsg
// and attributes).
func parseLink(b []byte) (*Link, error) {
	if len(b) < ifinfoLen {
		return nil, fmt.Errorf("parse link: message of %d octets is shorter than struct ifinfomsg", len(b))
	}
	l := &Link{
		Index: int(int32(binary.NativeEndian.Uint32(b[4:]))),
		Up:    binary.NativeEndian.Uint32(b[8:])&unix.IFF_UP != 0,
	}
	ad, err := netlink.NewAttributeDecoder(b[ifinfoLen:])
	if err != nil {
		return nil, fmt.Errorf("parse link: %w", err)
	}
	var info []byte
	for ad.Next() {
		switch ad.Type() {
		case unix.IFLA_IFNAME:
			l.Name = ad.String()
		case unix.IFLA_LINK:
			l.Parent = int(ad.Uint32())
		case unix.IFLA_MTU:
			l.MTU = ad.Uint32()
		case unix.IFLA_ADDRESS:
			l.HardwareAddr = net.HardwareAddr(append([]byte(nil), ad.Bytes()...))
		case unix.IFLA_LINKINFO:
			info = ad.Bytes()
		}
	}
	if err := ad.Err(); err != nil {
		return nil, fmt.Errorf("parse link: %w", err)
	}
	if info == nil {
		return l, nil
	}
	var data []byte
	ad, err = netlink.NewAttributeDecoder(info)
	if err != nil {
		return nil, fmt.Errorf("parse link info: %w", err)
	}
	for ad.Next() {
		switch ad.Type() {
		case unix.IFLA_INFO_KIND:
			l.Kind = ad.String()
		case unix.IFLA_INFO_DATA:
			data = ad.Bytes()
		}
	}
	if err := ad.Err(); err != nil {
		return nil, fmt.Errorf("parse link info: %w", err)
	}
	if l.Kind != "macsec" || data == nil {
		return l, nil
	}
	ad, err = netlink.NewAttributeDecoder(data)
	if err == nil {
		err = decodeSettings(ad, linkSettingsAttrs, &l.Settings, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("parse link %s: %w", l.Name, err)
	}
	return l, nil
}

// sciAttr decodes an SCI attribute: the kernel puts the big-endian SCI in
// a u64 as is, so the attribute's octets are the SCI's.
func sciAttr(b []byte) (macsec.SCI, error) {
	var s macsec.SCI
	if len(b) != len(s) {
		return s, fmt.Errorf("SCI attribute of %d octets, want 8", len(b))
	}
	copy(s[:], b)
	return s, nil
}
