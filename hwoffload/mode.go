package hwoffload

import "fmt"

// Mode is the offload mode of a SecY. The numbers are the kernel's enum
// macsec_offload (include/uapi/linux/if_link.h), so a Mode goes into
// IFLA_MACSEC_OFFLOAD and MACSEC_OFFLOAD_ATTR_TYPE unchanged.
type Mode uint8

// Offload modes.
const (
	Off Mode = 0 // MACSEC_OFFLOAD_OFF: software kernel MACsec
	PHY Mode = 1 // MACSEC_OFFLOAD_PHY: the PHY encrypts
	MAC Mode = 2 // MACSEC_OFFLOAD_MAC: the NIC's MAC encrypts
)

// String returns the name iproute2 and macsecctl use: off, phy or mac.
func (m Mode) String() string {
	switch m {
	case Off:
		return "off"
	case PHY:
		return "phy"
	case MAC:
		return "mac"
	}
	return fmt.Sprintf("offload-%d", uint8(m))
}

// ParseMode parses "off", "phy" or "mac".
func ParseMode(s string) (Mode, error) {
	for _, m := range []Mode{Off, PHY, MAC} {
		if s == m.String() {
			return m, nil
		}
	}
	return 0, fmt.Errorf("hwoffload: unknown offload mode %q (want off, phy or mac)", s)
}
