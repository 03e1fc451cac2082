// Package hwoffload runs MACsec on hardware: the MAC of a NIC (mlx5,
// atlantic, Marvell cn10k, netdevsim) or its PHY (Microsemi VSC85xx, NXP
// TJA11xx) encrypts and validates frames, and the kernel's MACsec driver is
// only the control path that programs it.
//
// The package has three parts:
//
//   - Detection. A MAC that can offload MACsec sets the ethtool feature
//     "macsec-hw-offload" (NETIF_F_HW_MACSEC), read here over ethtool
//     netlink (ReadFeatures). A PHY has no such flag, so ProbePHY creates a
//     scratch SecY with offload "phy" and reads EOPNOTSUPP as "unsupported".
//   - Decision. Choose is a pure function from what was detected and the
//     configured backend to the backend to use, the fallbacks to try when
//     it is refused at creation, and the reason in operator's words.
//   - Use. Open tries the chosen backends in order, logging why each one
//     that refused did, and NewSecY wraps a kernel SecY whose offload mode
//     was programmed (at creation, or by MACSEC_CMD_UPD_OFFLOAD while the
//     interface is down and has no SAs) so that driver refusals name the
//     driver limit and Status reports the mode.
//
// SAs are driven exactly as for software kernel MACsec: package link owns
// the netlink messages, this package never builds them.
package hwoffload
