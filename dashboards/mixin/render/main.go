// Command render writes the pop_exporter monitoring mixin rendered with a _config: the Grafana
// dashboards (dashboards/*.json) and the Prometheus rule file
// (deploy/prometheus/rules/pop_exporter.rules.yml), under -out.
//
//	go run ./dashboards/mixin/render -config my-config.jsonnet -out my-monitoring/
//
// where my-config.jsonnet is a jsonnet object merged into the mixin's _config, for example
// { selector: 'job="cdn-probes"', multiCluster: true }. Without -config it renders the
// defaults. -generate writes every file the repository keeps rendered (the defaults, the Helm
// chart's multi-cluster rendering and the multi-cluster kustomize component): what
// `go generate ./dashboards/mixin/` runs.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/popexporter/pop_exporter/dashboards/mixin"
)

func main() {
	config := flag.String("config", "", "jsonnet file with an object merged into the mixin's _config (default: the defaults)")
	out := flag.String("out", ".", "directory under which dashboards/ and deploy/prometheus/rules/ are written")
	generate := flag.Bool("generate", false, "write every rendered file of the repository (with -out the repository root) instead of one _config's")
	flag.Parse()
	if *generate && *config != "" {
		fmt.Fprintln(os.Stderr, "render: -generate renders the repository's own settings and takes no -config")
		os.Exit(2)
	}
	if err := run(*config, *out, *generate); err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
}

func run(configFile, out string, generate bool) error {
	var config string
	if configFile != "" {
		b, err := os.ReadFile(configFile)
		if err != nil {
			return err
		}
		config = string(b)
	}
	render := mixin.Render
	if generate {
		render = func(string) (mixin.Rendering, error) { return mixin.Generate() }
	}
	r, err := render(config)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(r))
	for name := range r {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := filepath.Join(out, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, r[name], 0o644); err != nil {
			return err
		}
		fmt.Println("wrote", p)
	}
	return nil
}
