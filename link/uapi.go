package link

// Numbers of the kernel's MACsec netlink interface. Every value is copied
// from the Linux UAPI headers (identical in the 6.1 and 6.12 kernels the VM
// lab boots):
//
//   - include/uapi/linux/if_link.h: the IFLA_MACSEC_* rtnetlink attributes
//     nested in IFLA_INFO_DATA, enum macsec_validation_type and
//     enum macsec_offload;
//   - include/uapi/linux/if_macsec.h: the generic netlink family "macsec",
//     its commands and nested attributes, and the statistics attributes.
//
// Generic rtnetlink numbers (RTM_*, IFLA_IFNAME, IFLA_LINKINFO, ...) come
// from golang.org/x/sys/unix. uapi_test.go cross-checks these constants
// against that second source where it has them.

// include/uapi/linux/if_link.h, "MACSEC section" (anonymous enum).
const (
	iflaMacsecSCI           = 1  // IFLA_MACSEC_SCI, u64 (SCI octets in network order)
	iflaMacsecPort          = 2  // IFLA_MACSEC_PORT, be16
	iflaMacsecICVLen        = 3  // IFLA_MACSEC_ICV_LEN, u8
	iflaMacsecCipherSuite   = 4  // IFLA_MACSEC_CIPHER_SUITE, u64
	iflaMacsecWindow        = 5  // IFLA_MACSEC_WINDOW, u32
	iflaMacsecEncodingSA    = 6  // IFLA_MACSEC_ENCODING_SA, u8
	iflaMacsecEncrypt       = 7  // IFLA_MACSEC_ENCRYPT, u8
	iflaMacsecProtect       = 8  // IFLA_MACSEC_PROTECT, u8
	iflaMacsecIncSCI        = 9  // IFLA_MACSEC_INC_SCI, u8
	iflaMacsecES            = 10 // IFLA_MACSEC_ES, u8
	iflaMacsecSCB           = 11 // IFLA_MACSEC_SCB, u8
	iflaMacsecReplayProtect = 12 // IFLA_MACSEC_REPLAY_PROTECT, u8
	iflaMacsecValidation    = 13 // IFLA_MACSEC_VALIDATION, u8
	iflaMacsecPad           = 14 // IFLA_MACSEC_PAD
	iflaMacsecOffload       = 15 // IFLA_MACSEC_OFFLOAD, u8
)

// include/uapi/linux/if_macsec.h.
const (
	genlName    = "macsec" // MACSEC_GENL_NAME
	genlVersion = 1        // MACSEC_GENL_VERSION

	maxKeyLen = 128 // MACSEC_MAX_KEY_LEN
	keyIDLen  = 16  // MACSEC_KEYID_LEN
	saltLen   = 12  // MACSEC_SALT_LEN

	minICVLen = 8  // MACSEC_MIN_ICV_LEN
	stdICVLen = 16 // MACSEC_STD_ICV_LEN (the largest the cipher suites accept)
)

// enum macsec_nl_commands (if_macsec.h).
const (
	cmdGetTxSC    = 0  // MACSEC_CMD_GET_TXSC (dump only)
	cmdAddRxSC    = 1  // MACSEC_CMD_ADD_RXSC
	cmdDelRxSC    = 2  // MACSEC_CMD_DEL_RXSC
	cmdUpdRxSC    = 3  // MACSEC_CMD_UPD_RXSC
	cmdAddTxSA    = 4  // MACSEC_CMD_ADD_TXSA
	cmdDelTxSA    = 5  // MACSEC_CMD_DEL_TXSA
	cmdUpdTxSA    = 6  // MACSEC_CMD_UPD_TXSA
	cmdAddRxSA    = 7  // MACSEC_CMD_ADD_RXSA
	cmdDelRxSA    = 8  // MACSEC_CMD_DEL_RXSA
	cmdUpdRxSA    = 9  // MACSEC_CMD_UPD_RXSA
	cmdUpdOffload = 10 // MACSEC_CMD_UPD_OFFLOAD
	numMacsecCmds = 11
)

// enum macsec_attrs (if_macsec.h): top level of every family message.
const (
	attrIfindex    = 1 // MACSEC_ATTR_IFINDEX, u32
	attrRxSCConfig = 2 // MACSEC_ATTR_RXSC_CONFIG, nested macsec_rxsc_attrs
	attrSAConfig   = 3 // MACSEC_ATTR_SA_CONFIG, nested macsec_sa_attrs
	attrSecY       = 4 // MACSEC_ATTR_SECY, dump, nested macsec_secy_attrs
	attrTxSAList   = 5 // MACSEC_ATTR_TXSA_LIST, dump, nested list of macsec_sa_attrs
	attrRxSCList   = 6 // MACSEC_ATTR_RXSC_LIST, dump, nested list of macsec_rxsc_attrs
	attrTxSCStats  = 7 // MACSEC_ATTR_TXSC_STATS, dump, nested macsec_txsc_stats_attr
	attrSecYStats  = 8 // MACSEC_ATTR_SECY_STATS, dump, nested macsec_secy_stats_attr
	attrOffload    = 9 // MACSEC_ATTR_OFFLOAD, nested macsec_offload_attrs
)

