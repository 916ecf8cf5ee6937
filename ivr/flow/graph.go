package flow

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// edge is one wired exit, for drawing.
type edge struct {
	from, to Node
	label    string
	input    bool
}

// edges lists the wired exits of f in node order, exits of one node to the same node (and of
// the same style) merged into one; a menu option's label follows its key.
func edges(f *Flow) []edge {
	var out []edge
	for _, n := range f.Nodes {
		labels := map[*Exit]string{}
		if m, ok := n.(*Menu); ok {
			for _, o := range m.Options {
				if o.Label != "" {
					labels[o.Exit] = o.Key + " " + o.Label
				}
			}
		}
		for _, e := range n.Exits() {
			if e.To == nil {
				continue
			}
			label := e.Name
			if l, ok := labels[e]; ok {
				label = l
			}
			if i := slices.IndexFunc(out, func(d edge) bool { return d.from == n && d.to == e.To && d.input == e.Input }); i >= 0 {
				out[i].label += ", " + label // parallel exits share one arrow
				continue
			}
			out = append(out, edge{from: n, to: e.To, label: label, input: e.Input})
		}
	}
	return out
}

// nodeDetail is the second line of a node's box: what it plays, asks or calls.
func nodeDetail(n Node) string {
	switch n := n.(type) {
	case *Lookup:
		if n.Source != nil {
			return n.Source.Name
		}
	case *Subflow:
		return "→ " + n.Flow
	case *Queue:
		return n.Queue
	case *Hours:
		return n.Calendar
	case *Collect:
		if n.Into != nil {
			return n.Into.Name
		}
	case *Language:
		if n.Lang != "" {
			return n.Lang
		}
		if n.From != nil {
			return n.From.Source
		}
	case *Transfer:
		return n.Number + n.Endpoint
	}
	return n.Description()
}

var dotShapes = map[Kind]string{
	KindMenu: "box3d", KindBranch: "diamond", KindHours: "diamond", KindLookup: "cylinder",
	KindHangup: "doubleoctagon", KindReturn: "house", KindQueue: "tab", KindTransfer: "cds",
	KindSubflow: "component", KindVerify: "hexagon", KindCollect: "parallelogram",
}

// Graph returns f as a Graphviz DOT digraph: one node per flow node (id, kind and what it
// does), one edge per wired exit labelled with its name (a menu option with its label).
// Exits taken on a key press are solid, the others dashed.
func Graph(f *Flow) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "digraph %s {\n", strconv.Quote(f.Name))
	fmt.Fprintf(&b, "  label=%s;\n  labelloc=t;\n  rankdir=TB;\n", strconv.Quote(f.Name+": "+f.Description))
	b.WriteString("  node [shape=box, style=rounded, fontname=\"Noto Sans CJK SC\"];\n")
	b.WriteString("  edge [fontname=\"Noto Sans CJK SC\", fontsize=10];\n")
	for _, n := range f.Nodes {
		label := n.ID() + "\n" + string(n.Kind())
		if d := nodeDetail(n); d != "" {
			label += "\n" + d
		}
		attrs := "label=" + strconv.Quote(label)
		if s, ok := dotShapes[n.Kind()]; ok {
			attrs += ", shape=" + s
		}
		if n == f.Start {
			attrs += ", penwidth=2"
		}
		fmt.Fprintf(&b, "  %s [%s];\n", strconv.Quote(n.ID()), attrs)
	}
	for _, e := range edges(f) {
		style := ""
		if !e.input {
			style = ", style=dashed"
		}
		fmt.Fprintf(&b, "  %s -> %s [label=%s%s];\n", strconv.Quote(e.from.ID()), strconv.Quote(e.to.ID()), strconv.Quote(e.label), style)
	}
	b.WriteString("}\n")
	return b.Bytes()
}

// textWidth estimates the width of s in pixels at font size px: Han characters are square,
// others about half as wide.
func textWidth(s string, px float64) float64 {
	w := 0.0
	for _, r := range s {
		if r >= 0x2E80 {
			w += px
		} else {
			w += px * 0.6
		}
	}
	return w
}

func xmlEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
