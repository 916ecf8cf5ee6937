package speech

import (
	"math"
	"testing"
	"time"
)

func TestMoney(t *testing.T) {
	tests := []struct {
		fen  int64
		lang Lang
		want string
	}{
		{100530, Mandarin, "一千零五元三角"},
		{2005, Mandarin, "二十元零五分"},
		{10000000, Mandarin, "十万元"},
		{200, Mandarin, "两元"},
		{11500, Mandarin, "一百一十五元"},
		{1640902, Mandarin, "一万六千四百零九元零二分"},
		{1001010, Mandarin, "一万零一十元一角"},
		{20000000000, Mandarin, "两亿元"},
		{0, Mandarin, "零元"},
		{1200, Mandarin, "十二元"},
		{2200, Mandarin, "二十二元"},
		{20000, Mandarin, "两百元"},
		{122, Mandarin, "一元二角二分"},
		{222, Mandarin, "两元二角二分"},
		{1220, Mandarin, "十二元二角"},
		{30, Mandarin, "三角"},
		{5, Mandarin, "五分"},
		{2, Mandarin, "两分"},
		{20, Mandarin, "两角"},
		{32, Mandarin, "三角二分"},
		{-1550, Mandarin, "负十五元五角"},
		{100000000000000, Mandarin, "一万亿元"},
		{100530, Cantonese, "一千零五元三角"},
		{2005, Cantonese, "二十元零五分"},
		{200, Cantonese, "两元"},
		{1640902, Cantonese, "一万六千四百零九元零二分"},
	}
	for _, tt := range tests {
		t.Run(string(tt.lang)+"/"+tt.want, func(t *testing.T) {
			if got, want := Text(Money(tt.fen, tt.lang), tt.lang), tt.want; got != want {
				t.Errorf("Money(%d) = %q, want %q", tt.fen, got, want)
			}
		})
	}
}

func TestCardinal(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "零"},
		{1, "一"},
		{2, "二"},
		{10, "十"},
		{12, "十二"},
		{15, "十五"},
		{20, "二十"},
		{101, "一百零一"},
		{110, "一百一十"},
		{115, "一百一十五"},
		{200, "两百"},
		{1005, "一千零五"},
		{1050, "一千零五十"},
		{2000, "两千"},
		{2002, "两千零二"},
		{10005, "一万零五"},
		{10010, "一万零一十"},
		{12000, "一万二千"},
		{20000, "两万"},
		{22222, "两万二千二百二十二"},
		{100000, "十万"},
		{150000, "十五万"},
		{1000100, "一百万零一百"},
		{20000000, "两千万"},
		{100000001, "一亿零一"},
		{101000000, "一亿零一百万"},
		{110000000, "一亿一千万"},
		{100010000, "一亿零一万"},
		{200000000, "两亿"},
		{2000000000, "二十亿"},
		{1000000000000, "一万亿"},
		{2000000000000, "两万亿"},
		{1000010000000, "一万亿零一千万"},
		{-2, "负二"},
		{-200, "负两百"},
		{math.MaxInt64, "九百二十二亿三千三百七十二万零三百六十八亿五千四百七十七万五千八百零七"},
		{math.MinInt64, "负九百二十二亿三千三百七十二万零三百六十八亿五千四百七十七万五千八百零八"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			for _, lang := range []Lang{Mandarin, Cantonese} {
				if got, want := Text(Cardinal(tt.n, lang), lang), tt.want; got != want {
					t.Errorf("Cardinal(%d, %s) = %q, want %q", tt.n, lang, got, want)
				}
			}
		})
	}
}

func TestQuantity(t *testing.T) {
	tests := []struct {
		n    int64
		unit Fragment
		want string
	}{
		{2, Wei, "两位"},
		{12, Wei, "十二位"},
		{1, Ge, "一个"},
		{36, Ge, "三十六个"},
		{5, Minutes, "五分钟"},
		{200, Ge, "两百个"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got, want := Text(Quantity(tt.n, tt.unit, Mandarin), Mandarin), tt.want; got != want {
				t.Errorf("Quantity(%d) = %q, want %q", tt.n, got, want)
			}
		})
	}
}

