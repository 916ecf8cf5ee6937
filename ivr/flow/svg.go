package flow

import (
	"bytes"
	"fmt"
	"slices"
)

// Layout constants of SVG, in pixels.
const (
	svgFont    = 13.0
	svgPadX    = 10.0
	svgBoxH    = 48.0
	svgGapX    = 36.0
	svgGapY    = 70.0
	svgMargin  = 30.0
	svgMinBoxW = 90.0
)

// box is a node's place in the picture.
type box struct {
	node        Node
	layer       int
	x, y, w, h  float64 // top-left corner and size
	title, line string
}

// layers assigns each node the length of the shortest path from start (unreachable nodes go
// below everything), and orders each layer by the mean position of its parents so that
// edges cross less.
func layers(f *Flow) [][]Node {
	depth := map[Node]int{}
	var order []Node
	if f.Start != nil {
		depth[f.Start] = 0
		order = append(order, f.Start)
		for i := 0; i < len(order); i++ {
			for _, e := range order[i].Exits() {
				if e.To != nil {
					if _, seen := depth[e.To]; !seen {
						depth[e.To] = depth[order[i]] + 1
						order = append(order, e.To)
					}
				}
			}
		}
	}
	maxDepth := 0
	for _, d := range depth {
		maxDepth = max(maxDepth, d)
	}
	for _, n := range f.Nodes {
		if _, seen := depth[n]; !seen {
			depth[n] = maxDepth + 1
			order = append(order, n)
		}
	}
	var out [][]Node
	for _, n := range order {
		for len(out) <= depth[n] {
			out = append(out, nil)
		}
		out[depth[n]] = append(out[depth[n]], n)
	}
	// One pass of the barycentre heuristic, top to bottom.
	pos := map[Node]float64{}
	parents := map[Node][]Node{}
	for _, e := range edges(f) {
		parents[e.to] = append(parents[e.to], e.from)
	}
	for li, layer := range out {
		if li > 0 {
			bary := map[Node]float64{}
			for i, n := range layer {
				sum, cnt := 0.0, 0.0
				for _, p := range parents[n] {
					if depth[p] < li {
						sum += pos[p]
						cnt++
					}
				}
				bary[n] = float64(i)
				if cnt > 0 {
					bary[n] = sum / cnt
				}
			}
			slices.SortStableFunc(layer, func(a, b Node) int {
				switch {
				case bary[a] < bary[b]:
					return -1
				case bary[a] > bary[b]:
					return 1
				}
				return 0
			})
		}
		for i, n := range layer {
			pos[n] = float64(i) - float64(len(layer)-1)/2
		}
	}
	return out
}

// SVG draws f as a layered picture, start at the top: nodes as boxes with their id, kind and
// detail, exits as arrows labelled with their names (a menu option with its label); exits
// taken on a key press are solid, the others dashed, and arrows going back up curve on the
// side. It needs no external tool.
func SVG(f *Flow) []byte {
	ls := layers(f)
	boxes := map[Node]*box{}
	rowW := make([]float64, len(ls))
	for li, layer := range ls {
		for _, n := range layer {
			b := &box{node: n, layer: li, h: svgBoxH, title: n.ID() + " · " + string(n.Kind()), line: nodeDetail(n)}
			if len([]rune(b.line)) > 24 {
				b.line = string([]rune(b.line)[:23]) + "…"
			}
			b.w = max(svgMinBoxW, textWidth(b.title, svgFont), textWidth(b.line, svgFont-2)) + 2*svgPadX
			boxes[n] = b
			rowW[li] += b.w + svgGapX
		}
	}
	width := 0.0
	for _, w := range rowW {
		width = max(width, w)
	}
	width += 2*svgMargin + 120 // room for back edges on the right
	for li, layer := range ls {
		x := svgMargin + (width-120-2*svgMargin-rowW[li])/2 + svgGapX/2
		for _, n := range layer {
			b := boxes[n]
			b.x, b.y = x, svgMargin+30+float64(li)*(svgBoxH+svgGapY)
			x += b.w + svgGapX
		}
	}
	height := svgMargin*2 + 30 + float64(len(ls))*(svgBoxH+svgGapY)

	var out bytes.Buffer
	fmt.Fprintf(&out, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="Noto Sans CJK SC, sans-serif">`+"\n", width, height, width, height)
	out.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>` + "\n")
	fmt.Fprintf(&out, `<text x="%.0f" y="%.0f" font-size="16" font-weight="bold">%s</text>`+"\n", svgMargin, svgMargin, xmlEscape(f.Name+" — "+f.Description))
	for i, e := range edges(f) {
		a, b := boxes[e.from], boxes[e.to]
		dash := ""
		if !e.input {
			dash = ` stroke-dasharray="5,4"`
		}
		var path string
		var lx, ly float64
		if b.layer > a.layer {
			x1, y1 := a.x+a.w/2, a.y+a.h
			x2, y2 := b.x+b.w/2, b.y
			path = fmt.Sprintf("M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f", x1, y1, x1, y1+svgGapY/2, x2, y2-svgGapY/2, x2, y2)
			lx, ly = (x1+x2)/2, (y1+y2)/2
		} else {
			// Back or sideways edge: leave on the right, loop out and come back in on the right.
			x1, y1 := a.x+a.w, a.y+a.h/2
			x2, y2 := b.x+b.w, b.y+b.h/2
			bulge := max(x1, x2) + 40 + float64(i%5)*12
			path = fmt.Sprintf("M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f", x1, y1, bulge, y1, bulge, y2, x2, y2)
			lx, ly = bulge-10, (y1+y2)/2
		}
		fmt.Fprintf(&out, `<g class="edge" data-from="%s" data-to="%s" data-exit="%s"><path d="%s" fill="none" stroke="#555"%s marker-end="url(#arrow)"/>`,
			xmlEscape(e.from.ID()), xmlEscape(e.to.ID()), xmlEscape(e.label), path, dash)
		fmt.Fprintf(&out, `<text x="%.1f" y="%.1f" font-size="10" fill="#333" text-anchor="middle">%s</text></g>`+"\n", lx, ly, xmlEscape(e.label))
	}
	for _, layer := range ls {
		for _, n := range layer {
			b := boxes[n]
			fill, stroke := "#eef4fb", "#3a6ea5"
			switch n.Kind() {
			case KindMenu, KindCollect, KindVerify, KindSurvey:
				fill = "#fdf3e1"
			case KindHangup, KindReturn, KindQueue, KindTransfer:
				fill = "#e6f4ea"
			case KindBranch, KindHours, KindSet, KindGoto:
				fill = "#f2f2f2"
			}
			width := 1.0
			if n == f.Start {
				width = 2.5
			}
			fmt.Fprintf(&out, `<g class="node" data-id="%s" data-kind="%s"><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="8" fill="%s" stroke="%s" stroke-width="%.1f"/>`,
				xmlEscape(n.ID()), n.Kind(), b.x, b.y, b.w, b.h, fill, stroke, width)
			fmt.Fprintf(&out, `<text x="%.1f" y="%.1f" font-size="%.0f" text-anchor="middle" font-weight="bold">%s</text>`,
				b.x+b.w/2, b.y+20, svgFont, xmlEscape(b.title))
			fmt.Fprintf(&out, `<text x="%.1f" y="%.1f" font-size="%.0f" text-anchor="middle" fill="#444">%s</text></g>`+"\n",
				b.x+b.w/2, b.y+38, svgFont-2, xmlEscape(b.line))
		}
	}
	out.WriteString("</svg>\n")
	return out.Bytes()
}
