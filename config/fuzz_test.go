package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse: whatever the file holds, Parse returns a config or an error that names the file,
// and never panics or hangs. Seeded with every testdata config and the embedded default.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(defaultYAML)
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, "fuzz.yml")
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), "fuzz.yml") {
				t.Fatalf("error %q is not a *config.Error naming the file", err)
			}
			return
		}
		if len(cfg.Targets) == 0 && len(cfg.TargetFiles) == 0 {
			t.Fatal("valid config without targets or target files")
		}
		if len(cfg.Compiled.Targets) != len(cfg.Targets) || len(cfg.Compiled.Rules) != len(cfg.Rules) {
			t.Fatalf("%d compiled targets for %d, %d compiled rules for %d", len(cfg.Compiled.Targets), len(cfg.Targets), len(cfg.Compiled.Rules), len(cfg.Rules))
		}
		checkCompleted(t, cfg.Targets, cfg.Compiled.Targets)
	})
}

// FuzzParseTargetFile: the same for a target file, under a configuration whose defaults
// section sets a few keys. Seeded with every testdata target file.
func FuzzParseTargetFile(f *testing.F) {
	files, _ := filepath.Glob("testdata/targets/*.yml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	cfg, err := Parse([]byte("defaults: {interval: 1m, timeout: 5s, headers: {X-Probe: fuzz}}\ntarget_files: [t.yml]\n"), "pop.yml")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tf, err := cfg.ParseTargetFile(data, "fuzz.yml")
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), "fuzz.yml") {
				t.Fatalf("error %q is not a *config.Error naming the file", err)
			}
			return
		}
		if len(tf.Compiled) != len(tf.Targets) || len(tf.lines) != len(tf.Targets) {
			t.Fatalf("%d compiled targets and %d name lines for %d", len(tf.Compiled), len(tf.lines), len(tf.Targets))
		}
		checkCompleted(t, tf.Targets, tf.Compiled)
	})
}

// checkCompleted fails unless every target holds its effective values.
func checkCompleted(t *testing.T, targets []Target, compiled []CompiledTarget) {
	t.Helper()
	for i, tg := range targets {
		if compiled[i].URL == nil || tg.Timeout >= tg.Interval || tg.Timeout <= 0 || tg.FollowRedirects == nil || len(tg.IPProtocols) == 0 {
			t.Fatalf("target not completed: %+v", tg)
		}
		if !namePattern.MatchString(tg.Name) {
			t.Fatalf("target name %q would become a bad label value", tg.Name)
		}
	}
}
