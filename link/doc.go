// Package link programs the Linux kernel's MACsec (drivers/net/macsec.c):
// it is the kernel SecY backend of macsecd and a Go library for kernel
// MACsec in its own right.
//
// Two netlink interfaces are involved, and a Conn holds a socket for each:
//
//   - rtnetlink creates, changes, reads back and deletes the macsec
//     interfaces (the SecYs): IFLA_INFO_KIND "macsec" with the
//     IFLA_MACSEC_* attributes in IFLA_INFO_DATA (CreateLink, ChangeLink,
//     LinkByName, LinkByIndex, SetUp, DeleteLink);
//   - the generic netlink family "macsec" (version 1) adds, updates and
//     deletes receive SCs and transmit and receive SAs (AddRxSC, AddTxSA,
//     AddRxSA, Update*, Delete*), switches offload (UpdateOffload), and
//     dumps every SecY with its SCs, SAs, next PNs and counters (Dump,
//     State). An interrupted dump (NLM_F_DUMP_INTR) is retried.
//
// SecY wraps one interface and implements macsec.SecY, so that MKA can
// drive the kernel; it follows the kernel's order for a rekey without loss
// (new RX SAs, new TX SA on a free AN, switch the encoding SA, then retire
// the old SAs) and polls the next PN from the dump, since the kernel sends
// no events.
//
// Keys: the SA key travels only through a request buffer the Conn owns and
// zeroes right after the send; the sockets set NETLINK_CAP_ACK so that a
// refused request is not echoed back with its key. Nothing here logs or
// prints a key.
//
// Errors are *Error values that name the operation and the object and
// explain the kernel's errno for that operation (EBUSY, EEXIST,
// EOPNOTSUPP, ENODEV, EINVAL); errors.Is works on the errno, and a change
// of an attribute fixed at creation (SCI, port, ICV length, cipher suite)
// matches ErrImmutable.
//
// The numbers of the kernel interface are in uapi.go, each with the UAPI
// header it comes from.
package link
