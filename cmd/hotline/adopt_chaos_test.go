//go:build chaos

package main

import (
	"os"
	"testing"
)

// TestChaosKillInstance is TestAdoptionAfterKill under load: 240 calls in menus, collects and
// the queue on two controllers, one killed with kill -9.
func TestChaosKillInstance(t *testing.T) { runAdoption(t, 240, os.Kill) }
