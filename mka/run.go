package mka

import (
	"context"
	"errors"
	"net"
	"slices"
	"time"
)

// FrameConn is what Run needs from an EAPOL socket (eapol.Conn satisfies
// it): whole Ethernet frames in and out.
type FrameConn interface {
	ReadFrame(buf []byte) (int, error)
	WriteFrame(frame []byte) error
	HardwareAddr() net.HardwareAddr
}

// Run drives k in real time: frames read from conn go to HandleFrame, and
// Tick runs at NextTick (at least every Config.BoundedHelloTime). It
// returns when ctx is done, after stopping k (SAs deleted, keys zeroed), or
// when reading fails. conn should be the KaY's Transport too (see
// ConnTransport). Closing conn is the caller's job; Run's reader goroutine
// ends when ReadFrame fails.
func (k *KaY) Run(ctx context.Context, conn FrameConn) error {
	frames := make(chan []byte, 64)
	readErr := make(chan error, 1)
	go func() {
		buf := make([]byte, 1600)
		for {
			n, err := conn.ReadFrame(buf)
			if err != nil {
				readErr <- err
				return
			}
			select {
			case frames <- slices.Clone(buf[:n]):
			case <-ctx.Done():
				return
			}
		}
	}()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			k.Stop()
			return ctx.Err()
		case err := <-readErr:
			k.Stop()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return errors.Join(errors.New("mka: read MKPDU"), err)
		case f := <-frames:
			if err := k.HandleFrame(time.Now(), f); err != nil {
				k.log.Debug("MKPDU dropped", "err", err)
			}
		case <-timer.C:
			k.Tick(time.Now())
		}
		d := k.boundedHello()
		if next := k.NextTick(); !next.IsZero() {
			d = min(d, max(time.Until(next), time.Millisecond))
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(d)
	}
}

// ConnTransport adapts a FrameConn to Transport.
func ConnTransport(c FrameConn) Transport { return TransportFunc(c.WriteFrame) }
