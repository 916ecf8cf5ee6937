package speech

import (
	"strings"
	"testing"
)

// maxFen is the largest amount the money reading is proven on: 10^12 fen.
const maxFen = 1_000_000_000_000

// checkMoney verifies the reading of fen in both languages: non-empty, made of
// known fragments only, canonical, and read back to the same amount.
func checkMoney(t *testing.T, fen int64) {
	t.Helper()
	for _, lang := range []Lang{Mandarin, Cantonese} {
		frags := Money(fen, lang)
		if len(frags) == 0 {
			t.Fatalf("Money(%d, %s) is empty", fen, lang)
		}
		for _, f := range frags {
			if !Known(f) {
				t.Fatalf("Money(%d, %s) has unknown fragment %q", fen, lang, f)
			}
		}
		text := Text(frags, lang)
		checkCanonical(t, text)
		got, err := parseHanMoney(text)
		if err != nil {
			t.Fatalf("Money(%d, %s) = %q does not parse: %v", fen, lang, text, err)
		}
		if got != fen {
			t.Fatalf("Money(%d, %s) = %q reads back as %d", fen, lang, text, got)
		}
	}
}

// checkCanonical verifies properties of a well-formed reading of a
// non-zero value: one 零 per gap, none before a unit or at the end, bare 十
// at the start, and no 幺 outside digit strings.
func checkCanonical(t *testing.T, text string) {
	t.Helper()
	if text == "零元" {
		return
	}
	for _, bad := range []string{"零零", "零万", "零亿", "零元", "幺"} {
		if strings.Contains(text, bad) {
			t.Fatalf("%q contains %q", text, bad)
		}
	}
	if strings.HasPrefix(text, "一十") || strings.HasPrefix(text, "负一十") {
		t.Fatalf("%q starts with 一十", text)
	}
	if strings.HasSuffix(text, "零") {
		t.Fatalf("%q ends with 零", text)
	}
}

func FuzzMoney(f *testing.F) {
	for _, seed := range []int64{
		0, 1, 2, 10, 20, 100, 200, 2005, 100530, 1001010, 1640902,
		10000000, 20000000000, 100000000000, maxFen - 1, maxFen,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, n int64) {
		fen := n % (maxFen + 1)
		if fen < 0 {
			fen = -fen
		}
		checkMoney(t, fen)
	})
}

func FuzzCardinal(f *testing.F) {
	for _, seed := range []int64{0, 2, 10, 15, 115, 1005, 10010, 22222, 100000001, 1000000000000, -200} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, n int64) {
		n %= 1e16 // the reader does not know 亿亿
		text := Text(Cardinal(n, Mandarin), Mandarin)
		got, err := parseHanCardinal(text)
		if err != nil {
			t.Fatalf("Cardinal(%d) = %q does not parse: %v", n, text, err)
		}
		if got != n {
			t.Fatalf("Cardinal(%d) = %q reads back as %d", n, text, got)
		}
		if n > 0 {
			checkCanonical(t, text)
		}
	})
}

// TestMoneySweep reads every amount up to 1,000 yuan and a spread of larger
// ones up to 10^12 fen.
func TestMoneySweep(t *testing.T) {
	for fen := int64(0); fen <= 100_000; fen++ {
		checkMoney(t, fen)
	}
	for p := int64(1); p <= maxFen; p *= 10 {
		for _, k := range []int64{1, 2, 3, 9, 11} {
			for _, d := range []int64{-1, 0, 1, 5} {
				if fen := p*k + d; fen >= 0 && fen <= maxFen {
					checkMoney(t, fen)
				}
			}
		}
	}
	for x := uint64(1); x < 200_000; x++ {
		checkMoney(t, int64(x*x*2654435761%(maxFen+1)))
	}
}

func TestParseHan(t *testing.T) {
	tests := []struct {
		s    string
		want int64
		bad  bool
	}{
		{s: "十五", want: 15},
		{s: "一万亿零一千万", want: 1000010000000},
		{s: "两千零二", want: 2002},
		{s: "负二十", want: -20},
		{s: "一二", bad: true},
		{s: "百", bad: true},
		{s: "十元", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.s, func(t *testing.T) {
			got, err := parseHanCardinal(tt.s)
			if got, want := err != nil, tt.bad; got != want {
				t.Fatalf("parseHanCardinal(%q) error = %v, want error %v", tt.s, err, want)
			}
			if !tt.bad && got != tt.want {
				t.Errorf("parseHanCardinal(%q) = %d, want %d", tt.s, got, tt.want)
			}
		})
	}
}
