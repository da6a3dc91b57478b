package collector

import (
	"go/build"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/popexporter/pop_exporter/"

// allowedImports is the package map: which packages of this module each package may import
// (tests aside). Data flows one way, config → collector → prober → edge/geo → metrics, and no
// package imports one above it: edge and geo are leaves, exposition knows nothing of probes,
// prober records no metrics, and only cmd/ wires everything together. A new package must be
// added here, with its place in the map.
var allowedImports = map[string][]string{
	"collector/edge":                  nil,
	"collector/geo":                   nil,
	"collector/geoip":                 {"collector/geo"},
	"collector/geoip/geoiptest":       nil,
	"collector/geo/internal/gentable": nil,
	"collector/shard":                 nil,
	"collector/exposition":            nil,
	"config":                          {"collector/edge", "collector/geo"},
	"collector/prober":                {"collector/edge", "config"},
	"collector":                       {"collector/edge", "collector/geo", "collector/geoip", "collector/prober", "collector/exposition", "collector/shard", "config"},
	"collector/internal/testhelp":     {"config"},
	"collector/targetfiles":           {"config"},
	"cmd/pop_exporter":                {"collector", "collector/exposition", "collector/edge", "collector/geo", "collector/geoip", "collector/prober", "collector/shard", "collector/targetfiles", "config"},
	"cmd/cdnsim":                      {"collector/edge", "collector/geo", "config"},
	"dashboards":                      nil,
	"dashboards/mixin":                nil,
	"dashboards/mixin/render":         {"dashboards/mixin"},
	"deploy":                          nil,
}

// Every package imports only what the package map allows, so the layering cannot erode one
// convenient import at a time.
func TestPackageLayering(t *testing.T) {
	root := ".."
	seen := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if name := d.Name(); path != root && (name == "testdata" || strings.HasPrefix(name, ".") || name == "bin") {
			return filepath.SkipDir
		}
		pkg, err := build.ImportDir(path, 0)
		if err != nil {
			if _, ok := err.(*build.NoGoError); ok {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		seen[rel] = true
		allowed, known := allowedImports[rel]
		if !known {
			t.Errorf("package %s is not in the package map (allowedImports): add it with the packages it may import", rel)
			return nil
		}
		for _, imp := range pkg.Imports {
			own, ok := strings.CutPrefix(imp, module)
			if ok && !slices.Contains(allowed, own) {
				t.Errorf("%s imports %s, which the package map does not allow (allowed: %v)", rel, own, allowed)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for pkg := range allowedImports {
		if !seen[pkg] {
			t.Errorf("package map names %s, which does not exist", pkg)
		}
	}
}
