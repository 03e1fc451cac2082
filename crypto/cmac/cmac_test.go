package cmac

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The four examples of RFC 4493 section 4.
var rfc4493 = []struct {
	name, msg, tag string
}{
	{"Example 1: len = 0", "", "bb1d6929e95937287fa37d129b756746"},
	{"Example 2: len = 16", "6bc1bee22e409f96e93d7e117393172a", "070a16b46b4d4144f79bdd9dd04a287c"},
	{"Example 3: len = 40", "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411",
		"dfa66747de9ae63030ca32611497c827"},
	{"Example 4: len = 64", "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
		"51f0bebf7e3b9d92fc49741779363cfe"},
}

const rfc4493Key = "2b7e151628aed2a6abf7158809cf4f3c"

func TestRFC4493Subkeys(t *testing.T) {
	h, err := New(unhex(t, rfc4493Key))
	if err != nil {
		t.Fatal(err)
	}
	m := h.(*mac)
	if got, want := hex.EncodeToString(m.k1[:]), "fbeed618357133667c85e08f7236a8de"; got != want {
		t.Errorf("K1 = %s, want %s", got, want)
	}
	if got, want := hex.EncodeToString(m.k2[:]), "f7ddac306ae266ccf90bc11ee46d513b"; got != want {
		t.Errorf("K2 = %s, want %s", got, want)
	}
}

func TestRFC4493(t *testing.T) {
	key := unhex(t, rfc4493Key)
	for _, tc := range rfc4493 {
		msg, want := unhex(t, tc.msg), unhex(t, tc.tag)
		got, err := Sum(key, msg)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[:], want) {
			t.Errorf("%s: Sum = %x, want %x", tc.name, got, want)
		}
		// Streaming in every split must give the same tag.
		h, _ := New(key)
		for i := 0; i <= len(msg); i++ {
			h.Reset()
			h.Write(msg[:i])
			h.Write(msg[i:])
			if s := h.Sum(nil); !bytes.Equal(s, want) {
				t.Errorf("%s: split at %d: %x, want %x", tc.name, i, s, want)
			}
		}
		// One octet at a time, taking Sum mid-stream must not disturb it.
		h.Reset()
		for i := range msg {
			h.Write(msg[i : i+1])
			h.Sum(nil)
		}
		if s := h.Sum(nil); !bytes.Equal(s, want) {
			t.Errorf("%s: bytewise: %x, want %x", tc.name, s, want)
		}
		if !Equal(got[:], want) {
			t.Errorf("Equal(tag, tag) = false")
		}
		got[0] ^= 1
		if Equal(got[:], want) {
			t.Errorf("Equal(altered, tag) = true")
		}
	}
}

// NIST SP 800-38B D.3 (AES-256), Example 12, checks 32-octet keys.
func TestAES256(t *testing.T) {
	key := unhex(t, "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
	msg := unhex(t, "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710")
	got, err := Sum(key, msg)
	if err != nil {
		t.Fatal(err)
	}
	if want := "e1992190549f6ed5696a2c056c315410"; hex.EncodeToString(got[:]) != want {
		t.Errorf("Sum = %x, want %s", got, want)
	}
	if got, _ := Sum(key, nil); hex.EncodeToString(got[:]) != "028962f61b7bf89efc6b551f4667d983" {
		t.Errorf("empty: %x", got)
	}
}

func TestBadKey(t *testing.T) {
	if _, err := New(make([]byte, 15)); err == nil {
		t.Error("New accepted a 15-octet key")
	}
	if _, err := Sum(nil, nil); err == nil {
		t.Error("Sum accepted a nil key")
	}
}

func BenchmarkCMAC(b *testing.B) {
	key := make([]byte, 16)
	msg := make([]byte, 128) // a typical MKPDU
	h, _ := New(key)
	var out [Size]byte
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		h.Reset()
		h.Write(msg)
		h.Sum(out[:0])
	}
}
