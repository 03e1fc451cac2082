// Package daemon is macsecd without its main function: the configuration
// file and its validation, key loading from private files and systemd
// credentials, the choice of SecY backend per port, the ports themselves
// (one key agreement actor driving one SecY), the control-socket protocol
// that macsecctl speaks, the text and JSON renderings of status, and the
// Prometheus metrics.
//
// cmd/macsecd and cmd/macsecctl are thin wrappers around this package so
// that everything here can be tested without starting processes.
package daemon
