package keywrap

import (
	"bytes"
	"encoding/hex"
	"errors"
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

// The six test vectors of RFC 3394 section 4.
var rfc3394 = []struct {
	name, kek, plain, wrapped string
}{
	{"4.1 128-bit data, 128-bit KEK",
		"000102030405060708090A0B0C0D0E0F",
		"00112233445566778899AABBCCDDEEFF",
		"1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5"},
	{"4.2 128-bit data, 192-bit KEK",
		"000102030405060708090A0B0C0D0E0F1011121314151617",
		"00112233445566778899AABBCCDDEEFF",
		"96778B25AE6CA435F92B5B97C050AED2468AB8A17AD84E5D"},
	{"4.3 128-bit data, 256-bit KEK",
		"000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
		"00112233445566778899AABBCCDDEEFF",
		"64E8C3F9CE0F5BA263E9777905818A2A93C8191E7D6E8AE7"},
	{"4.4 192-bit data, 192-bit KEK",
		"000102030405060708090A0B0C0D0E0F1011121314151617",
		"00112233445566778899AABBCCDDEEFF0001020304050607",
		"031D33264E15D33268F24EC260743EDCE1C6C7DDEE725A936BA814915C6762D2"},
	{"4.5 192-bit data, 256-bit KEK",
		"000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
		"00112233445566778899AABBCCDDEEFF0001020304050607",
		"A8F9BC1612C68B3FF6E6F4FBE30E71E4769C8B80A32CB8958CD5D17D6B254DA1"},
	{"4.6 256-bit data, 256-bit KEK",
		"000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
		"00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F",
		"28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21"},
}

func TestRFC3394(t *testing.T) {
	for _, tc := range rfc3394 {
		kek, plain, wrapped := unhex(t, tc.kek), unhex(t, tc.plain), unhex(t, tc.wrapped)
		got, err := Wrap(kek, plain)
		if err != nil {
			t.Fatalf("%s: Wrap: %v", tc.name, err)
		}
		if !bytes.Equal(got, wrapped) {
			t.Errorf("%s: Wrap = %X, want %X", tc.name, got, wrapped)
		}
		back, err := Unwrap(kek, wrapped)
		if err != nil {
			t.Fatalf("%s: Unwrap: %v", tc.name, err)
		}
		if !bytes.Equal(back, plain) {
			t.Errorf("%s: Unwrap = %X, want %X", tc.name, back, plain)
		}
	}
}

func TestUnwrapIntegrity(t *testing.T) {
	tc := rfc3394[0]
	kek, wrapped := unhex(t, tc.kek), unhex(t, tc.wrapped)
	for i := range wrapped {
		bad := bytes.Clone(wrapped)
		bad[i] ^= 0x01
		if p, err := Unwrap(kek, bad); !errors.Is(err, ErrIntegrity) || p != nil {
			t.Errorf("flipped octet %d: Unwrap = %X, %v; want nil, ErrIntegrity", i, p, err)
		}
	}
	wrongKEK := bytes.Clone(kek)
	wrongKEK[15] ^= 0x80
	if _, err := Unwrap(wrongKEK, wrapped); !errors.Is(err, ErrIntegrity) {
		t.Errorf("wrong KEK: err = %v, want ErrIntegrity", err)
	}
}

func TestLengths(t *testing.T) {
	kek := make([]byte, 16)
	for _, n := range []int{0, 8, 15, 17} {
		if _, err := Wrap(kek, make([]byte, n)); err == nil {
			t.Errorf("Wrap accepted %d octets", n)
		}
	}
	for _, n := range []int{0, 16, 23, 25} {
		if _, err := Unwrap(kek, make([]byte, n)); err == nil || errors.Is(err, ErrIntegrity) {
			t.Errorf("Unwrap of %d octets: err = %v, want a length error", n, err)
		}
	}
	if _, err := Wrap(make([]byte, 7), make([]byte, 16)); err == nil {
		t.Error("Wrap accepted a 7-octet KEK")
	}
	if _, err := Unwrap(make([]byte, 7), make([]byte, 24)); err == nil {
		t.Error("Unwrap accepted a 7-octet KEK")
	}
}

func FuzzUnwrap(f *testing.F) {
	f.Add(unhex(f, rfc3394[0].wrapped))
	f.Add(unhex(f, rfc3394[5].wrapped)[:32])
	kek := unhex(f, rfc3394[0].kek)
	f.Fuzz(func(t *testing.T, wrapped []byte) {
		p, err := Unwrap(kek, wrapped)
		if err != nil {
			return
		}
		w, err := Wrap(kek, p)
		if err != nil || !bytes.Equal(w, wrapped) {
			t.Fatalf("rewrap of %X = %X, %v", wrapped, w, err)
		}
	})
}
