// Package interop holds macsecd's interoperability tests; it has no
// non-test code.
//
// The tests tagged vmlab run inside the VM lab (testenv/lab) on a real
// Debian kernel: macsecd (the /lab/bin binaries, configured as an operator
// would) against wpa_supplicant 2.10 driving kernel MACsec, and macsecd's
// kernel backend against its userspace backend for the cipher suites
// wpa_supplicant 2.10 cannot select. Every scenario asserts that traffic
// passes both ways through the secured interfaces, and writes the MKPDUs it
// exchanged to $MACSECD_LAB_OUT as pcap files.
//
// TestLabResultsMKPDUs runs on the host after the VM run
// (testenv/lab/vmtest.sh calls it with MACSECD_LAB_RESULTS set) and has
// tshark, an independent MKA dissector, decode every captured MKPDU: no
// malformed packet and no expert information allowed. docs/interop.md
// describes the scenarios and which settings pair with which.
package interop
