package speech

import (
	"slices"
	"strings"
)

// Fragment is the id of a prompt in the sound manifest, such as "num/5" or
// "cur/yuan"; the IVR plays a value by playing its fragments in order.
type Fragment string

// Lang is a prompt language code as used in the sound manifest.
type Lang string

// Languages with reading rules of their own.
const (
	// Mandarin is Putonghua (普通话).
	Mandarin Lang = "zh"
	// Cantonese is Guangdonghua (广东话), as spoken in Foshan.
	Cantonese Lang = "yue"
)

// Fragments of numbers, money, dates and times, used inside the package.
const (
	fZero    Fragment = "num/0"
	fOne     Fragment = "num/1"
	fTwo     Fragment = "num/2"
	fThree   Fragment = "num/3"
	fFour    Fragment = "num/4"
	fFive    Fragment = "num/5"
	fSix     Fragment = "num/6"
	fSeven   Fragment = "num/7"
	fEight   Fragment = "num/8"
	fNine    Fragment = "num/9"
	fYao     Fragment = "num/yao"   // 幺, Mandarin's 1 in digit strings
	fLiang   Fragment = "num/liang" // 两, the 2 of counts
	fShi     Fragment = "num/shi"   // 十
	fBai     Fragment = "num/bai"   // 百
	fQian    Fragment = "num/qian"  // 千
	fWan     Fragment = "num/wan"   // 万
	fYi      Fragment = "num/yi"    // 亿
	fMinus   Fragment = "num/minus" // 负
	fX       Fragment = "num/x"     // the check character X of an ID number
	fYuan    Fragment = "cur/yuan"
	fJiao    Fragment = "cur/jiao"
	fFen     Fragment = "cur/fen"
	fYear    Fragment = "date/year"
	fMonth   Fragment = "date/month"
	fDay     Fragment = "date/day"
	fMorning Fragment = "time/morning"
	fNoon    Fragment = "time/noon"
	fAfter   Fragment = "time/afternoon"
	fEvening Fragment = "time/evening"
	fOClock  Fragment = "time/oclock" // 点
	fMinute  Fragment = "time/minute" // 分 of a time of day
)

// Measure words for Quantity.
const (
	// Ge is 个, the general measure word (三个账户, 三十六个月).
	Ge Fragment = "unit/ge"
	// Wei is 位, the measure word for people (前面还有两位).
	Wei Fragment = "unit/wei"
	// Minutes is 分钟, a duration in minutes (约五分钟).
	Minutes Fragment = "unit/minutes"
)

// digitFrags maps 0–9 to their fragments.
var digitFrags = [10]Fragment{fZero, fOne, fTwo, fThree, fFour, fFive, fSix, fSeven, fEight, fNine}

// texts holds the Mandarin text of every fragment; cantonese overrides some.
var texts = map[Fragment]string{
	fZero: "零", fOne: "一", fTwo: "二", fThree: "三", fFour: "四",
	fFive: "五", fSix: "六", fSeven: "七", fEight: "八", fNine: "九",
	fYao: "幺", fLiang: "两", fShi: "十", fBai: "百", fQian: "千",
	fWan: "万", fYi: "亿", fMinus: "负", fX: "X",
	fYuan: "元", fJiao: "角", fFen: "分",
	fYear: "年", fMonth: "月", fDay: "日",
	fMorning: "上午", fNoon: "中午", fAfter: "下午", fEvening: "晚上",
	fOClock: "点", fMinute: "分",
	Ge: "个", Wei: "位", Minutes: "分钟",
}

// cantonese holds the fragments whose Cantonese text differs from Mandarin.
var cantonese = map[Fragment]string{
	fDay: "号",
}

// Inventory returns every fragment this package can produce, sorted by id.
// The sound manifest must have a prompt for each of them.
func Inventory() []Fragment {
	out := make([]Fragment, 0, len(texts))
	for f := range texts {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

// Known reports whether f is in the inventory.
func Known(f Fragment) bool {
	_, ok := texts[f]
	return ok
}

// FragmentText returns the Han text of one fragment in lang, and false if
// the fragment is not in the inventory.
func FragmentText(f Fragment, lang Lang) (string, bool) {
	if lang == Cantonese {
		if s, ok := cantonese[f]; ok {
			return s, true
		}
	}
	s, ok := texts[f]
	return s, ok
}

// Text renders frags as Han text in lang, for captions and tests. A fragment
// outside the inventory is rendered as its id in braces.
func Text(frags []Fragment, lang Lang) string {
	var b strings.Builder
	for _, f := range frags {
		if s, ok := FragmentText(f, lang); ok {
			b.WriteString(s)
			continue
		}
		b.WriteString("{" + string(f) + "}")
	}
	return b.String()
}
