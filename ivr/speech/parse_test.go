package speech

import (
	"fmt"
	"strings"
)

// This file is an independent reader of Chinese numerals, written from the
// numeral system rather than from the speaking code, so that the tests can
// prove that what is said means the value it was asked to say.

var hanDigits = map[rune]int64{
	'零': 0, '一': 1, '幺': 1, '二': 2, '两': 2, '三': 3, '四': 4,
	'五': 5, '六': 6, '七': 7, '八': 8, '九': 9,
}

var hanSmallUnits = map[rune]int64{'十': 10, '百': 100, '千': 1000}

// parseHanCardinal reads a Chinese cardinal below 10^16 such as 一万亿零一千万.
func parseHanCardinal(s string) (int64, error) {
	neg := false
	if rest, ok := strings.CutPrefix(s, "负"); ok {
		neg, s = true, rest
	}
	if s == "" {
		return 0, fmt.Errorf("empty numeral")
	}
	var total, section, num int64
	haveNum := false
	for i, r := range []rune(s) {
		if d, ok := hanDigits[r]; ok {
			if haveNum && d != 0 {
				return 0, fmt.Errorf("%q: two digits in a row at %d", s, i)
			}
			num, haveNum = d, d != 0
			continue
		}
		if u, ok := hanSmallUnits[r]; ok {
			if !haveNum {
				if r != '十' {
					return 0, fmt.Errorf("%q: %c without a digit", s, r)
				}
				num = 1 // bare 十
			}
			section += num * u
			num, haveNum = 0, false
			continue
		}
		switch r {
		case '万':
			section = (section + num) * 1e4
		case '亿':
			total = (total + section + num) * 1e8
			section = 0
		default:
			return 0, fmt.Errorf("%q: unexpected %c", s, r)
		}
		num, haveNum = 0, false
	}
	v := total + section + num
	if neg {
		v = -v
	}
	return v, nil
}

// parseHanMoney reads an amount such as 二十元零五分 and returns fen.
func parseHanMoney(s string) (int64, error) {
	neg := false
	if rest, ok := strings.CutPrefix(s, "负"); ok {
		neg, s = true, rest
	}
	var fen int64
	if yuan, rest, ok := strings.Cut(s, "元"); ok {
		y, err := parseHanCardinal(yuan)
		if err != nil {
			return 0, fmt.Errorf("yuan: %w", err)
		}
		fen, s = y*100, strings.TrimPrefix(rest, "零")
	}
	for _, unit := range []struct {
		name string
		fen  int64
	}{{"角", 10}, {"分", 1}} {
		if n, rest, ok := strings.Cut(s, unit.name); ok {
			d, err := parseHanCardinal(n)
			if err != nil || d < 1 || d > 9 {
				return 0, fmt.Errorf("%s %q: bad count", unit.name, n)
			}
			fen, s = fen+d*unit.fen, rest
		}
	}
	if s != "" {
		return 0, fmt.Errorf("trailing %q", s)
	}
	if neg {
		fen = -fen
	}
	return fen, nil
}
