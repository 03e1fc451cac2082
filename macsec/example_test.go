package macsec_test

import (
	"bytes"
	"fmt"
	"net"

	"github.com/macsecd/macsecd/macsec"
)

// Two software SecYs secure one frame: the data-plane view of the
// package. Buffers carry Headroom octets in front of the clear frame and
// Tailroom octets of spare capacity behind it, so protection happens in
// place.
func Example() {
	alice := macsec.MakeSCI(net.HardwareAddr{2, 0, 0, 0, 0, 0xa}, 1)
	bob := macsec.MakeSCI(net.HardwareAddr{2, 0, 0, 0, 0, 0xb}, 1)
	policy := macsec.Policy{
		CipherSuite:     macsec.GCMAES128,
		Confidentiality: macsec.ConfidentialityOffset0,
		ProtectFrames:   true,
		Validate:        macsec.ValidateStrict,
		ReplayProtect:   true,
		IncludeSCI:      true,
	}
	key := bytes.Repeat([]byte{0x11}, 16) // from MKA in real use

	tx, _ := macsec.NewSoftSecY(macsec.Config{SCI: alice, Policy: policy})
	tx.CreateTxSA(0, 1, &macsec.SAK{Key: key})
	tx.EnableTxSA(0)
	tx.SetControlledPort(true)

	rx, _ := macsec.NewSoftSecY(macsec.Config{SCI: bob, Policy: policy})
	rx.CreateRxSC(alice)
	rx.CreateRxSA(alice, 0, 1, &macsec.SAK{Key: key})
	rx.EnableRxSA(alice, 0)
	rx.SetControlledPort(true)

	// One Worker per data-plane goroutine.
	txw, rxw := tx.NewWorker(), rx.NewWorker()

	clear := []byte{
		2, 0, 0, 0, 0, 0xb, 2, 0, 0, 0, 0, 0xa, // destination, source
		0x88, 0xb5, 'h', 'e', 'l', 'l', 'o', // EtherType, payload
	}
	buf := make([]byte, macsec.Headroom+len(clear), macsec.Headroom+len(clear)+macsec.Tailroom)
	copy(buf[macsec.Headroom:], clear)
	wire, err := txw.Protect(buf, macsec.Headroom)
	if err != nil {
		panic(err)
	}
	fmt.Printf("on the wire: %d octets, EtherType %X, TCI/AN %#02x, SL %d, PN %d\n",
		len(wire), wire[12:14], wire[14], wire[15], wire[19])

	got, err := rxw.Validate(wire)
	fmt.Println("delivered:", err == nil && bytes.Equal(got, clear))

	rxw.Flush() // after each batch: publish the worker's counts
	st, _ := rx.Status()
	fmt.Println("InPktsOK:", st.RxSCs[0].Stats.InPktsOK)
	// Output:
	// on the wire: 51 octets, EtherType 88E5, TCI/AN 0x2c, SL 7, PN 1
	// delivered: true
	// InPktsOK: 1
}
