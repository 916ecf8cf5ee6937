// Package pii protects personal data at rest: ID numbers are sealed with AES-GCM for display
// and keyed-hashed with HMAC-SHA256 for lookup, so the database never holds them in clear;
// phone-service PINs are hashed with bcrypt.
package pii

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/bcrypt"
)

// KeySize is the length in bytes of both the sealing key and the lookup key.
const KeySize = 32

// Keys are the two secrets of a Protector: one to seal, one to derive lookup hashes. They must
// differ, so that knowing one reveals nothing about the other.
type Keys struct {
	Seal   []byte
	Lookup []byte
}

// GenerateKeys returns fresh random keys.
func GenerateKeys() (Keys, error) {
	k := Keys{Seal: make([]byte, KeySize), Lookup: make([]byte, KeySize)}
	if _, err := rand.Read(k.Seal); err != nil {
		return Keys{}, fmt.Errorf("generate seal key: %w", err)
	}
	if _, err := rand.Read(k.Lookup); err != nil {
		return Keys{}, fmt.Errorf("generate lookup key: %w", err)
	}
	return k, nil
}

// DecodeKey decodes a base64 (standard or URL alphabet) key of KeySize bytes.
func DecodeKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != KeySize {
				return nil, fmt.Errorf("key must be %d bytes, got %d", KeySize, len(b))
			}
			return b, nil
		}
	}
	return nil, errors.New("key is not valid base64")
}

// EncodeKey is the inverse of DecodeKey.
func EncodeKey(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// Protector seals, opens and hashes personal identifiers. It is safe for concurrent use.
type Protector struct {
	aead   cipher.AEAD
	lookup []byte
	rand   io.Reader
}

// NewProtector returns a Protector for the keys.
func NewProtector(k Keys) (*Protector, error) {
	if len(k.Seal) != KeySize || len(k.Lookup) != KeySize {
		return nil, fmt.Errorf("pii keys must be %d bytes each", KeySize)
	}
	if hmac.Equal(k.Seal, k.Lookup) {
		return nil, errors.New("pii seal and lookup keys must differ")
	}
	block, err := aes.NewCipher(k.Seal)
	if err != nil {
		return nil, fmt.Errorf("pii cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("pii gcm: %w", err)
	}
	return &Protector{aead: aead, lookup: append([]byte(nil), k.Lookup...), rand: rand.Reader}, nil
}

// WithRand returns a copy of p that draws nonces from r. The seed generator uses it to make
// the same data from the same seed; nothing else should.
func (p *Protector) WithRand(r io.Reader) *Protector {
	q := *p
	q.rand = r
	return &q
}

// Seal encrypts plaintext; the result is nonce followed by ciphertext and tag.
func (p *Protector) Seal(plaintext string) ([]byte, error) {
	nonce := make([]byte, p.aead.NonceSize(), p.aead.NonceSize()+len(plaintext)+p.aead.Overhead())
	if _, err := io.ReadFull(p.rand, nonce); err != nil {
		return nil, fmt.Errorf("pii nonce: %w", err)
	}
	return p.aead.Seal(nonce, nonce, []byte(plaintext), nil), nil
}

// Open decrypts what Seal produced.
func (p *Protector) Open(sealed []byte) (string, error) {
	n := p.aead.NonceSize()
	if len(sealed) < n+p.aead.Overhead() {
		return "", errors.New("pii: sealed value too short")
	}
	plain, err := p.aead.Open(nil, sealed[:n], sealed[n:], nil)
	if err != nil {
		return "", fmt.Errorf("pii: open sealed value: %w", err)
	}
	return string(plain), nil
}

// LookupHash returns the keyed hash under which an identifier is found.
func (p *Protector) LookupHash(id string) []byte {
	m := hmac.New(sha256.New, p.lookup)
	m.Write([]byte(id))
	return m.Sum(nil)
}

// PINCost is the bcrypt cost of phone-service PIN hashes.
const PINCost = 10

// HashPIN returns the slow hash of a phone-service PIN at the given bcrypt cost.
func HashPIN(pin string, cost int) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(pin), cost)
	if err != nil {
		return "", fmt.Errorf("hash pin: %w", err)
	}
	return string(h), nil
}

// CheckPIN reports whether pin matches hash.
func CheckPIN(hash, pin string) bool {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pin)) == nil
}
