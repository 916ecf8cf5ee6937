package speech

import (
	"strconv"
	"time"
)

// Date returns the fragments of the calendar date of t: 二零二六年三月五日
// (Cantonese 二零二六年三月五号).
func Date(t time.Time, lang Lang) []Fragment {
	out := appendYear(nil, t.Year())
	return appendMonthDay(out, t)
}

// YearMonth returns the fragments of the year and month of t, as for a bill
// period: 二零二六年三月.
func YearMonth(t time.Time, lang Lang) []Fragment {
	out := appendYear(nil, t.Year())
	out = appendNumber(out, int64(t.Month()), false)
	return append(out, fMonth)
}

// MonthDay returns the fragments of the month and day of t: 十二月二十五日.
func MonthDay(t time.Time, lang Lang) []Fragment {
	return appendMonthDay(nil, t)
}

// Time returns the fragments of the time of day of t on a 12-hour clock
// with a period word: 上午九点, 下午两点零五分, 中午十二点三十分.
func Time(t time.Time, lang Lang) []Fragment {
	h, m := t.Hour(), t.Minute()
	out := make([]Fragment, 0, 8)
	switch {
	case h < 12:
		out = append(out, fMorning)
	case h < 13:
		out = append(out, fNoon)
	case h < 18:
		out = append(out, fAfter)
	default:
		out = append(out, fEvening)
	}
	if h > 12 {
		h -= 12
	}
	out = appendNumber(out, int64(h), true)
	out = append(out, fOClock)
	switch {
	case m == 0:
		return out
	case m < 10:
		out = append(out, fZero, digitFrags[m])
	default:
		out = appendNumber(out, int64(m), false)
	}
	return append(out, fMinute)
}

// appendYear appends the year digit by digit, 1 as 一 in both languages.
func appendYear(out []Fragment, year int) []Fragment {
	if year < 0 {
		out = append(out, fMinus)
		year = -year
	}
	for _, r := range strconv.Itoa(year) {
		out = append(out, digitFrags[r-'0'])
	}
	return append(out, fYear)
}

func appendMonthDay(out []Fragment, t time.Time) []Fragment {
	out = appendNumber(out, int64(t.Month()), false)
	out = append(out, fMonth)
	out = appendNumber(out, int64(t.Day()), false)
	return append(out, fDay)
}
