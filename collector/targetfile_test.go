package collector

import (
	"fmt"
	"strings"
	"testing"

	"github.com/popexporter/pop_exporter/collector/shard"
	"github.com/popexporter/pop_exporter/config"
)

// A changed target file is parsed afresh, but its unchanged targets are equal by value to the
// running ones, so Apply keeps their runners, schedule and PoP state, as on a reload of the
// configuration file; the configuration file's own targets are untouched.
func TestApplyKeepsUnchangedFileTargets(t *testing.T) {
	m, reg := newTestManager(t, Options{})
	main, err := config.Parse([]byte(`
vantage: {name: ams-office, location: AMS}
defaults: {interval: 1m, headers: {X-Probe: defaults}}
target_files: [targets/*.yml]
targets:
  - {name: www, url: 'http://127.0.0.1:1/www'}
`), "pop.yml")
	if err != nil {
		t.Fatal(err)
	}
	apply := func(file string) {
		t.Helper()
		tf, err := main.ParseTargetFile([]byte(file), "targets/a.yml")
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Apply(main.WithTargets(tf)); err != nil {
			t.Fatal(err)
		}
	}
	apply(`
- {name: keep, url: 'http://127.0.0.1:1/keep'}
- {name: change, url: 'http://127.0.0.1:1/change'}
- {name: gone, url: 'http://127.0.0.1:1/gone'}
`)
	before := map[string]*runner{}
	for key, r := range m.runners {
		before[key] = r
	}
	if len(before) != 4 {
		t.Fatalf("%d runners, want 4: %v", len(before), before)
	}

	// Reordered, commented, one target changed, one removed, one added.
	apply(`
# edited
- {name: change, url: 'http://127.0.0.1:1/change', interval: 2m}
- {name: keep, url: 'http://127.0.0.1:1/keep'}
- {name: new, url: 'http://127.0.0.1:1/new'}
`)
	for _, key := range []string{"www/4", "keep/4"} {
		if m.runners[key] != before[key] {
			t.Errorf("%s was restarted by a change to another target of the file", key)
		}
	}
	if r := m.runners["change/4/system/http1.1"]; r == nil || r == before["change/4/system/http1.1"] {
		t.Error("the changed target kept its old runner")
	}
	if _, ok := m.runners["gone/4/system/http1.1"]; ok {
		t.Error("the removed target still runs")
	}
	if _, ok := m.runners["new/4/system/http1.1"]; !ok {
		t.Error("the added target does not run")
	}
	if v, _ := gaugeValue(t, reg, "pop_exporter_targets", nil); v != 4 {
		t.Errorf("pop_exporter_targets = %v, want 4", v)
	}
}

// One series per target file, 1 or 0; a file no longer matched loses its series.
func TestTargetFileStatus(t *testing.T) {
	m, reg := newTestManager(t, Options{})
	m.SetTargetFileStatus(map[string]bool{"targets/a.yml": true, "targets/b.yml": false})
	for file, want := range map[string]float64{"targets/a.yml": 1, "targets/b.yml": 0} {
		if v, ok := gaugeValue(t, reg, "pop_exporter_target_file_last_load_successful", map[string]string{"file": file}); !ok || v != want {
			t.Errorf("%s: %v (present %v), want %v", file, v, ok, want)
		}
	}
	m.SetTargetFileStatus(map[string]bool{"targets/a.yml": true})
	if _, ok := gaugeValue(t, reg, "pop_exporter_target_file_last_load_successful", map[string]string{"file": "targets/b.yml"}); ok {
		t.Error("a file no longer matched still has its series")
	}
}

// A sharded replica runs its share of the target files' targets as of its own: Apply filters
// the whole list, wherever each target was written.
func TestShardFiltersFileTargets(t *testing.T) {
	main, err := config.Parse([]byte("defaults: {interval: 1m}\ntarget_files: [targets/*.yml]\ntargets:\n  - {name: www, url: 'http://127.0.0.1:1/www'}\n"), "pop.yml")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i := range 20 {
		fmt.Fprintf(&b, "- {name: t%d, url: 'http://127.0.0.1:1/t%d'}\n", i, i)
	}
	tf, err := main.ParseTargetFile([]byte(b.String()), "targets/a.yml")
	if err != nil {
		t.Fatal(err)
	}
	all := main.WithTargets(tf)
	seen := map[string]int{}
	for index := range 2 {
		m, _ := newTestManager(t, Options{Shard: shard.Shard{Index: index, Total: 2}})
		if err := m.Apply(all); err != nil {
			t.Fatal(err)
		}
		for _, tg := range all.Targets {
			_, runs := m.runners[tg.Name+"/4/system/http1.1"]
			if owns := shard.Owner(tg.Name, 2) == index; runs != owns {
				t.Errorf("shard %d/2 runs %s: %v, owns it: %v", index, tg.Name, runs, owns)
			}
			if runs {
				seen[tg.Name]++
			}
		}
		m.Stop()
	}
	if len(seen) != len(all.Targets) {
		t.Errorf("%d of %d targets run on some shard", len(seen), len(all.Targets))
	}
}
