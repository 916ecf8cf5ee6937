package seed

import (
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
)

func TestPermutationIsBijective(t *testing.T) {
	for _, n := range []uint64{1, 2, 10, 97, 1000, 4096, 40_000} {
		p := newPermutation(42, 7, n)
		seen := make([]bool, n)
		for i := uint64(0); i < n; i++ {
			k := p.of(i)
			if k >= n || seen[k] {
				t.Fatalf("n=%d: image %d of %d repeated or out of range", n, k, i)
			}
			seen[k] = true
		}
	}
}

func TestPermutationLargeRange(t *testing.T) {
	// The mobile permutation multiplies numbers near 4e9; the 128-bit product must not wrap.
	m := newMobiles(1)
	seen := map[string]bool{}
	for i := 0; i < 100_000; i++ {
		s := m.of(i)
		if len(s) != 11 || seen[s] {
			t.Fatalf("mobile %d: %q (repeated: %v)", i, s, seen[s])
		}
		seen[s] = true
	}
}

func TestIDNumbersStayUniqueAndKeepSex(t *testing.T) {
	ids := newIDNumbers(0)
	birth := time.Date(1990, 2, 28, 0, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	// Everyone drawing the same sequence code forces every clash there can be.
	for i := 0; i < 400; i++ {
		male := i%2 == 0
		id := ids.next("440605", birth, male, 123)
		if err := hotline.ValidateIDNumber(id); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if seen[id] {
			t.Fatalf("%s given twice", id)
		}
		seen[id] = true
		if odd := (id[16]-'0')%2 == 1; odd != male {
			t.Errorf("%s: sequence parity says male=%v, want %v", id, odd, male)
		}
		if got, want := id[6:14], "19900228"; got != want {
			t.Errorf("%s: birth %s, want %s", id, got, want)
		}
	}
}

func TestWeakPIN(t *testing.T) {
	for _, tc := range []struct {
		pin  string
		weak bool
	}{
		{"000000", true},
		{"888888", true},
		{"123456", true},
		{"654321", true},
		{"345678", true},
		{"123457", false},
		{"829366", false},
		{"000001", false},
	} {
		t.Run(tc.pin, func(t *testing.T) {
			if got, want := weakPIN(tc.pin), tc.weak; got != want {
				t.Errorf("weakPIN(%s) = %v, want %v", tc.pin, got, want)
			}
		})
	}
}

func TestPINPool(t *testing.T) {
	pins := pinPool(5)
	if got, want := len(pins), PINPoolSize; got != want {
		t.Fatalf("%d PINs, want %d", got, want)
	}
	seen := map[string]bool{}
	for _, p := range pins {
		if len(p) != 6 || seen[p] || weakPIN(p) {
			t.Errorf("PIN %q: short, repeated or weak", p)
		}
		seen[p] = true
	}
	if again := pinPool(5); again[0] != pins[0] || again[len(again)-1] != pins[len(pins)-1] {
		t.Errorf("the same seed drew a different PIN pool")
	}
}

func TestGivenNamesFitSex(t *testing.T) {
	r := newSource(3, streamCore).at(0)
	for i := 0; i < 1000; i++ {
		name := []rune(givenName(r, true, 1995))
		if len(name) < 1 || len(name) > 2 {
			t.Fatalf("given name %q", string(name))
		}
		if len(name) == 2 && name[0] == name[1] {
			t.Errorf("doubled male given name %q", string(name))
		}
	}
}
