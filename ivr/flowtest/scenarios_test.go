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
// requires each to pass and every flow to be covered but for the documented Exceptions.
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
			if !c.Complete() {
				t.Errorf("flow %s: nodes not covered %v, exits not covered %v", c.Flow, c.MissingNodes, c.MissingExits)
			}
			if len(c.Stale) > 0 {
				t.Errorf("flow %s: excepted exits taken after all, drop their exception: %v", c.Flow, c.Stale)
			}
		})
	}
}
