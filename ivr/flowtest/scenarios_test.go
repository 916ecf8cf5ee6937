package flowtest_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline/internal/repotest"
	"github.com/foshan-hotline/hotline/ivr/flowtest"
)

// TestShippedFlowScenarios runs every scenario of flows/tests against the shipped flows and
// requires each to pass and every node and wired exit of every flow to be taken, with no
// exception (a queue's answered exit included: scenarios declare agents who answer).
func TestShippedFlowScenarios(t *testing.T) {
	root := repotest.Root(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := flowtest.RunScenarios(ctx, flowtest.RunOptions{
		FlowsDir: filepath.Join(root, "flows"), SoundsDir: filepath.Join(root, "sounds"),
	})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep.Print(&out)
	t.Log("\n" + out.String())
	for _, r := range rep.Results {
		t.Run(r.Scenario.Name, func(t *testing.T) {
			if r.Err != nil {
				t.Errorf("%v\nheard: %v", r.Err, r.Heard)
			}
		})
	}
	for _, c := range rep.Coverage {
		t.Run("coverage/"+c.Flow, func(t *testing.T) {
			if got, want := [2]int{c.NodesCovered, c.ExitsCovered}, [2]int{c.Nodes, c.Exits}; got != want || !c.Complete() {
				t.Errorf("flow %s: covered %d/%d nodes, %d/%d exits; nodes not covered %v, exits not covered %v",
					c.Flow, c.NodesCovered, c.Nodes, c.ExitsCovered, c.Exits, c.MissingNodes, c.MissingExits)
			}
		})
	}
}
