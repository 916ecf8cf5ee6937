package hotline

import (
	"errors"
	"fmt"
	"time"
)

// ErrIDNumber is wrapped by every error of ValidateIDNumber.
var ErrIDNumber = errors.New("invalid ID number")

// idWeights are the GB 11643-1999 weights of the first 17 characters.
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// idCheckChars maps the weighted sum modulo 11 to the check character.
const idCheckChars = "10X98765432"

// IDCheckChar returns the GB 11643 check character of the first 17 digits of a resident
// identity number. It panics if first17 is not 17 ASCII digits, a programming error.
func IDCheckChar(first17 string) byte {
	if len(first17) != 17 {
		panic("IDCheckChar: need 17 digits")
	}
	sum := 0
	for i := 0; i < 17; i++ {
		c := first17[i]
		if c < '0' || c > '9' {
			panic("IDCheckChar: need 17 digits")
		}
		sum += int(c-'0') * idWeights[i]
	}
	return idCheckChars[sum%11]
}

// ValidateIDNumber checks an 18-character resident identity number: digits, a real birth
// date, and the GB 11643 check character (X upper case).
func ValidateIDNumber(id string) error {
	if len(id) != 18 {
		return fmt.Errorf("%w: need 18 characters, got %d", ErrIDNumber, len(id))
	}
	for i := 0; i < 17; i++ {
		if id[i] < '0' || id[i] > '9' {
			return fmt.Errorf("%w: character %d is not a digit", ErrIDNumber, i+1)
		}
	}
	birth, err := time.Parse("20060102", id[6:14])
	if err != nil || birth.Year() < 1900 {
		return fmt.Errorf("%w: bad birth date", ErrIDNumber)
	}
	if want := IDCheckChar(id[:17]); id[17] != want {
		return fmt.Errorf("%w: check character mismatch", ErrIDNumber)
	}
	return nil
}

// MaskIDNumber shows the first 6 and last 4 characters of an ID number, as screens and the
// IVR may; everything between is starred.
func MaskIDNumber(id string) string {
	if len(id) != 18 {
		return "******************"[:len(id)]
	}
	return id[:6] + "********" + id[14:]
}
