package postgres

import (
	"fmt"
	"strings"
)

// DiffLine is one line of a line diff of two texts: kept (' '), removed from the first ('-')
// or added in the second ('+'). Old and New are its 1-based line numbers in each text, 0 on
// the side it is not in.
type DiffLine struct {
	Op   string `json:"op"`
	Old  int    `json:"old,omitempty"`
	New  int    `json:"new,omitempty"`
	Text string `json:"text"`
}

// maxDiffCells bounds the table of the longest common subsequence; texts whose differing
// middles are larger are diffed as the whole middle removed and added.
const maxDiffCells = 4 << 20

// DiffLines compares a and b line by line: the fewest lines removed and added (a longest
// common subsequence of lines), the common start and end kept.
func DiffLines(a, b string) []DiffLine {
	x, y := splitLines(a), splitLines(b)
	pre := 0
	for pre < len(x) && pre < len(y) && x[pre] == y[pre] {
		pre++
	}
	suf := 0
	for suf < len(x)-pre && suf < len(y)-pre && x[len(x)-1-suf] == y[len(y)-1-suf] {
		suf++
	}
	out := make([]DiffLine, 0, len(x)+len(y))
	for i := 0; i < pre; i++ {
		out = append(out, DiffLine{Op: " ", Old: i + 1, New: i + 1, Text: x[i]})
	}
	mx, my := x[pre:len(x)-suf], y[pre:len(y)-suf]
	n, m := len(mx), len(my)
	if n*m > maxDiffCells {
		for i, s := range mx {
			out = append(out, DiffLine{Op: "-", Old: pre + i + 1, Text: s})
		}
		for j, s := range my {
			out = append(out, DiffLine{Op: "+", New: pre + j + 1, Text: s})
		}
	} else {
		// lcs[i][j] is the length of the longest common subsequence of mx[i:] and my[j:].
		lcs := make([][]int32, n+1)
		for i := range lcs {
			lcs[i] = make([]int32, m+1)
		}
		for i := n - 1; i >= 0; i-- {
			for j := m - 1; j >= 0; j-- {
				if mx[i] == my[j] {
					lcs[i][j] = lcs[i+1][j+1] + 1
				} else {
					lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
				}
			}
		}
		i, j := 0, 0
		for i < n || j < m {
			switch {
			case i < n && j < m && mx[i] == my[j]:
				out = append(out, DiffLine{Op: " ", Old: pre + i + 1, New: pre + j + 1, Text: mx[i]})
				i++
				j++
			case j < m && (i == n || lcs[i][j+1] > lcs[i+1][j]):
				out = append(out, DiffLine{Op: "+", New: pre + j + 1, Text: my[j]})
				j++
			default:
				out = append(out, DiffLine{Op: "-", Old: pre + i + 1, Text: mx[i]})
				i++
			}
		}
	}
	for k := 0; k < suf; k++ {
		out = append(out, DiffLine{Op: " ", Old: len(x) - suf + k + 1, New: len(y) - suf + k + 1, Text: x[len(x)-suf+k]})
	}
	return out
}

// UnifiedDiff formats the differences of a and b as a unified diff with three lines of
// context, headed by their names; "" when they are the same.
func UnifiedDiff(a, b, nameA, nameB string) string {
	lines := DiffLines(a, b)
	const context = 3
	var hunks [][2]int // [start, end) in lines
	for i, l := range lines {
		if l.Op == " " {
			continue
		}
		lo, hi := max(0, i-context), min(len(lines), i+context+1)
		if k := len(hunks) - 1; k >= 0 && lo <= hunks[k][1] {
			hunks[k][1] = max(hunks[k][1], hi)
		} else {
			hunks = append(hunks, [2]int{lo, hi})
		}
	}
	if len(hunks) == 0 {
		return ""
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "--- %s\n+++ %s\n", nameA, nameB)
	for _, h := range hunks {
		oldStart, newStart, oldN, newN := 0, 0, 0, 0
		for _, l := range lines[h[0]:h[1]] {
			if l.Old > 0 {
				if oldStart == 0 {
					oldStart = l.Old
				}
				oldN++
			}
			if l.New > 0 {
				if newStart == 0 {
					newStart = l.New
				}
				newN++
			}
		}
		if oldStart == 0 {
			oldStart = startBefore(lines, h[0], func(l DiffLine) int { return l.Old })
		}
		if newStart == 0 {
			newStart = startBefore(lines, h[0], func(l DiffLine) int { return l.New })
		}
		fmt.Fprintf(&sb, "@@ -%d,%d +%d,%d @@\n", oldStart, oldN, newStart, newN)
		for _, l := range lines[h[0]:h[1]] {
			sb.WriteString(l.Op)
			sb.WriteString(l.Text)
			sb.WriteByte('\n')
		}
	}
	return sb.String()
}

// startBefore is the line number a hunk with no line of one side starts at: the last line of
// that side before it (0 at the start of the text), as diff(1) writes it.
func startBefore(lines []DiffLine, at int, num func(DiffLine) int) int {
	for k := at - 1; k >= 0; k-- {
		if n := num(lines[k]); n > 0 {
			return n
		}
	}
	return 0
}

// splitLines splits text into lines without their line ends; a final line end adds no line.
func splitLines(text string) []string {
	if text == "" {
		return nil
	}
	text = strings.TrimSuffix(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	return strings.Split(text, "\n")
}
