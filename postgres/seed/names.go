package seed

import (
	"math/rand/v2"
	"strings"
)

// surnames follows the frequencies of Guangdong, where 陈, 李, 黄 and 梁 lead and Cantonese
// names such as 区, 麦, 冯, 关 and 霍 are far commoner than in the north. Weights are per ten
// thousand, roughly.
var surnames = newWeighted(
	choice[string]{"陈", 1050}, choice[string]{"李", 760}, choice[string]{"黄", 720},
	choice[string]{"梁", 520}, choice[string]{"张", 430}, choice[string]{"王", 330},
	choice[string]{"林", 380}, choice[string]{"何", 360}, choice[string]{"罗", 300},
	choice[string]{"吴", 300}, choice[string]{"刘", 320}, choice[string]{"杨", 230},
	choice[string]{"郭", 150}, choice[string]{"邓", 180}, choice[string]{"麦", 140},
	choice[string]{"冯", 170}, choice[string]{"周", 150}, choice[string]{"谭", 160},
	choice[string]{"蔡", 120}, choice[string]{"曾", 150}, choice[string]{"苏", 110},
	choice[string]{"叶", 140}, choice[string]{"卢", 120}, choice[string]{"潘", 120},
	choice[string]{"区", 90}, choice[string]{"关", 100}, choice[string]{"谢", 130},
	choice[string]{"朱", 110}, choice[string]{"许", 90}, choice[string]{"钟", 110},
	choice[string]{"胡", 80}, choice[string]{"余", 90}, choice[string]{"郑", 100},
	choice[string]{"伍", 80}, choice[string]{"莫", 80}, choice[string]{"彭", 70},
	choice[string]{"江", 60}, choice[string]{"廖", 70}, choice[string]{"赖", 50},
	choice[string]{"邱", 60}, choice[string]{"方", 50}, choice[string]{"杜", 40},
	choice[string]{"徐", 60}, choice[string]{"孙", 40}, choice[string]{"马", 40},
	choice[string]{"高", 40}, choice[string]{"霍", 45}, choice[string]{"招", 25},
	choice[string]{"岑", 30}, choice[string]{"简", 25}, choice[string]{"严", 30},
	choice[string]{"邝", 25}, choice[string]{"植", 15}, choice[string]{"戴", 30},
	choice[string]{"欧阳", 25}, choice[string]{"司徒", 12}, choice[string]{"上官", 3},
	choice[string]{"诸葛", 2},
)

// Given-name characters by sex and generation: those born before 1980 carry the names of
// their time (国强, 淑芬), the younger the names of theirs (子轩, 梓涵).
var (
	maleOld = []rune("国强志明建华伟文军平德荣永辉锦富成立新光耀汉炳棠根权胜添广兴秋海振基")
	maleNew = []rune("子轩浩宇俊杰嘉豪铭泽博文睿宏天佑健峰家乐晓东志鹏伟杰梓聪铭皓卓霖彦希")
	femOld  = []rune("淑芬丽娟秀英玉珍美玲凤霞燕萍婉仪翠兰金好彩群惠娥少琼碧桂月妹爱娇瑞卿")
	femNew  = []rune("梓涵诗琪欣怡嘉敏婷婷晓琳佩珊雅婷颖思慧可欣紫晴丽雯芷若静宜巧灵玥语彤")
)

// givenName returns a one- or two-character given name fitting the sex and birth year.
func givenName(r *rand.Rand, male bool, birthYear int) string {
	var pool []rune
	switch {
	case male && birthYear < 1980:
		pool = maleOld
	case male:
		pool = maleNew
	case birthYear < 1980:
		pool = femOld
	default:
		pool = femNew
	}
	var b strings.Builder
	first := pool[r.IntN(len(pool))]
	b.WriteRune(first)
	if !chance(r, 0.14) {
		second := pool[r.IntN(len(pool))]
		// Doubled characters (婷婷) are a girls' name pattern; redraw them for boys.
		for male && second == first {
			second = pool[r.IntN(len(pool))]
		}
		b.WriteRune(second)
	}
	return b.String()
}

// personName returns a full Chinese name.
func personName(r *rand.Rand, male bool, birthYear int) string {
	return surnames.pick(r) + givenName(r, male, birthYear)
}
