package hwoffload

import (
	"errors"
	"fmt"
	"sort"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// FeatureMACsecOffload is the ethtool name of NETIF_F_HW_MACSEC
// (net/ethtool/common.c): set on a device whose MAC offloads MACsec.
const FeatureMACsecOffload = "macsec-hw-offload"

// Features is the offload feature state of a network device as ethtool
// netlink reports it (ETHTOOL_MSG_FEATURES_GET_REPLY): `ethtool -k`.
type Features struct {
	// Active lists the features that are on (ETHTOOL_A_FEATURES_ACTIVE).
	Active map[string]bool
	// Changeable lists the features the driver lets the user toggle
	// (ETHTOOL_A_FEATURES_HW); an active feature that is not changeable is
	// what ethtool prints as "on [fixed]".
	Changeable map[string]bool
}

// On reports whether the named feature is active.
func (f *Features) On(name string) bool { return f.Active[name] }

// Fixed reports whether the named feature cannot be toggled.
func (f *Features) Fixed(name string) bool { return !f.Changeable[name] }

// ActiveNames returns the active features, sorted, for messages.
func (f *Features) ActiveNames() []string {
	names := make([]string, 0, len(f.Active))
	for n, on := range f.Active {
		if on {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// errNoBitNames is returned for a compact bitset: it carries bit numbers,
// whose meaning differs between kernel versions, and no names.
var errNoBitNames = errors.New("bitset has no bit names (compact form)")

// parseFeatures decodes the attributes of an ETHTOOL_MSG_FEATURES_GET_REPLY
// (the generic netlink payload after its header). The request asks for
// verbose bitsets, in which every listed bit carries its name, so feature
// names are matched as the kernel spells them rather than by bit numbers
// that move between kernel versions.
func parseFeatures(b []byte) (*Features, error) {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return nil, fmt.Errorf("features reply: %w", err)
	}
	f := &Features{}
	var sawActive, sawHW bool
	for ad.Next() {
		switch ad.Type() {
		case unix.ETHTOOL_A_FEATURES_HW:
			sawHW = true
			ad.Nested(func(nad *netlink.AttributeDecoder) error {
				f.Changeable, err = decodeBitset(nad)
				return err
			})
		case unix.ETHTOOL_A_FEATURES_ACTIVE:
			sawActive = true
			ad.Nested(func(nad *netlink.AttributeDecoder) error {
				f.Active, err = decodeBitset(nad)
				return err
			})
		}
	}
	if err := ad.Err(); err != nil {
		return nil, fmt.Errorf("features reply: %w", err)
	}
	if !sawActive || !sawHW {
		return nil, errors.New("features reply: ACTIVE or HW bitset missing")
	}
	return f, nil
}

// decodeBitset decodes a verbose ethtool bitset (net/ethtool/bitset.c,
// ethnl_put_bitset32) into name → value. With ETHTOOL_A_BITSET_NOMASK the
// bits listed are exactly those set; otherwise every bit of the mask is
// listed and ETHTOOL_A_BITSET_BIT_VALUE marks those set.
func decodeBitset(ad *netlink.AttributeDecoder) (map[string]bool, error) {
	noMask := false
	type bit struct {
		name  string
		value bool
	}
	var bits []bit
	compact := false
	for ad.Next() {
		switch ad.Type() {
		case unix.ETHTOOL_A_BITSET_NOMASK:
			noMask = true
		case unix.ETHTOOL_A_BITSET_VALUE, unix.ETHTOOL_A_BITSET_MASK:
			compact = true
		case unix.ETHTOOL_A_BITSET_BITS:
			ad.Nested(func(lad *netlink.AttributeDecoder) error {
				for lad.Next() {
					if lad.Type() != unix.ETHTOOL_A_BITSET_BITS_BIT {
						continue
					}
					var b bit
					named := false
					lad.Nested(func(bad *netlink.AttributeDecoder) error {
						for bad.Next() {
							switch bad.Type() {
							case unix.ETHTOOL_A_BITSET_BIT_NAME:
								b.name = bad.String()
								named = true
							case unix.ETHTOOL_A_BITSET_BIT_VALUE:
								b.value = true
							}
						}
						return bad.Err()
					})
					if !named {
						return errNoBitNames
					}
					bits = append(bits, b)
				}
				return lad.Err()
			})
		}
	}
	if err := ad.Err(); err != nil {
		return nil, err
	}
	if compact && len(bits) == 0 {
		return nil, errNoBitNames
	}
	m := make(map[string]bool, len(bits))
	for _, b := range bits {
		if b.name == "" {
			continue // a bit number the kernel has no name for
		}
		m[b.name] = noMask || b.value
	}
	return m, nil
}
