package link

import (
	"github.com/macsecd/macsecd/macsec"
	"github.com/mdlayher/netlink"
)

// settingsAttrs numbers the SecY settings in one of the kernel's two
// encodings of them: rtnetlink's IFLA_MACSEC_* and the dump's
// MACSEC_SECY_ATTR_*. Both carry the same values with the same types; one
// decoder serves both. Zero means the encoding has no such attribute.
type settingsAttrs struct {
	sci, icvLen, cipherSuite, window, encodingSA, encrypt, protect,
	incSCI, es, scb, replay, validate, offload, oper uint16
}

var (
	linkSettingsAttrs = settingsAttrs{
		sci: iflaMacsecSCI, icvLen: iflaMacsecICVLen, cipherSuite: iflaMacsecCipherSuite,
		window: iflaMacsecWindow, encodingSA: iflaMacsecEncodingSA, encrypt: iflaMacsecEncrypt,
		protect: iflaMacsecProtect, incSCI: iflaMacsecIncSCI, es: iflaMacsecES, scb: iflaMacsecSCB,
		replay: iflaMacsecReplayProtect, validate: iflaMacsecValidation, offload: iflaMacsecOffload,
	}
	secySettingsAttrs = settingsAttrs{
		sci: secyAttrSCI, icvLen: secyAttrICVLen, cipherSuite: secyAttrCipherSuite,
		window: secyAttrWindow, encodingSA: secyAttrEncodingSA, encrypt: secyAttrEncrypt,
		protect: secyAttrProtect, incSCI: secyAttrIncSCI, es: secyAttrES, scb: secyAttrSCB,
		replay: secyAttrReplay, validate: secyAttrValidate, oper: secyAttrOper,
	}
)

// decodeSettings reads settings attributes numbered by ids into s (and the
// dump's operational flag into oper, if ids has one). Unknown attributes
// (padding, newer kernels) are skipped.
func decodeSettings(ad *netlink.AttributeDecoder, ids settingsAttrs, s *Settings, oper *bool) error {
	flags := map[uint16]*bool{
		ids.encrypt: &s.Encrypt, ids.protect: &s.Protect, ids.incSCI: &s.IncludeSCI,
		ids.es: &s.ES, ids.scb: &s.SCB, ids.replay: &s.ReplayProtect, ids.oper: oper,
	}
	delete(flags, 0)
	for ad.Next() {
		typ := ad.Type()
		if f, ok := flags[typ]; ok {
			*f = ad.Uint8() != 0
			continue
		}
		switch typ {
		case ids.sci:
			sci, err := sciAttr(ad.Bytes())
			if err != nil {
				return err
			}
			s.SCI = sci
		case ids.icvLen:
			s.ICVLen = ad.Uint8()
		case ids.cipherSuite:
			s.CipherSuite = macsec.CipherSuite(ad.Uint64()).Canonical()
		case ids.window:
			s.Window = ad.Uint32()
		case ids.encodingSA:
			s.EncodingSA = macsec.AN(ad.Uint8())
		case ids.validate:
			s.Validate = macsec.ValidateFrames(ad.Uint8())
		case ids.offload:
			if typ != 0 {
				s.Offload = Offload(ad.Uint8())
			}
		}
	}
	return ad.Err()
}
