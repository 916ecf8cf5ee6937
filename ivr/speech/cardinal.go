package speech

// PersonalDigits is how many trailing characters of a personal number (ID,
// mobile, account) LastDigits reads back.
const PersonalDigits = 4

// Cardinal returns the fragments of the cardinal n (1005 一千零五, 2 二,
// 200 两百, -3 负三).
func Cardinal(n int64, lang Lang) []Fragment {
	return appendNumber(nil, n, false)
}

// Quantity returns the fragments of n followed by the measure word unit, for
// counts such as 两位 or 三十六个 (see Ge, Wei, Minutes); a lone 2 is 两.
func Quantity(n int64, unit Fragment, lang Lang) []Fragment {
	return append(appendNumber(nil, n, true), unit)
}

// Digits returns the fragments reading s one character at a time: the digits
// 0–9 (1 is 幺 in Mandarin, 一 in Cantonese) and the ID check character X.
// Anything else, such as spaces or dashes, is skipped.
func Digits(s string, lang Lang) []Fragment {
	out := make([]Fragment, 0, len(s))
	for _, r := range s {
		switch {
		case r == '1' && lang != Cantonese:
			out = append(out, fYao)
		case r >= '0' && r <= '9':
			out = append(out, digitFrags[r-'0'])
		case r == 'X' || r == 'x':
			out = append(out, fX)
		}
	}
	return out
}

// LastDigits returns the fragments reading only the last PersonalDigits
// characters of a personal number, as Digits reads them.
func LastDigits(s string, lang Lang) []Fragment {
	all := Digits(s, lang)
	if len(all) > PersonalDigits {
		all = all[len(all)-PersonalDigits:]
	}
	return all
}

// appendNumber appends the reading of n; measure says that a measure word
// follows, so that a lone 2 is 两.
func appendNumber(out []Fragment, n int64, measure bool) []Fragment {
	if n == 0 {
		return append(out, fZero)
	}
	u := uint64(n)
	if n < 0 {
		out = append(out, fMinus)
		u = -u // two's complement: right for math.MinInt64 too
	}
	return appendCardinal(out, u, true, measure)
}

// bigUnits are the group names of the four-digit groups, largest first.
var bigUnits = [...]struct {
	div uint64
	f   Fragment
}{{1e8, fYi}, {1e4, fWan}}

// appendCardinal appends the reading of u > 0. lead says u starts the whole
// number (bare 十, leading 两); unit says 万, 亿 or a measure word follows u.
func appendCardinal(out []Fragment, u uint64, lead, unit bool) []Fragment {
	for _, big := range bigUnits {
		if u < big.div {
			continue
		}
		hi, lo := u/big.div, u%big.div
		out = appendCardinal(out, hi, lead, true)
		out = append(out, big.f)
		if lo == 0 {
			return out
		}
		// One 零 for the gap: the low part is short (一万零五), or a whole
		// 亿 group is zero (一万亿零一千万).
		if lo < big.div/10 || (big.f == fYi && hi%1e4 == 0) {
			out = append(out, fZero)
		}
		return appendCardinal(out, lo, false, unit)
	}
	return appendGroup(out, u, lead, unit)
}

// appendGroup appends the reading of 0 < u < 10000.
func appendGroup(out []Fragment, u uint64, lead, unit bool) []Fragment {
	units := [4]Fragment{fQian, fBai, fShi, ""}
	digits := [4]uint64{u / 1000, u / 100 % 10, u / 10 % 10, u % 10}
	started, gap := false, false
	for i, d := range digits {
		if d == 0 {
			gap = started
			continue
		}
		if gap {
			out = append(out, fZero)
			gap = false
		}
		first := lead && !started
		switch {
		case first && d == 1 && i == 2:
			// 十 is bare at the start: 十五, 十万.
		case first && d == 2 && (i < 2 || (i == 3 && unit)):
			out = append(out, fLiang)
		default:
			out = append(out, digitFrags[d])
		}
		if units[i] != "" {
			out = append(out, units[i])
		}
		started = true
	}
	return out
}
