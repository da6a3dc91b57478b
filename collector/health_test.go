package collector

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/popexporter/pop_exporter/collector/edge"
	"github.com/popexporter/pop_exporter/collector/internal/testhelp"
	"github.com/popexporter/pop_exporter/collector/prober"
	"github.com/popexporter/pop_exporter/config"
)

// Healthy and Ready follow the recording of probe results: when probes stop recording, both
// fail after twice the longest interval (at least MinStallTimeout), and recover when results
// come again. Ready also needs an applied configuration and a Manager not stopped.
func TestHealthFollowsRecording(t *testing.T) {
	m, _ := newTestManager(t, Options{MinStallTimeout: 500 * time.Millisecond})
	if err := m.Ready(); err == nil {
		t.Error("ready before any configuration was applied")
	}
	if err := m.Healthy(); err != nil {
		t.Errorf("unhealthy before any configuration was applied: %v", err)
	}
	var stuck atomic.Bool
	release := make(chan struct{})
	m.probe = func(ctx context.Context, _ *prober.Spec) prober.Result {
		if stuck.Load() { // like a probe that can no longer finish, not even by its timeout: a deadlock, a leaked slot
			<-release
		}
		return cloudflareResult("AMS", edge.CacheHit)
	}
	target := testTarget(t, "www", "http://127.0.0.1/")
	target.Interval, target.Timeout = config.Duration(50*time.Millisecond), config.Duration(40*time.Millisecond)
	if err := m.Apply(amsConfig(target)); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if err := m.Ready(); err != nil {
			t.Fatalf("not ready while probes record: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	stuck.Store(true)
	testhelp.WaitFor(t, func() bool { return m.Healthy() != nil })
	if err := m.Ready(); err == nil || !strings.Contains(err.Error(), "no probe result recorded") {
		t.Errorf("Ready() = %v while no result is recorded", err)
	}
	stuck.Store(false)
	close(release)
	testhelp.WaitFor(t, func() bool { return m.Ready() == nil })

	m.Stop()
	if err := m.Ready(); err == nil {
		t.Error("ready after Stop")
	}
}

// Slow targets never look stalled: with a 1-minute interval the first result may come a
// minute after the configuration is applied, and the Manager stays healthy meanwhile.
func TestHealthySlowTargets(t *testing.T) {
	m, _ := newTestManager(t, Options{MinStallTimeout: 100 * time.Millisecond})
	m.probe = func(ctx context.Context, _ *prober.Spec) prober.Result {
		<-ctx.Done() // never answers within the test
		return prober.Result{}
	}
	target := testTarget(t, "slow", "http://127.0.0.1/")
	target.Interval, target.Timeout = config.Duration(time.Minute), config.Duration(10*time.Second)
	if err := m.Apply(amsConfig(target)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if err := m.Ready(); err != nil {
		t.Errorf("a 1-minute target is not ready 300ms after the configuration: %v", err)
	}
}

// A configuration with no probe (all its targets in target files that are empty so far, or a
// shard that owns none) is not a stall: nothing is due.
func TestHealthyWithoutProbes(t *testing.T) {
	m, _ := newTestManager(t, Options{MinStallTimeout: 100 * time.Millisecond})
	if err := m.Apply(&config.Config{File: "pop.yml", Vantage: config.Vantage{Name: "empty"}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if err := m.Ready(); err != nil {
		t.Errorf("Ready() = %v with no probe to run", err)
	}
}
