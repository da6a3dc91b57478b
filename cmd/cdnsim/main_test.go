package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that shutdown leaves nothing running: held (timeout) and trickling
// (slow headers) requests must end with the simulator.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
