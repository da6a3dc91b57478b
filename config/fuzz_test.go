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
		if len(cfg.Targets) == 0 {
			t.Fatal("valid config without targets")
		}
		if len(cfg.Compiled.Targets) != len(cfg.Targets) || len(cfg.Compiled.Rules) != len(cfg.Rules) {
			t.Fatalf("%d compiled targets for %d, %d compiled rules for %d", len(cfg.Compiled.Targets), len(cfg.Targets), len(cfg.Compiled.Rules), len(cfg.Rules))
		}
		for i, tg := range cfg.Targets {
			if cfg.Compiled.Targets[i].URL == nil || tg.Timeout >= tg.Interval || tg.Timeout <= 0 || tg.FollowRedirects == nil || len(tg.IPProtocols) == 0 {
				t.Fatalf("target not completed: %+v", tg)
			}
			if !namePattern.MatchString(tg.Name) {
				t.Fatalf("target name %q would become a bad label value", tg.Name)
			}
		}
	})
}
