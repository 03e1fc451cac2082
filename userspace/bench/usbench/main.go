// Command usbench is the helper of userspace/bench/bench.sh. It runs
// inside a network namespace of the benchmark topology and does one of:
//
//	usbench secy -parent eth0 -tap msec0 -suite GCM-AES-128 -tx-key FILE -rx-key FILE -peer-mac MAC
//	    run the userspace SecY backend with static SAs until SIGINT/SIGTERM,
//	    then print its data-path counters;
//	usbench afpacket-tx -if eth0 -size 60 -seconds 5
//	usbench afpacket-rx -if eth0 -seconds 5
//	    measure the batched AF_PACKET ceiling: the transmitter sends
//	    minimum-size frames with sendmmsg as fast as it can, the receiver
//	    counts them with recvmmsg and prints frames per second.
//
// Keys are read from files that must not be readable by others; they are
// never printed.
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/userspace"
	"github.com/macsecd/macsecd/userspace/afpacket"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: usbench secy|afpacket-tx|afpacket-rx [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "secy":
		err = runSecY(os.Args[2:])
	case "afpacket-tx":
		err = runAFTx(os.Args[2:])
	case "afpacket-rx":
		err = runAFRx(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "usbench:", err)
		os.Exit(1)
	}
}

// readKey reads a hex key from a private file.
func readKey(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key file %s: mode %v is readable by others", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var k []byte
	if _, err := fmt.Sscanf(strings.TrimSpace(string(b)), "%x", &k); err != nil {
		return nil, fmt.Errorf("key file %s: not hex", path)
	}
	return k, nil
}

func runSecY(args []string) error {
	fs := flag.NewFlagSet("secy", flag.ExitOnError)
	parent := fs.String("parent", "eth0", "wire-side interface")
	tapName := fs.String("tap", "msec0", "TAP interface name")
	suite := fs.String("suite", "GCM-AES-128", "cipher suite")
	txKey := fs.String("tx-key", "", "file with the transmit SAK (hex)")
	rxKey := fs.String("rx-key", "", "file with the peer's SAK (hex)")
	peerMAC := fs.String("peer-mac", "", "peer's MAC (its SCI is MAC/1)")
	queues := fs.Int("queues", 0, "queues (0: one per CPU)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	fs.Parse(args)
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	cs, err := macsec.ParseCipherSuite(*suite)
	if err != nil {
		return err
	}
	tx, err := readKey(*txKey)
	if err != nil {
		return err
	}
	rx, err := readKey(*rxKey)
	if err != nil {
		return err
	}
	pm, err := net.ParseMAC(*peerMAC)
	if err != nil {
		return err
	}
	be, err := userspace.New(userspace.Config{
		Name: *tapName, Parent: *parent, Queues: *queues,
		Policy: macsec.Policy{CipherSuite: cs, Confidentiality: macsec.ConfidentialityOffset0,
			ProtectFrames: true, Validate: macsec.ValidateStrict, ReplayProtect: true, IncludeSCI: true},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	if err != nil {
		return err
	}
	defer be.Close()
	me := be.HardwareAddr()
	// The side with the lower MAC uses SSCI 1, as MKA would order them.
	ssci, peerSSCI := uint32(1), uint32(2)
	if string(me) > string(pm) {
		ssci, peerSSCI = 2, 1
	}
	salt := macsec.Salt{0x5a, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	peer := macsec.MakeSCI(pm, 1)
	var id macsec.KeyID
	id[15] = 1
	steps := []func() error{
		func() error { return be.CreateRxSC(peer) },
		func() error {
			return be.CreateRxSA(peer, 0, 1, &macsec.SAK{Key: rx, ID: id, SSCI: peerSSCI, Salt: salt})
		},
		func() error { return be.EnableRxSA(peer, 0) },
		func() error { return be.CreateTxSA(0, 1, &macsec.SAK{Key: tx, ID: id, SSCI: ssci, Salt: salt}) },
		func() error { return be.EnableTxSA(0) },
		func() error { return be.SetControlledPort(true) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	clear(tx)
	clear(rx)
	fmt.Printf("ready %s mtu %d\n", be.TAPName(), be.MTU())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	st := be.State()
	fmt.Printf("tx frames %d segments %d dropped %d wire-dropped %d; rx frames %d dropped %d truncated %d tap-writes %d tap-errors %d\n",
		st.TxFrames, st.TxSegments, st.TxDropped, st.TxWireDropped, st.RxFrames, st.RxDropped, st.RxTruncated, st.RxTAPWrites, st.RxTAPErrors)
	return nil
}

func runAFTx(args []string) error {
	fs := flag.NewFlagSet("afpacket-tx", flag.ExitOnError)
	ifname := fs.String("if", "eth0", "interface")
	size := fs.Int("size", 60, "frame size")
	secs := fs.Float64("seconds", 5, "duration")
	useRing := fs.Bool("ring", false, "send through the transmit ring instead of sendmmsg")
	fs.Parse(args)
	ifi, err := net.InterfaceByName(*ifname)
	if err != nil {
		return err
	}
	cfg := afpacket.Config{BufferBytes: 4 << 20}
	if *useRing {
		cfg.TxRingFrames, cfg.TxRingFrameSize = 512, *size
	}
	c, err := afpacket.Listen(ifi, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	frame := make([]byte, *size)
	copy(frame, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(frame[6:], ifi.HardwareAddr)
	binary.BigEndian.PutUint16(frame[12:], 0x88b5) // local experimental EtherType
	frames := make([][]byte, afpacket.MaxBatch)
	for i := range frames {
		frames[i] = frame
	}
	slots := make([][]byte, afpacket.MaxBatch)
	end := time.Now().Add(time.Duration(*secs * float64(time.Second)))
	var sent int
	for time.Now().Before(end) {
		var n int
		if *useRing {
			// Built in the slots, as the backend's workers do.
			k := c.TxSlots(slots, 0)
			if k == 0 {
				if err := c.TxWait(0); err != nil {
					return err
				}
				continue
			}
			for _, s := range slots[:k] {
				c.TxPut(s[:copy(s, frame)])
			}
			n, err = c.TxSend()
		} else {
			n, err = c.Send(frames)
		}
		if err != nil {
			return err
		}
		sent += n
	}
	fmt.Printf("sent %d\n", sent)
	return nil
}

func runAFRx(args []string) error {
	fs := flag.NewFlagSet("afpacket-rx", flag.ExitOnError)
	ifname := fs.String("if", "eth0", "interface")
	secs := fs.Float64("seconds", 5, "measurement window, started by the first frame")
	fs.Parse(args)
	ifi, err := net.InterfaceByName(*ifname)
	if err != nil {
		return err
	}
	c, err := afpacket.Listen(ifi, afpacket.Config{BufferBytes: 4 << 20})
	if err != nil {
		return err
	}
	defer c.Close()
	bufs := make([][]byte, 64)
	sizes := make([]int, 64)
	for i := range bufs {
		bufs[i] = make([]byte, 2048)
	}
	var count int
	var start time.Time
	var end time.Time
	for {
		n, err := c.Recv(bufs, sizes)
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			if sizes[i] >= 14 && binary.BigEndian.Uint16(bufs[i][12:]) == 0x88b5 {
				count++
			}
		}
		if start.IsZero() && count > 0 {
			start = time.Now()
			end = start.Add(time.Duration(*secs * float64(time.Second)))
			count = 0
		}
		if !start.IsZero() && time.Now().After(end) {
			break
		}
	}
	el := time.Since(start).Seconds()
	fmt.Printf("pps %.0f\n", float64(count)/el)
	return nil
}
