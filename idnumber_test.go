package hotline

import (
	"errors"
	"testing"
)

func TestValidateIDNumber(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"11010519491231002X", true},  // the standard's own example
		{"440604199003071236", true},  // checked by hand: sum 259, 259 mod 11 = 6 → 6
		{"440524188001010014", false}, // born before 1900
		{"11010519491231002x", false}, // lower-case x is not accepted
		{"110105194912310021", false}, // wrong check character
		{"440604199913320011", false}, // month 13
		{"4406041999010100", false},   // too short
		{"44060419990101001A", false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			err := ValidateIDNumber(tt.id)
			if got := err == nil; got != tt.ok {
				t.Fatalf("ValidateIDNumber(%q) = %v, want ok=%v", tt.id, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrIDNumber) {
				t.Errorf("error %v does not wrap ErrIDNumber", err)
			}
		})
	}
}

func TestIDCheckCharCoversX(t *testing.T) {
	// Some 17-digit prefix must produce X; find one by varying the sequence number, and
	// check the complete number validates.
	for seq := 0; seq < 1000; seq++ {
		first17 := "44060619900101" + string(rune('0'+seq/100)) + string(rune('0'+seq/10%10)) + string(rune('0'+seq%10))
		if IDCheckChar(first17) == 'X' {
			if err := ValidateIDNumber(first17 + "X"); err != nil {
				t.Fatalf("ValidateIDNumber(%sX) = %v", first17, err)
			}
			return
		}
	}
	t.Fatal("no prefix with check character X among 1000 sequence numbers")
}

func TestMaskIDNumber(t *testing.T) {
	if got, want := MaskIDNumber("11010519491231002X"), "110105********002X"; got != want {
		t.Errorf("MaskIDNumber = %q, want %q", got, want)
	}
}
