package link

import "fmt"

// Offload is where the kernel runs a SecY's data plane: in software, or in
// the PHY or MAC of the parent device (enum macsec_offload,
// include/uapi/linux/if_link.h).
type Offload uint8

// Offload modes; the numbers are the kernel's MACSEC_OFFLOAD_*.
const (
	OffloadOff Offload = 0 // MACSEC_OFFLOAD_OFF: software MACsec
	OffloadPHY Offload = 1 // MACSEC_OFFLOAD_PHY
	OffloadMAC Offload = 2 // MACSEC_OFFLOAD_MAC
)

// String returns the iproute2 spelling: "off", "phy" or "mac".
func (o Offload) String() string {
	switch o {
	case OffloadOff:
		return "off"
	case OffloadPHY:
		return "phy"
	case OffloadMAC:
		return "mac"
	}
	return fmt.Sprintf("offload-%d", uint8(o))
}

// ParseOffload accepts "off", "phy" and "mac".
func ParseOffload(s string) (Offload, error) {
	for _, o := range []Offload{OffloadOff, OffloadPHY, OffloadMAC} {
		if s == o.String() {
			return o, nil
		}
	}
	return 0, fmt.Errorf("link: unknown offload mode %q (want off, phy or mac)", s)
}
