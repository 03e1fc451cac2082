package userspace

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// The parent carries only MACsec and EAPOL. The backend's AF_PACKET
// sockets see every received frame before traffic control does, so a tc
// filter that drops everything on the parent's ingress keeps clear frames
// from an attacker on the wire away from the host's own stack (which would
// otherwise accept an IP packet for the TAP's address arriving on the
// parent, by the weak host model). The same filter on egress stops the
// host's stack from sending anything in the clear on the parent; the
// backend's sockets use PACKET_QDISC_BYPASS and are not affected.
//
// The filter is a two-instruction BPF program in direct-action mode
// ("return TC_ACT_SHOT"): it needs only cls_bpf and clsact, which kernels
// without the gact action still have.

// isolation records what isolateParent installed, for Close.
type isolation struct {
	ifindex      int
	addedQdisc   bool
	addedFilters bool
}

const isolatePrio = 0xc5ec & 0x7fff

func loadDropProgram() (int, error) {
	// r0 = TC_ACT_SHOT (2); exit
	insns := [2]uint64{
		0xb7 | 2<<32, // BPF_ALU64|BPF_MOV|BPF_K, dst r0, imm 2
		0x95,         // BPF_JMP|BPF_EXIT
	}
	license := []byte("GPL\x00")
	var attr struct {
		progType    uint32
		insnCnt     uint32
		insns       uint64
		license     uint64
		logLevel    uint32
		logSize     uint32
		logBuf      uint64
		kernVersion uint32
		progFlags   uint32
		name        [16]byte
		_           [64]byte
	}
	attr.progType = unix.BPF_PROG_TYPE_SCHED_CLS
	attr.insnCnt = uint32(len(insns))
	attr.insns = uint64(uintptr(unsafe.Pointer(&insns[0])))
	attr.license = uint64(uintptr(unsafe.Pointer(&license[0])))
	copy(attr.name[:], "macsecd_drop")
	fd, _, e := unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_LOAD, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
	runtime.KeepAlive(&insns)
	runtime.KeepAlive(license)
	if e != 0 {
		return -1, fmt.Errorf("bpf prog load: %w", e)
	}
	return int(fd), nil
}

// isolateParent installs the drop filters on both directions of the
// parent.
func isolateParent(ifindex int) (*isolation, error) {
	iso := &isolation{ifindex: ifindex}
	q := &netlink.Clsact{QdiscAttrs: netlink.QdiscAttrs{
		LinkIndex: ifindex, Handle: netlink.MakeHandle(0xffff, 0), Parent: netlink.HANDLE_CLSACT,
	}}
	if err := netlink.QdiscAdd(q); err == nil {
		iso.addedQdisc = true
	} else if !errors.Is(err, unix.EEXIST) {
		return nil, fmt.Errorf("add clsact qdisc: %w", err)
	}
	fd, err := loadDropProgram()
	if err != nil {
		iso.undo()
		return nil, err
	}
	defer unix.Close(fd)
	for _, parent := range []uint32{netlink.HANDLE_MIN_INGRESS, netlink.HANDLE_MIN_EGRESS} {
		f := &netlink.BpfFilter{
			FilterAttrs: netlink.FilterAttrs{
				LinkIndex: ifindex, Parent: parent, Handle: netlink.MakeHandle(0, 1),
				Protocol: unix.ETH_P_ALL, Priority: isolatePrio,
			},
			Fd: fd, Name: "macsecd_drop", DirectAction: true,
		}
		if err := netlink.FilterReplace(f); err != nil {
			iso.undo()
			return nil, fmt.Errorf("add drop filter: %w", err)
		}
		iso.addedFilters = true
	}
	return iso, nil
}

// undo removes what isolateParent installed.
func (iso *isolation) undo() {
	if iso == nil {
		return
	}
	if iso.addedQdisc {
		netlink.QdiscDel(&netlink.Clsact{QdiscAttrs: netlink.QdiscAttrs{
			LinkIndex: iso.ifindex, Handle: netlink.MakeHandle(0xffff, 0), Parent: netlink.HANDLE_CLSACT,
		}})
		return
	}
	if iso.addedFilters {
		for _, parent := range []uint32{netlink.HANDLE_MIN_INGRESS, netlink.HANDLE_MIN_EGRESS} {
			netlink.FilterDel(&netlink.BpfFilter{FilterAttrs: netlink.FilterAttrs{
				LinkIndex: iso.ifindex, Parent: parent, Handle: netlink.MakeHandle(0, 1),
				Protocol: unix.ETH_P_ALL, Priority: isolatePrio,
			}})
		}
	}
}
