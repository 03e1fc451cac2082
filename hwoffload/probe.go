package hwoffload

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/macsecd/macsecd/link"
	"golang.org/x/sys/unix"
)

// ProbeOffload fills the MAC and PHY fields of c for parent; the caller
// fills Kernel and Userspace from its own probes. conn may be nil when the
// kernel has no MACsec, in which case PHY is reported absent.
func (c *Capabilities) ProbeOffload(conn *link.Conn, parent string) {
	c.MAC, c.MACWhy = ProbeMAC(parent)
	c.PHY, c.PHYWhy = ProbePHY(conn, parent)
}

// ProbeMAC reports whether the MAC of parent offloads MACsec: the ethtool
// feature macsec-hw-offload (NETIF_F_HW_MACSEC), which the kernel also
// requires before it accepts offload mac. why says what was seen.
func ProbeMAC(parent string) (ok bool, why string) {
	f, err := ReadFeatures(parent)
	if err != nil {
		return false, fmt.Sprintf("cannot read the ethtool features of %s: %v", parent, err)
	}
	if _, named := f.Changeable[FeatureMACsecOffload]; !named && !f.On(FeatureMACsecOffload) {
		return false, fmt.Sprintf("the kernel does not know the ethtool feature %s", FeatureMACsecOffload)
	}
	state := "off"
	if f.On(FeatureMACsecOffload) {
		state = "on"
	}
	if f.Fixed(FeatureMACsecOffload) {
		state += " [fixed]"
	}
	return f.On(FeatureMACsecOffload), fmt.Sprintf("ethtool feature %s is %s on %s", FeatureMACsecOffload, state, parent)
}

// probePort is the SCI port of the scratch SecY, so that it never collides
// with a SecY using the parent's address and the usual port 1 (the kernel
// answers EBUSY to a second SecY with the same SCI on one parent).
const probePort = 0xfffe

// ProbePHY reports whether the PHY of parent offloads MACsec. PHYs have no
// feature flag, so it creates a scratch macsec interface with offload phy
// on parent and deletes it again: the kernel answers EOPNOTSUPP when the
// parent has no PHY with MACsec operations. The scratch interface is down
// and has no SAs, so no frame is sent or accepted meanwhile.
func ProbePHY(conn *link.Conn, parent string) (ok bool, why string) {
	if conn == nil {
		return false, "no kernel MACsec to try offload phy through"
	}
	name, err := scratchName()
	if err != nil {
		return false, fmt.Sprintf("cannot name a scratch interface: %v", err)
	}
	l, err := conn.CreateLink(link.LinkConfig{
		Name:     name,
		Parent:   parent,
		Port:     probePort,
		Settings: link.Settings{Offload: link.OffloadPHY},
	})
	switch {
	case errors.Is(err, unix.EOPNOTSUPP):
		return false, fmt.Sprintf("%s has no PHY that offloads MACsec (a scratch SecY with offload phy got EOPNOTSUPP)", parent)
	case err != nil:
		return false, fmt.Sprintf("trying offload phy on %s: %v", parent, err)
	}
	if err := conn.DeleteLink(l.Index); err != nil {
		return true, fmt.Sprintf("%s accepted a scratch SecY with offload phy, but deleting the scratch interface %s failed: %v", parent, name, err)
	}
	return true, fmt.Sprintf("%s accepted a scratch SecY with offload phy", parent)
}

// scratchName returns an unused-looking interface name of at most 15
// octets (IFNAMSIZ-1).
func scratchName() (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "msprobe" + hex.EncodeToString(b[:]), nil
}
