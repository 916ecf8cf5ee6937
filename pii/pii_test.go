package pii

import (
	"bytes"
	"strings"
	"testing"
)

func testProtector(t *testing.T) *Protector {
	t.Helper()
	k, err := GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProtector(k)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSealOpen(t *testing.T) {
	p := testProtector(t)
	const id = "440604199003071236"
	a, err := p.Seal(id)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := p.Seal(id)
	if bytes.Equal(a, b) {
		t.Error("two seals of one value are equal: nonce reused")
	}
	if bytes.Contains(a, []byte(id)) || bytes.Contains(a, []byte("1236")) {
		t.Error("sealed value contains the clear text")
	}
	got, err := p.Open(a)
	if err != nil {
		t.Fatal(err)
	}
	if got != id {
		t.Errorf("Open = %q, want %q", got, id)
	}
	a[len(a)-1] ^= 1
	if _, err := p.Open(a); err == nil {
		t.Error("Open of a tampered value succeeded")
	}
}

func TestLookupHash(t *testing.T) {
	p, q := testProtector(t), testProtector(t)
	if !bytes.Equal(p.LookupHash("x"), p.LookupHash("x")) {
		t.Error("LookupHash is not deterministic")
	}
	if bytes.Equal(p.LookupHash("x"), q.LookupHash("x")) {
		t.Error("LookupHash does not depend on the key")
	}
}

func TestKeys(t *testing.T) {
	k, _ := GenerateKeys()
	dec, err := DecodeKey(EncodeKey(k.Seal))
	if err != nil || !bytes.Equal(dec, k.Seal) {
		t.Fatalf("DecodeKey(EncodeKey) = %v, %v", dec, err)
	}
	if _, err := DecodeKey("c2hvcnQ="); err == nil || !strings.Contains(err.Error(), "32 bytes") {
		t.Errorf("short key error = %v", err)
	}
	if _, err := NewProtector(Keys{Seal: k.Seal, Lookup: k.Seal}); err == nil {
		t.Error("equal keys accepted")
	}
}

func TestPIN(t *testing.T) {
	h, err := HashPIN("123456", 4)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(h, "123456") {
		t.Error("hash contains the PIN")
	}
	if !CheckPIN(h, "123456") || CheckPIN(h, "123457") {
		t.Error("CheckPIN gives wrong answers")
	}
}