func TestDigits(t *testing.T) {
	tests := []struct {
		s    string
		lang Lang
		want string
		last string
	}{
		{"13800138000", Mandarin, "幺三八零零幺三八零零零", "八零零零"},
		{"13800138000", Cantonese, "一三八零零一三八零零零", "八零零零"},
		{"44060419900101123X", Mandarin, "四四零六零四幺九九零零幺零幺幺二三X", "幺二三X"},
		{"4406 0419-9001", Cantonese, "四四零六零四一九九零零一", "九零零一"},
		{"12", Mandarin, "幺二", "幺二"},
		{"", Mandarin, "", ""},
	}
	for _, tt := range tests {
		t.Run(string(tt.lang)+"/"+tt.s, func(t *testing.T) {
			if got, want := Text(Digits(tt.s, tt.lang), tt.lang), tt.want; got != want {
				t.Errorf("Digits = %q, want %q", got, want)
			}
			if got, want := Text(LastDigits(tt.s, tt.lang), tt.lang), tt.last; got != want {
				t.Errorf("LastDigits = %q, want %q", got, want)
			}
		})
	}
}

func TestDate(t *testing.T) {
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		name string
		got  []Fragment
		lang Lang
		want string
	}{
		{"year 2026", Date(day(2026, 3, 5), Mandarin), Mandarin, "二零二六年三月五日"},
		{"no yao in years", Date(day(2011, 11, 11), Mandarin), Mandarin, "二零一一年十一月十一日"},
		{"er in dates", Date(day(2022, 2, 22), Mandarin), Mandarin, "二零二二年二月二十二日"},
		{"end of year", Date(day(2026, 12, 31), Mandarin), Mandarin, "二零二六年十二月三十一日"},
		{"cantonese hao", Date(day(2026, 3, 5), Cantonese), Cantonese, "二零二六年三月五号"},
		{"year month", YearMonth(day(2026, 10, 1), Mandarin), Mandarin, "二零二六年十月"},
		{"month day", MonthDay(day(2026, 12, 25), Cantonese), Cantonese, "十二月二十五号"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := Text(tt.got, tt.lang), tt.want; got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

func TestTime(t *testing.T) {
	tests := []struct {
		h, m int
		want string
	}{
		{0, 30, "上午零点三十分"},
		{9, 0, "上午九点"},
		{8, 30, "上午八点三十分"},
		{11, 59, "上午十一点五十九分"},
		{12, 0, "中午十二点"},
		{12, 15, "中午十二点十五分"},
		{14, 5, "下午两点零五分"},
		{14, 2, "下午两点零二分"},
		{17, 20, "下午五点二十分"},
		{18, 0, "晚上六点"},
		{22, 12, "晚上十点十二分"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			at := time.Date(2026, 3, 5, tt.h, tt.m, 0, 0, time.UTC)
			for _, lang := range []Lang{Mandarin, Cantonese} {
				if got, want := Text(Time(at, lang), lang), tt.want; got != want {
					t.Errorf("Time(%02d:%02d, %s) = %q, want %q", tt.h, tt.m, lang, got, want)
				}
			}
		})
	}
}

func TestText(t *testing.T) {
	tests := []struct {
		frags []Fragment
		lang  Lang
		want  string
	}{
		{[]Fragment{fDay}, Mandarin, "日"},
		{[]Fragment{fDay}, Cantonese, "号"},
		{[]Fragment{fDay}, "en", "日"},
		{[]Fragment{fOne, "menu/main", fTwo}, Mandarin, "一{menu/main}二"},
		{nil, Mandarin, ""},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got, want := Text(tt.frags, tt.lang), tt.want; got != want {
				t.Errorf("Text = %q, want %q", got, want)
			}
		})
	}
}

func TestInventory(t *testing.T) {
	inv := Inventory()
	if got, want := len(inv), len(texts); got != want {
		t.Fatalf("len(Inventory()) = %d, want %d", got, want)
	}
	for i, f := range inv {
		if i > 0 && inv[i-1] >= f {
			t.Errorf("Inventory not sorted at %d: %q >= %q", i, inv[i-1], f)
		}
		for _, lang := range []Lang{Mandarin, Cantonese} {
			if s, ok := FragmentText(f, lang); !ok || s == "" {
				t.Errorf("FragmentText(%q, %s) = %q, %v", f, lang, s, ok)
			}
		}
	}
	if Known("menu/main") {
		t.Error(`Known("menu/main") = true, want false`)
	}
}
