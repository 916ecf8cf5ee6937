package flowtest

import (
	"context"
	"fmt"
	"io"

	"github.com/jmoiron/sqlx"

	"github.com/foshan-hotline/hotline/ivr/flow"
)

// StepRecord is one node of a call's recorded IVR path (a row of hotline.call_steps).
type StepRecord struct {
	CallID string `db:"call_id"`
	Seq    int    `db:"seq"`
	Flow   string `db:"flow"`
	Node   string `db:"node"`
	Kind   string `db:"kind"`
	Exit   string `db:"exit"`
}

const stepsQuery = `SELECT call_id::text AS call_id, seq, flow, node, kind, COALESCE(exit, '') AS exit
	FROM hotline.call_steps ORDER BY call_id, seq`

// loadSteps reads every recorded step.
func loadSteps(ctx context.Context, db *sqlx.DB) ([]StepRecord, error) {
	var steps []StepRecord
	if err := db.SelectContext(ctx, &steps, stepsQuery); err != nil {
		return nil, fmt.Errorf("call steps: %w", err)
	}
	return steps, nil
}

// FlowCoverage is how much of one flow the scenarios' calls went through.
type FlowCoverage struct {
	Flow                string
	Nodes, NodesCovered int
	Exits, ExitsCovered int
	// Missing lists the nodes ("node") and wired exits ("node -exit-> target") no call took.
	MissingNodes, MissingExits []string
}

// Complete reports whether every node and wired exit was taken.
func (c FlowCoverage) Complete() bool { return len(c.MissingNodes) == 0 && len(c.MissingExits) == 0 }

type exitKey struct{ flow, node, exit string }

// Coverage computes node and exit coverage per flow of lib from the recorded steps of calls,
// given in call and sequence order. A node counts when a call entered it; an exit when a call
// left its node by it. A subflow node is recorded as left by "enter" when the called flow
// starts, and the called flow's return node is recorded with the exit the subflow node then
// takes, so a return step's exit is credited to the subflow node that called the flow.
func Coverage(lib *flow.Library, steps []StepRecord) []FlowCoverage {
	nodes := map[[2]string]bool{}
	exits := map[exitKey]bool{}
	var stack []exitKey // the subflow nodes the current call is inside
	call := ""
	for _, s := range steps {
		if s.CallID != call {
			call, stack = s.CallID, stack[:0]
		}
		nodes[[2]string{s.Flow, s.Node}] = true
		switch {
		case s.Kind == string(flow.KindSubflow) && s.Exit == "enter":
			stack = append(stack, exitKey{s.Flow, s.Node, ""})
		case s.Kind == string(flow.KindReturn):
			if len(stack) == 0 || s.Exit == "" || s.Exit == "hangup" || s.Exit == "error" {
				continue
			}
			caller := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			exits[exitKey{caller.flow, caller.node, s.Exit}] = true
		case s.Exit != "":
			exits[exitKey{s.Flow, s.Node, s.Exit}] = true
		}
	}
	var out []FlowCoverage
	for _, name := range lib.Names() {
		out = append(out, flowCoverage(lib.Flow(name), nodes, exits))
	}
	return out
}

func flowCoverage(f *flow.Flow, nodes map[[2]string]bool, exits map[exitKey]bool) FlowCoverage {
	c := FlowCoverage{Flow: f.Name}
	for _, n := range f.Nodes {
		c.Nodes++
		if nodes[[2]string{f.Name, n.ID()}] {
			c.NodesCovered++
		} else {
			c.MissingNodes = append(c.MissingNodes, n.ID())
		}
		for _, x := range n.Exits() {
			if x == nil || x.To == nil {
				continue
			}
			c.Exits++
			if exits[exitKey{f.Name, n.ID(), x.Name}] {
				c.ExitsCovered++
			} else {
				c.MissingExits = append(c.MissingExits, fmt.Sprintf("%s -%s-> %s", n.ID(), x.Name, x.To.ID()))
			}
		}
	}
	return c
}

// PrintCoverage writes a table of coverage per flow, then what each flow lacks.
func PrintCoverage(w io.Writer, cov []FlowCoverage) {
	fmt.Fprintf(w, "%-14s %-16s %s\n", "flow", "nodes", "exits")
	for _, c := range cov {
		fmt.Fprintf(w, "%-14s %-16s %s\n", c.Flow, ratio(c.NodesCovered, c.Nodes), ratio(c.ExitsCovered, c.Exits))
	}
	for _, c := range cov {
		if c.Complete() {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", c.Flow)
		if c.NodesCovered == 0 {
			fmt.Fprintln(w, "  no scenario enters this flow")
			continue
		}
		for _, n := range c.MissingNodes {
			fmt.Fprintf(w, "  not covered: node %s\n", n)
		}
		for _, x := range c.MissingExits {
			fmt.Fprintf(w, "  not covered: exit %s\n", x)
		}
	}
}

// ratio formats covered/total with a percentage.
func ratio(covered, total int) string {
	if total <= 0 {
		return fmt.Sprintf("%d/%d", covered, total)
	}
	return fmt.Sprintf("%d/%d %3d%%", covered, total, covered*100/total)
}