// enum macsec_secy_attrs (if_macsec.h).
const (
	secyAttrSCI         = 1  // MACSEC_SECY_ATTR_SCI
	secyAttrEncodingSA  = 2  // MACSEC_SECY_ATTR_ENCODING_SA
	secyAttrWindow      = 3  // MACSEC_SECY_ATTR_WINDOW
	secyAttrCipherSuite = 4  // MACSEC_SECY_ATTR_CIPHER_SUITE
	secyAttrICVLen      = 5  // MACSEC_SECY_ATTR_ICV_LEN
	secyAttrProtect     = 6  // MACSEC_SECY_ATTR_PROTECT
	secyAttrReplay      = 7  // MACSEC_SECY_ATTR_REPLAY
	secyAttrOper        = 8  // MACSEC_SECY_ATTR_OPER
	secyAttrValidate    = 9  // MACSEC_SECY_ATTR_VALIDATE
	secyAttrEncrypt     = 10 // MACSEC_SECY_ATTR_ENCRYPT
	secyAttrIncSCI      = 11 // MACSEC_SECY_ATTR_INC_SCI
	secyAttrES          = 12 // MACSEC_SECY_ATTR_ES
	secyAttrSCB         = 13 // MACSEC_SECY_ATTR_SCB
)

// enum macsec_rxsc_attrs (if_macsec.h).
const (
	rxscAttrSCI    = 1 // MACSEC_RXSC_ATTR_SCI, u64
	rxscAttrActive = 2 // MACSEC_RXSC_ATTR_ACTIVE, u8
	rxscAttrSAList = 3 // MACSEC_RXSC_ATTR_SA_LIST, dump, nested
	rxscAttrStats  = 4 // MACSEC_RXSC_ATTR_STATS, dump, nested macsec_rxsc_stats_attr
)

// enum macsec_sa_attrs (if_macsec.h).
const (
	saAttrAN     = 1 // MACSEC_SA_ATTR_AN, u8 0..3
	saAttrActive = 2 // MACSEC_SA_ATTR_ACTIVE, u8 0..1
	saAttrPN     = 3 // MACSEC_SA_ATTR_PN, u32, or u64 for XPN
	saAttrKey    = 4 // MACSEC_SA_ATTR_KEY, binary
	saAttrKeyID  = 5 // MACSEC_SA_ATTR_KEYID, 128 bits
	saAttrStats  = 6 // MACSEC_SA_ATTR_STATS, dump, nested macsec_sa_stats_attr
	saAttrSSCI   = 8 // MACSEC_SA_ATTR_SSCI, u32, XPN only (7 is MACSEC_SA_ATTR_PAD)
	saAttrSalt   = 9 // MACSEC_SA_ATTR_SALT, 96 bits, XPN only
)

// enum macsec_offload_attrs (if_macsec.h).
const (
	offloadAttrType = 1 // MACSEC_OFFLOAD_ATTR_TYPE, u8 0..2
)

// enum macsec_rxsc_stats_attr (if_macsec.h), u64 each.
const (
	rxscStatsInOctetsValidated = 1
	rxscStatsInOctetsDecrypted = 2
	rxscStatsInPktsUnchecked   = 3
	rxscStatsInPktsDelayed     = 4
	rxscStatsInPktsOK          = 5
	rxscStatsInPktsInvalid     = 6
	rxscStatsInPktsLate        = 7
	rxscStatsInPktsNotValid    = 8
	rxscStatsInPktsNotUsingSA  = 9
	rxscStatsInPktsUnusedSA    = 10
)

// enum macsec_sa_stats_attr (if_macsec.h), u32 each.
const (
	saStatsInPktsOK         = 1
	saStatsInPktsInvalid    = 2
	saStatsInPktsNotValid   = 3
	saStatsInPktsNotUsingSA = 4
	saStatsInPktsUnusedSA   = 5
	saStatsOutPktsProtected = 6
	saStatsOutPktsEncrypted = 7
)

// enum macsec_txsc_stats_attr (if_macsec.h), u64 each.
const (
	txscStatsOutPktsProtected   = 1
	txscStatsOutPktsEncrypted   = 2
	txscStatsOutOctetsProtected = 3
	txscStatsOutOctetsEncrypted = 4
)

// enum macsec_secy_stats_attr (if_macsec.h), u64 each.
const (
	secyStatsOutPktsUntagged  = 1
	secyStatsInPktsUntagged   = 2
	secyStatsOutPktsTooLong   = 3
	secyStatsInPktsNoTag      = 4
	secyStatsInPktsBadTag     = 5
	secyStatsInPktsUnknownSCI = 6
	secyStatsInPktsNoSCI      = 7
	secyStatsInPktsOverrun    = 8
)

// PN lengths the kernel insists on (drivers/net/macsec.c,
// MACSEC_DEFAULT_PN_LEN and MACSEC_XPN_PN_LEN).
const (
	pnLen    = 4
	xpnPNLen = 8
)
