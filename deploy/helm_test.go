package deploy

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// The Helm chart in helm/pop-exporter, rendered and linted by a real Helm. Helm is built from
// its Go module once per machine and kept in the user cache directory by `make helm`, which
// `make test` runs first: the tests themselves never build it, so the build (minutes when
// nothing is cached) neither competes with timing-sensitive tests nor counts against their
// timeout. Without it the chart tests skip, naming the command that builds it (and fail
// under CI=true).

// helmVersion is the Helm the chart is tested with.
const helmVersion = "v3.22.0"

const (
	chartDir      = "helm/pop-exporter"
	shardedValues = chartDir + "/ci/sharded-values.yaml"
	chartRelease  = "edge"
	chartFullname = "edge-pop-exporter"
	// kubeVersion is the cluster version templates are rendered for: a Helm built from source
	// assumes Kubernetes 1.20, and the sharded StatefulSet needs 1.28.
	kubeVersion = "v1.31.0"
)

var (
	helmOnce sync.Once
	helmPath string
	helmErr  error
)

// lookupHelm returns the cached Helm. It builds it first only when asked to (`make helm`,
// POP_BUILD_TOOLS=1); budget bounds the build.
func lookupHelm(budget time.Duration) (string, error) {
	helmOnce.Do(func() { helmPath, helmErr = buildHelm(budget) })
	return helmPath, helmErr
}

func buildHelm(budget time.Duration) (string, error) {
	return goInstallCached("helm.sh/helm/v3/cmd/helm", helmVersion, "helm", "helm", budget)
}

// buildToolsEnv, set to 1, lets the tests build Helm and Prometheus 3 when they are not
// cached: `make helm` and `make prometheus3` set it. Otherwise a test that needs one skips,
// saying which command builds it, instead of spending minutes inside `go test`.
const buildToolsEnv = "POP_BUILD_TOOLS"

// goInstallCached returns a command built by `go install [flags] pkg@version`, kept in the
// user cache directory (the temporary directory when there is none) as <name>-<version>.
// When it is not there it is built only if POP_BUILD_TOOLS=1; budget bounds the build, and
// makeTarget names the make target that builds it in the error otherwise. Helm and
// Prometheus 3 are built this way because they have no Debian package of the wanted version,
// and the Go module proxy serves their source.
func goInstallCached(pkg, version, name, makeTarget string, budget time.Duration, flags ...string) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil { // no $HOME or $XDG_CACHE_HOME: a machine-wide temporary directory will do
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "pop_exporter")
	bin := filepath.Join(dir, name+"-"+version)
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
		return bin, nil
	}
	if os.Getenv(buildToolsEnv) != "1" {
		return "", fmt.Errorf("%s %s is not built yet: run `make %s` (builds it once from the Go module proxy into %s, a few minutes), or `make test`, which runs it first", name, version, makeTarget, dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", append(append([]string{"install"}, flags...), pkg+"@"+version)...)
	cmd.Dir = tmp // outside this module: go install pkg@version builds with the command's own go.mod
	cmd.Env = append(os.Environ(), "GOBIN="+tmp)
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("go install %s@%s did not finish within %v", pkg, version, budget)
		}
		return "", fmt.Errorf("go install %s@%s: %v\n%s", pkg, version, err, out)
	}
	fmt.Fprintf(os.Stderr, "deploy: built %s %s in %v into %s\n", name, version, time.Since(start).Round(time.Second), bin)
	return bin, os.Rename(filepath.Join(tmp, name), bin) // atomic: a parallel run sees all or nothing
}

// helm returns the Helm binary. When it cannot be had the test is skipped, saying why, except
// in CI (CI=true), where a missing Helm must not turn the chart tests into silent skips.
func helm(t *testing.T) string {
	t.Helper()
	p, err := lookupHelm(buildBudget(t))
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("helm is needed for the chart tests: %v", err)
		}
		t.Skipf("SKIP: the Helm chart is not linted or rendered: %v", err)
	}
	return p
}

