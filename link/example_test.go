package link_test

import (
	"fmt"
	"log"

	"github.com/macsecd/macsecd/link"
	"github.com/macsecd/macsecd/macsec"
)

// A kernel SecY on eth0 with GCM-AES-256, one peer, and SAs with AN 0: the
// order is the one MKA follows (receive side first, then transmit, then
// the Controlled Port). Needs root and a kernel with MACsec; not run as a
// test (the VM lab tests do this for real).
func Example() {
	c, err := link.Dial()
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	mySCI, _ := macsec.ParseSCI("020000000a010001")
	peerSCI, _ := macsec.ParseSCI("020000000b020001")
	y, err := link.New(c, link.Config{
		Parent: "eth0",
		Name:   "macsec0",
		SCI:    mySCI,
		Policy: macsec.Policy{
			CipherSuite:     macsec.GCMAES256,
			Confidentiality: macsec.ConfidentialityOffset0,
			ProtectFrames:   true,
			Validate:        macsec.ValidateStrict,
			ReplayProtect:   true,
			IncludeSCI:      true,
		},
	})
	if err != nil {
		log.Fatal(err) // e.g. "link: create macsec interface macsec0 on eth0: an interface with this name exists (file exists)"
	}
	defer y.Close()

	sak := &macsec.SAK{Key: make([]byte, 32) /* from MKA, never a constant */}
	defer sak.Zero()
	steps := []func() error{
		func() error { return y.CreateRxSC(peerSCI) },
		func() error { return y.CreateRxSA(peerSCI, 0, 1, sak) },
		func() error { return y.EnableRxSA(peerSCI, 0) },
		func() error { return y.CreateTxSA(0, 1, sak) },
		func() error { return y.EnableTxSA(0) },
		func() error { return y.SetControlledPort(true) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			log.Fatal(err)
		}
	}
	pn, err := y.TxNextPN(0)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("next PN", pn)
}
