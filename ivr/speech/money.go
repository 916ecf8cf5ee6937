package speech

// Money returns the fragments of an amount of money given in fen (1/100
// yuan): 100530 一千零五元三角, 2005 二十元零五分, 200 两元, 0 零元.
func Money(fen int64, lang Lang) []Fragment {
	if fen == 0 {
		return []Fragment{fZero, fYuan}
	}
	out := make([]Fragment, 0, 16)
	u := uint64(fen)
	if fen < 0 {
		out = append(out, fMinus)
		u = -u
	}
	yuan, jiao, fen1 := u/100, u/10%10, u%10
	if yuan > 0 {
		out = appendCardinal(out, yuan, true, true)
		out = append(out, fYuan)
	}
	switch {
	case jiao > 0:
		out = appendCardinal(out, jiao, yuan == 0, true)
		out = append(out, fJiao)
	case fen1 > 0 && yuan > 0:
		out = append(out, fZero)
	}
	if fen1 > 0 {
		out = appendCardinal(out, fen1, yuan == 0 && jiao == 0, true)
		out = append(out, fFen)
	}
	return out
}