// buildBudget is how long a build of Helm or Prometheus 3 may take: at most 15 minutes, and
// 2 minutes less than the test binary has left.
func buildBudget(t *testing.T) time.Duration {
	budget := 15 * time.Minute
	if d, ok := t.Deadline(); ok {
		budget = min(budget, time.Until(d)-2*time.Minute)
	}
	return max(budget, time.Second)
}

// runHelm runs helm and returns its standard output. Helm's standard error, where it reports
// each symbolic link it follows, goes into the error only.
func runHelm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(helm(t), args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// renderChart runs helm template with the given extra arguments and returns the objects by kind.
func renderChart(t *testing.T, args ...string) map[string][]k8sDoc {
	t.Helper()
	out, err := runHelm(t, append([]string{"template", chartRelease, chartDir, "--kube-version", kubeVersion}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	objs := map[string][]k8sDoc{}
	for _, d := range parseK8sDocs(t, "helm template "+strings.Join(args, " "), []byte(out)) {
		objs[d.Kind] = append(objs[d.Kind], d)
		if !strings.HasPrefix(d.Metadata.Name, chartFullname) {
			t.Errorf("%s %s: name does not start with %s", d.Kind, d.Metadata.Name, chartFullname)
		}
		for k, v := range map[string]string{
			"app.kubernetes.io/name": "pop-exporter", "app.kubernetes.io/instance": chartRelease,
			"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/component": "exporter",
		} {
			if d.Metadata.Labels[k] != v {
				t.Errorf("%s %s: label %s=%q, want %q", d.Kind, d.Metadata.Name, k, d.Metadata.Labels[k], v)
			}
		}
	}
	return objs
}

func kinds(objs map[string][]k8sDoc) map[string]int {
	out := map[string]int{}
	for k, v := range objs {
		out[k] = len(v)
	}
	return out
}

func decodeOne[T any](t *testing.T, objs map[string][]k8sDoc, kind string) T {
	t.Helper()
	var v T
	if len(objs[kind]) != 1 {
		t.Fatalf("want one %s, have %d", kind, len(objs[kind]))
	}
	if err := objs[kind][0].decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// exporterConfigMap returns the ConfigMap that holds the exporter's configuration (the one
// that is not a dashboard).
func exporterConfigMap(t *testing.T, objs map[string][]k8sDoc) k8sConfigMap {
	t.Helper()
	for _, d := range objs["ConfigMap"] {
		if d.Metadata.Name == chartFullname {
			var cm k8sConfigMap
			if err := d.decode(&cm); err != nil {
				t.Fatal(err)
			}
			return cm
		}
	}
	t.Fatalf("no ConfigMap %s", chartFullname)
	return k8sConfigMap{}
}

// TestHelmBinary builds Helm if it is not cached: `make helm` runs it on its own, with
// POP_BUILD_TOOLS=1.
func TestHelmBinary(t *testing.T) {
	if os.Getenv(buildToolsEnv) != "1" && os.Getenv("CI") != "true" {
		t.Skip("builds Helm only under `make helm` (POP_BUILD_TOOLS=1)")
	}
	out, err := runHelm(t, "version", "--short")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("helm %s: %s", strings.TrimSpace(out), helm(t))
}

func TestHelmLint(t *testing.T) {
	for _, args := range [][]string{
		{"lint", "--strict", chartDir},
		{"lint", "--strict", chartDir, "-f", shardedValues, "--kube-version", kubeVersion},
		{"lint", "--strict", chartDir, "-f", multiClusterValues, "--kube-version", kubeVersion},
	} {
		out, err := runHelm(t, args...)
		if err != nil || !strings.Contains(out, "0 chart(s) failed") {
			t.Errorf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// The default values: one Deployment probing every target, its Service and configuration.
func TestHelmChartDefault(t *testing.T) {
	objs := renderChart(t)
	if got := fmt.Sprint(kinds(objs)); got != "map[ConfigMap:1 Deployment:1 Service:1]" {
		t.Fatalf("default values render %s, want a ConfigMap, a Deployment and a Service (no ServiceMonitor, PrometheusRule or dashboards unless enabled)", got)
	}
	const where = "chart (default values)"
	dep := decodeOne[k8sWorkload](t, objs, "Deployment")
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 1 {
		t.Errorf("%s: Deployment replicas %v, want 1", where, dep.Spec.Replicas)
	}
	c, portName := checkExporterPod(t, where, dep)
	if _, ok := flagValue(c.Args, "shard"); ok || len(c.Env) > 0 {
		t.Errorf("%s: an unsharded Deployment passes --shard or sets env: %q %v", where, c.Args, c.Env)
	}
	if dep.Spec.Template.Metadata.Annotations["checksum/config"] == "" {
		t.Errorf("%s: no checksum/config annotation: a changed configuration would not restart the pod", where)
	}
	cfg := checkMountedConfig(t, where, dep, exporterConfigMap(t, objs))
	if cfg != nil && (cfg.Vantage.Name != "default" || len(cfg.Targets) == 0) {
		t.Errorf("%s: configuration has vantage %q and %d targets, want the values' default and their targets", where, cfg.Vantage.Name, len(cfg.Targets))
	}
	checkServiceSelects(t, where, decodeOne[k8sService](t, objs, "Service"), dep, portName)
}

// A sharded fleet (ci/sharded-values.yaml): a StatefulSet whose pod i runs shard i/N, scraped
// by a ServiceMonitor, with the repository's rules and dashboards as they are.
func TestHelmChartSharded(t *testing.T) {
	var values struct {
		Shards  int
		Vantage struct{ Name, Location string }
		Config  struct{ Targets []struct{ Name string } }
	}
	readYAML(t, shardedValues, &values)
	objs := renderChart(t, "-f", shardedValues)
	dashboardFiles, err := filepath.Glob("../dashboards/*.json")
	if err != nil || len(dashboardFiles) == 0 {
		t.Fatalf("no dashboards: %v", err)
	}
	want := fmt.Sprint(map[string]int{"ConfigMap": 1 + len(dashboardFiles), "PrometheusRule": 1, "Service": 1, "ServiceMonitor": 1, "StatefulSet": 1})
	if got := fmt.Sprint(kinds(objs)); got != want {
		t.Fatalf("sharded values render %s, want %s", got, want)
	}
	const where = "chart (ci/sharded-values.yaml)"
	sts := decodeOne[k8sWorkload](t, objs, "StatefulSet")
	_, portName := checkExporterPod(t, where, sts)
	checkShardArgs(t, where, sts)
	if *sts.Spec.Replicas != values.Shards {
		t.Errorf("%s: replicas %d, want shards: %d", where, *sts.Spec.Replicas, values.Shards)
	}
	cfg := checkMountedConfig(t, where, sts, exporterConfigMap(t, objs))
	if cfg != nil && (cfg.Vantage.Name != values.Vantage.Name || cfg.Vantage.Location != values.Vantage.Location || len(cfg.Targets) != len(values.Config.Targets)) {
		t.Errorf("%s: configuration has vantage %+v and %d targets, want %+v and %d", where, cfg.Vantage, len(cfg.Targets), values.Vantage, len(values.Config.Targets))
	}
	svc := decodeOne[k8sService](t, objs, "Service")
	svcPort := checkServiceSelects(t, where, svc, sts, portName)
	if sts.Spec.ServiceName != svc.Metadata.Name {
		t.Errorf("%s: serviceName %q, want the Service %q", where, sts.Spec.ServiceName, svc.Metadata.Name)
	}
	sm := decodeOne[k8sServiceMonitor](t, objs, "ServiceMonitor")
	checkServiceMonitor(t, where, sm, svc, svcPort)

	// The PrometheusRule holds exactly the groups of the repository's rules file.
	var file, rendered struct{ Groups any }
	readYAML(t, "prometheus/rules/pop_exporter.rules.yml", &file)
	var pr struct{ Spec struct{ Groups any } }
	if err := objs["PrometheusRule"][0].decode(&pr); err != nil {
		t.Fatal(err)
	}
	rendered.Groups = pr.Spec.Groups
	if file.Groups == nil || !reflect.DeepEqual(file.Groups, rendered.Groups) {
		a, _ := yaml.Marshal(file.Groups)
		b, _ := yaml.Marshal(rendered.Groups)
		t.Errorf("the PrometheusRule's groups differ from prometheus/rules/pop_exporter.rules.yml:\n--- file\n%.2000s\n--- PrometheusRule\n%.2000s", a, b)
	}

	// One ConfigMap per dashboard, labelled for the Grafana sidecar, holding the file as it is.
	byKey := map[string]k8sConfigMap{}
	for _, cm := range dashboardConfigMapList(t, objs) {
		if cm.Metadata.Labels["grafana_dashboard"] != "1" || cm.Metadata.Annotations["grafana_folder"] == "" {
			t.Errorf("dashboard ConfigMap %s: labels %v, annotations %v; want grafana_dashboard: \"1\" and a grafana_folder", cm.Metadata.Name, cm.Metadata.Labels, cm.Metadata.Annotations)
		}
		for k := range cm.Data {
			byKey[k] = cm
		}
		if len(cm.Data) != 1 {
			t.Errorf("dashboard ConfigMap %s holds %d keys, want one dashboard", cm.Metadata.Name, len(cm.Data))
		}
	}
	for _, f := range dashboardFiles {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cm, ok := byKey[filepath.Base(f)]
		if !ok {
			t.Errorf("no dashboard ConfigMap holds %s", filepath.Base(f))
			continue
		}
		if got := cm.Data[filepath.Base(f)]; got != strings.TrimRight(string(raw), "\n") {
			t.Errorf("ConfigMap %s: %s differs from dashboards/%s", cm.Metadata.Name, filepath.Base(f), filepath.Base(f))
		}
	}
}

// The chart refuses values it cannot deploy, saying why.
func TestHelmChartRefuses(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--set", "shards=0"}, "shards must be a whole number from 1 to 1000, not 0"},
		{[]string{"--set", "shards=2.5"}, "shards must be a whole number from 1 to 1000, not 2.5"},
		{[]string{"--set", "shards=3", "--kube-version", "v1.27.0"}, "shards > 1 needs Kubernetes 1.28 or later"},
		{[]string{"--set", "prometheusRule.enabled=true", "--set", "mixin.multiCluster=yes"}, "mixin.multiCluster must be true or false, not yes"},
		{[]string{"--set", "dashboards.enabled=true", "--set", "mixin.multiCluster=true", "--set", "mixin.clusterLabel=k8s-cluster"},
			`mixin.clusterLabel must be a Prometheus label name (letters, digits and _, not starting with a digit or __), not "k8s-cluster"`},
		{[]string{"--set", "prometheusRule.enabled=true", "--set", "mixin.clusterLabel=__name__"}, `mixin.clusterLabel must be a Prometheus label name`},
		{[]string{"--set", "prometheusRule.enabled=true", "--set-string", "mixin.selector=job=pop"}, `mixin.selector must be label matchers such as job="pop_exporter"`},
		{[]string{"--set", "dashboards.enabled=true", "--set-string", `mixin.selector=up{job="pop"}`}, `mixin.selector must be label matchers`},
		{[]string{"--set", "dashboards.enabled=true", "--set", "serviceMonitor.job="}, `mixin.selector or serviceMonitor.job must say how the rules and dashboards select the exporters`},
	} {
		args := append([]string{"template", chartRelease, chartDir}, c.args...)
		if _, err := runHelm(t, args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("helm %s: error %v, want %q", strings.Join(args, " "), err, c.want)
		}
	}
}

// The chart reads the rules and dashboards through symbolic links into the repository, so
// there is no copy to drift; helm package resolves them into plain files, leaving out the
// dashboards package's Go code and the test values.
func TestHelmChartLinksNotCopies(t *testing.T) {
	for link, target := range map[string]string{
		chartDir + "/files/pop_exporter.rules.yml": "prometheus/rules/pop_exporter.rules.yml",
		chartDir + "/files/dashboards":             "../dashboards",
	} {
		fi, err := os.Lstat(link)
		if err != nil {
			t.Fatal(err)
		}
		resolved, err1 := filepath.EvalSymlinks(link)
		want, err2 := filepath.EvalSymlinks(target)
		if fi.Mode()&os.ModeSymlink == 0 || errors.Join(err1, err2) != nil || resolved != want {
			t.Errorf("%s must be a symbolic link to %s (resolves to %q, %v)", link, target, resolved, errors.Join(err1, err2))
		}
	}

	dir := t.TempDir()
	if _, err := runHelm(t, "package", chartDir, "--destination", dir); err != nil {
		t.Fatal(err)
	}
	pkgs, _ := filepath.Glob(filepath.Join(dir, "pop-exporter-*.tgz"))
	if len(pkgs) != 1 {
		t.Fatalf("helm package wrote %v", pkgs)
	}
	files := tgzFiles(t, pkgs[0])
	rules, _ := os.ReadFile("prometheus/rules/pop_exporter.rules.yml")
	if got, ok := files["pop-exporter/files/pop_exporter.rules.yml"]; !ok || got != string(rules) {
		t.Errorf("the packaged chart does not hold the rules file as it is (present: %v)", ok)
	}
	dashboardFiles, _ := filepath.Glob("../dashboards/*.json")
	for _, f := range dashboardFiles {
		raw, _ := os.ReadFile(f)
		if files["pop-exporter/files/dashboards/"+filepath.Base(f)] != string(raw) {
			t.Errorf("the packaged chart does not hold dashboards/%s as it is", filepath.Base(f))
		}
	}
	for name := range files {
		if strings.HasSuffix(name, ".go") || strings.Contains(name, "/ci/") {
			t.Errorf("the packaged chart holds %s, which .helmignore should leave out", name)
		}
	}
}

func tgzFiles(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	out := map[string]string{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			t.Errorf("%s: %s is not a regular file (type %c)", path, h.Name, h.Typeflag)
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = string(b)
	}
}

// chartArgs returns the exporter arguments of the chart's pods, as pod 0 sees them, for
// TestDeployFlagsExist; nil when Helm is not at hand.
func chartArgs(t *testing.T) map[string][]string {
	t.Helper()
	if _, err := lookupHelm(buildBudget(t)); err != nil {
		t.Logf("the chart's flags are not checked: %v", err)
		return nil
	}
	out := map[string][]string{}
	for where, args := range map[string][]string{"chart (default values)": nil, "chart (ci/sharded-values.yaml)": {"-f", shardedValues}} {
		objs := renderChart(t, args...)
		for _, kind := range []string{"Deployment", "StatefulSet"} {
			for _, d := range objs[kind] {
				var w k8sWorkload
				if err := d.decode(&w); err != nil {
					t.Fatal(err)
				}
				c := w.Spec.Template.Spec.Containers[0]
				a, err := expandEnv(c.Args, c.Env, "0")
				if err != nil {
					t.Fatalf("%s: %v", where, err)
				}
				out[where] = a
			}
		}
	}
	if _, ok := flagValue(out["chart (ci/sharded-values.yaml)"], "shard"); !ok {
		t.Errorf("the sharded chart passes no --shard: %q", out["chart (ci/sharded-values.yaml)"])
	}
	return out
}
