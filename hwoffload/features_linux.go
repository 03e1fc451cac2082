package hwoffload

import (
	"errors"
	"fmt"
	"os"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// ReadFeatures reads the offload features of a network device (what
// `ethtool -k` shows) over ethtool netlink. mdlayher/ethtool v0.7.0 does not
// cover features, so this is the one request it lacks.
func ReadFeatures(ifname string) (*Features, error) {
	b, err := readFeaturesReply(ifname)
	if err != nil {
		return nil, err
	}
	f, err := parseFeatures(b)
	if err != nil {
		return nil, fmt.Errorf("hwoffload: read features of %s: %w", ifname, err)
	}
	return f, nil
}

// readFeaturesReply returns the attributes of the kernel's
// ETHTOOL_MSG_FEATURES_GET_REPLY for ifname.
func readFeaturesReply(ifname string) ([]byte, error) {
	c, err := genetlink.Dial(nil)
	if err != nil {
		return nil, fmt.Errorf("hwoffload: read features of %s: dial generic netlink: %w", ifname, err)
	}
	defer c.Close()
	fam, err := c.GetFamily(unix.ETHTOOL_GENL_NAME)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("hwoffload: read features of %s: kernel has no ethtool netlink (CONFIG_ETHTOOL_NETLINK): %w", ifname, err)
		}
		return nil, fmt.Errorf("hwoffload: read features of %s: resolve family %s: %w", ifname, unix.ETHTOOL_GENL_NAME, err)
	}
	req, err := encodeFeaturesRequest(ifname)
	if err != nil {
		return nil, fmt.Errorf("hwoffload: read features of %s: %w", ifname, err)
	}
	msgs, err := c.Execute(genetlink.Message{
		Header: genetlink.Header{Command: unix.ETHTOOL_MSG_FEATURES_GET, Version: unix.ETHTOOL_GENL_VERSION},
		Data:   req,
	}, fam.ID, netlink.Request)
	if err != nil {
		if errors.Is(err, unix.ENODEV) {
			return nil, fmt.Errorf("hwoffload: read features of %s: no such device: %w", ifname, err)
		}
		return nil, fmt.Errorf("hwoffload: read features of %s: %w", ifname, err)
	}
	if len(msgs) != 1 {
		return nil, fmt.Errorf("hwoffload: read features of %s: %d replies, want 1", ifname, len(msgs))
	}
	return msgs[0].Data, nil
}

// encodeFeaturesRequest names the device in the request header. No
// ETHTOOL_FLAG_COMPACT_BITSETS: the verbose form carries feature names.
func encodeFeaturesRequest(ifname string) ([]byte, error) {
	ae := netlink.NewAttributeEncoder()
	ae.Nested(unix.ETHTOOL_A_FEATURES_HEADER, func(nae *netlink.AttributeEncoder) error {
		nae.String(unix.ETHTOOL_A_HEADER_DEV_NAME, ifname)
		return nil
	})
	return ae.Encode()
}
