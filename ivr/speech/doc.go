// Package speech turns values — amounts of money, cardinals, digit strings,
// dates and times — into the prompt fragments that speak them in Mandarin
// (zh) or Cantonese (yue).
//
// A Fragment is a prompt id from the sound manifest (sounds/manifest.yaml):
// the IVR plays the fragments one after another, and Text renders the same
// sequence as Han text for captions and tests. Asterisk's own "say"
// application is not used: its Chinese rules are wrong (115 → 一百十五, no 两,
// years read as cardinals).
//
// # Rules
//
// Cardinals are read in groups of four digits (万, 亿; 10^12 is 一万亿):
//   - one 零 per gap of zeros, never at the end: 1005 一千零五, 10005 一万零五,
//     100000001 一亿零一, 10010 一万零一十, and for a whole zero group
//     1000010000000 一万亿零一千万;
//   - 十 is bare only at the start of the number: 10 十, 15 十五, 100000 十万, but
//     115 一百一十五 and 10010 一万零一十;
//   - 2 is 两 when it is the leading digit of the number and is followed by 百,
//     千, 万 or 亿 (200 两百, 2000 两千, 20000 两万, 200000000 两亿) or by a
//     measure word (两元, 两点, 两位); 二 elsewhere (二十, 十二, 22222
//     两万二千二百二十二).
//   - Negative numbers start with 负.
//
// Money is Y元 J角 F分, from an amount in fen (1/100 yuan):
//   - 分 = 0 stops after 角 (1005.30 一千零五元三角); 角 = 分 = 0 stops after 元
//     (100000.00 十万元, 2.00 两元);
//   - 角 = 0 with 分 ≠ 0 puts 零 after 元 (20.05 二十元零五分);
//   - zero is 零元; an amount below one yuan leaves out 元 (0.30 三角, 0.05 五分);
//   - the count that opens the amount is followed by a measure word, so a
//     lone 2 there is 两 (两元, 两角, 两分); a later 2 is 二 (一元二角二分,
//     零二分): the formal reading, which keeps 两 for the amount's head.
//
// Digit strings (phone, ID, account and case numbers) are read one digit at a
// time. In Mandarin 1 is 幺 in digit strings (and only there: never in
// cardinals or years); in Cantonese it stays 一. An ID number's check
// character X is read as the letter. LastDigits reads only the last four
// characters: the IVR never reads back more of anything personal.
//
// Dates read the year digit by digit with 一, not 幺 (二零二六年), the month and
// the day as cardinals with 二 (二月二日). Times use a 12-hour clock with a
// period word: 上午 (0:00–11:59), 中午 (12:00–12:59), 下午 (13:00–17:59), 晚上
// (18:00–23:59); the hour is a count before 点 (两点, 十二点, 零点), minutes
// 1–9 take 零 (三点零五分), a full hour stops at 点 (下午三点). 凌晨 is not used:
// espeak-ng mispronounces it, and the hotline's times are daytime ones.
//
// # Cantonese
//
// A caller in Foshan hears the formal register that Guangdong's public
// hotlines use: the same characters as Mandarin read with Cantonese sounds
// (元角分 rather than 蚊毫仙, 二十 rather than 廿, 一百一十五 rather than 百一十五),
// with two differences: 1 in digit strings stays 一 (no 幺), and the day of a
// date is 号 (三月五号) where Mandarin says 日. Han text is Simplified for
// both languages, because the captions are also shown to the Mandarin desk.
//
// Any language other than yue (for example en, whose prompts fall back to
// Mandarin for spoken values) follows the Mandarin rules.
package speech
