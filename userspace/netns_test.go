package userspace_test

import (
	"testing"
)

func TestPing(t *testing.T) {
	for _, cs := range suites {
		t.Run(cs.String(), func(t *testing.T) {
			p := newPair(t, cs, strictPolicy(cs))
			ping(t, p.a, p.ipB)
		})
	}
}
