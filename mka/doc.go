// Package mka implements the MACsec Key Agreement protocol of IEEE
// 802.1X-2020 (clauses 9, 11 and 12): the KaY with one participant per
// CAK of a key chain, live and potential peer lists, key server election,
// SAK generation and distribution, the controlled port (CP) state machine
// that installs SAs in a macsec.SecY in the standard's order, rekeying,
// XPN parameters and the should-secure/must-secure policies.
//
// The core is deterministic: a KaY is driven by HandleFrame and Tick with
// the time passed in, draws randomness from an injected io.Reader, sends
// through an injected Transport and programs an injected macsec.SecY, so
// that tests run many participants on a virtual lossy LAN in
// milliseconds. Run wraps it for real time over an EAPOL socket.
//
// The wire format lives in mka/mkpdu, the key hierarchy in mka/keys and
// the socket in mka/eapol. See docs/mka.md for behaviour and the choices
// made where the standard and wpa_supplicant differ.
package mka
