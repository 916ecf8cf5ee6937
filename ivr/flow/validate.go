package flow

import (
	"fmt"
	"slices"
	"strings"
)

// isEnd reports whether a call that reaches n is finished with, as far as this flow goes:
// it hangs up, returns to the calling flow, reaches an agent or leaves the hotline.
func isEnd(n Node) bool {
	switch n.Kind() {
	case KindHangup, KindReturn, KindQueue, KindTransfer:
		return true
	}
	return false
}

// checkGraph reports unreachable nodes, nodes that cannot end, loops that wait for nothing,
// prompts missing from the manifest and unknown calendars and queues. Whether an end can be
// reached is only asked of a flow that parsed cleanly (complete is true): a missing exit
// would make every node before it look endless.
func checkGraph(f *Flow, opt Options, complete bool) Problems {
	var probs Problems
	add := func(n Node, format string, args ...any) {
		probs = append(probs, Problem{Pos: n.Pos(), Node: n.ID(), Msg: fmt.Sprintf(format, args...)})
	}
	if f.Start != nil {
		reached := map[Node]bool{f.Start: true}
		queue := []Node{f.Start}
		for len(queue) > 0 {
			n := queue[0]
			queue = queue[1:]
			for _, e := range n.Exits() {
				if e.To != nil && !reached[e.To] {
					reached[e.To] = true
					queue = append(queue, e.To)
				}
			}
		}
		for _, n := range f.Nodes {
			if !reached[n] {
				add(n, "unreachable: no path from start %q leads here", f.Start.ID())
			}
		}
	}
	// Nodes from which an end can be reached, found backwards from the ends.
	into := map[Node][]Node{}
	for _, n := range f.Nodes {
		for _, e := range n.Exits() {
			if e.To != nil {
				into[e.To] = append(into[e.To], n)
			}
		}
	}
	ends := map[Node]bool{}
	var queue []Node
	for _, n := range f.Nodes {
		if isEnd(n) {
			ends[n] = true
			queue = append(queue, n)
		}
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, m := range into[n] {
			if !ends[m] {
				ends[m] = true
				queue = append(queue, m)
			}
		}
	}
	for _, n := range f.Nodes {
		if complete && !ends[n] {
			add(n, "no end can be reached from here (hangup, return, queue or transfer)")
		}
	}
	for _, loop := range idleLoops(f) {
		ids := make([]string, len(loop))
		for i, n := range loop {
			ids[i] = n.ID()
		}
		add(loop[0], "endless loop: %s → %s waits for no key, so a silent caller would go round forever; route it through a menu or collect exit taken on a key, or end it",
			strings.Join(ids, " → "), ids[0])
	}
	probs = append(probs, checkPrompts(f, opt)...)
	for _, n := range f.Nodes {
		switch n := n.(type) {
		case *Hours:
			if opt.Calendars != nil && n.Calendar != "" && !slices.Contains(opt.Calendars, n.Calendar) {
				add(n, "calendar: no calendar %q is configured (have %s)", n.Calendar, strings.Join(opt.Calendars, ", "))
			}
		case *Queue:
			if opt.Queues != nil && n.Queue != "" && !slices.Contains(opt.Queues, n.Queue) {
				add(n, "queue: no queue %q (have %s)", n.Queue, strings.Join(opt.Queues, ", "))
			}
		case *Callback:
			if opt.Queues != nil && n.Queue != "" && !slices.Contains(opt.Queues, n.Queue) {
				add(n, "queue: no queue %q (have %s)", n.Queue, strings.Join(opt.Queues, ", "))
			}
		}
	}
	return probs
}

// checkPrompts reports prompt ids missing from the manifest in a language the flow needs.
func checkPrompts(f *Flow, opt Options) Problems {
	if opt.Manifest == nil {
		return nil
	}
	langs := slices.Clone(f.Languages)
	for _, l := range opt.Languages {
		if !slices.Contains(langs, l) {
			langs = append(langs, l)
		}
	}
	var probs Problems
	for _, n := range f.Nodes {
		for _, list := range n.PromptLists() {
			for _, it := range list {
				if it.Kind != ItemPrompt {
					continue
				}
				var missing []string
				for _, l := range langs {
					if !opt.Manifest.Has(it.ID, l) {
						missing = append(missing, l)
					}
				}
				if len(missing) > 0 {
					probs = append(probs, Problem{Pos: it.Pos, Node: n.ID(),
						Msg: fmt.Sprintf("prompt %q is not in the sound manifest in %s", it.ID, strings.Join(missing, ", "))})
				}
			}
		}
	}
	return probs
}

// idleLoops returns the cycles of the graph of exits taken without a key press (Tarjan's
// strongly connected components), each starting at its first node in source order.
func idleLoops(f *Flow) [][]Node {
	order := map[Node]int{}
	for i, n := range f.Nodes {
		order[n] = i
	}
	index, low := map[Node]int{}, map[Node]int{}
	onStack := map[Node]bool{}
	var stack []Node
	var loops [][]Node
	next := 0
	var visit func(n Node)
	visit = func(n Node) {
		index[n], low[n] = next, next
		next++
		stack = append(stack, n)
		onStack[n] = true
		self := false
		for _, e := range n.Exits() {
			if e.To == nil || e.Input {
				continue
			}
			if e.To == n {
				self = true
			}
			if _, seen := index[e.To]; !seen {
				visit(e.To)
				low[n] = min(low[n], low[e.To])
			} else if onStack[e.To] {
				low[n] = min(low[n], index[e.To])
			}
		}
		if low[n] != index[n] {
			return
		}
		var scc []Node
		for {
			m := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			onStack[m] = false
			scc = append(scc, m)
			if m == n {
				break
			}
		}
		if len(scc) > 1 || self {
			slices.SortFunc(scc, func(a, b Node) int { return order[a] - order[b] })
			loops = append(loops, scc)
		}
	}
	for _, n := range f.Nodes {
		if _, seen := index[n]; !seen {
			visit(n)
		}
	}
	slices.SortFunc(loops, func(a, b []Node) int { return order[a[0]] - order[b[0]] })
	return loops
}
