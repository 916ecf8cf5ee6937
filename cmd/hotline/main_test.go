package main

import (
	"os"
	"testing"

	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// actAsHotline makes this test binary run as the hotline command: 'hotline bench calls'
// starts the controller under test as a child process of its own executable.
const actAsHotline = "ACT_AS_HOTLINE_COMMAND"

func TestMain(m *testing.M) {
	if os.Getenv(actAsHotline) == "1" {
		main()
		os.Exit(0)
	}
	pgtest.Main(m, postgres.MigrateURL)
}
