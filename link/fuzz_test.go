//go:build !vmlab

package link

import (
	"path/filepath"
	"testing"
)

// seedFixtures adds every recorded fixture matching pattern to the corpus.
func seedFixtures(f *testing.F, pattern string) {
	names, err := filepath.Glob(filepath.Join("testdata", "*", pattern))
	if err != nil || len(names) == 0 {
		f.Fatalf("no fixtures %s: %v", pattern, err)
	}
	for _, n := range names {
		b, err := readFixture(filepath.Base(filepath.Dir(n)), filepath.Base(n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzParseDump feeds arbitrary bytes to the dump decoder: it must return
// an error or a state, never panic.
func FuzzParseDump(f *testing.F) {
	seedFixtures(f, "*-dump.bin")
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, err := unmarshalMessages(b)
		if err != nil {
			return
		}
		states, _, err := parseDump(msgs)
		if err == nil && len(states) != len(msgs) {
			t.Fatalf("%d states from %d messages", len(states), len(msgs))
		}
	})
}

// FuzzParseLink does the same for RTM_NEWLINK bodies.
func FuzzParseLink(f *testing.F) {
	seedFixtures(f, "*-link.bin")
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, err := unmarshalMessages(b)
		if err != nil {
			return
		}
		for _, m := range msgs {
			parseLink(m.Data)
		}
	})
}
