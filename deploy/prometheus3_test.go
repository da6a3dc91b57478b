package deploy

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The end-to-end tests run every panel query and every alert scenario against the Prometheus
// users run today as well as the Debian package (2.42): Prometheus 3, the major version the
// compose stack pins. It is built from its Go module once per machine and kept in the user
// cache directory, like Helm (see goInstallCached): `make prometheus3` builds it, and `make test`
// runs that first; the tests never build it themselves. A server built this way has no web UI assets; its HTTP API, which
// is all the tests use, works.

const (
	prometheus3Package = "github.com/prometheus/prometheus/cmd/prometheus"
	// prometheus3Version is the module version of the Prometheus 3 server of the tests:
	// v0.316.0 is Prometheus 3.16.0 (module v0.3XY.Z is Prometheus 3.XY.Z).
	prometheus3Version = "v0.316.0"
	// prometheus3Tags leaves out the cloud service discoveries (AWS, Azure, GCE, Kubernetes …),
	// which the tests' static targets do not need and which are most of the build: file and
	// HTTP discovery stay (Prometheus' plugins/minimum.go).
	prometheus3Tags = "remove_all_sd"
)

var (
	prom3Once sync.Once
	prom3Path string
	prom3Err  error
)

// lookupPrometheus3 returns the cached Prometheus 3, building it first only when asked to
// (`make prometheus3`, POP_BUILD_TOOLS=1).
func lookupPrometheus3(budget time.Duration) (string, error) {
	prom3Once.Do(func() {
		prom3Path, prom3Err = goInstallCached(prometheus3Package, prometheus3Version, "prometheus", "prometheus3", budget, "-tags", prometheus3Tags)
	})
	return prom3Path, prom3Err
}

// requirePrometheus3 skips the test, saying why, when Prometheus 3 cannot be had, except in CI
// (CI=true), where the Prometheus 3 half of the end-to-end tests must not become a silent skip.
func requirePrometheus3(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("Prometheus 3 is needed for the end-to-end tests: %v", err)
	}
	t.Skipf("SKIP: the dashboards and alerts are not tested against Prometheus 3: %v", err)
}

var modVersionRE = regexp.MustCompile(`(?m)^\s*mod\s+github\.com/prometheus/prometheus\s+(v\S+)`)

// builtModuleVersion returns the github.com/prometheus/prometheus module version a binary was
// built from (`go version -m`): a server built by `go install` carries no version stamp of
// its own (`prometheus --version` prints an empty version).
func builtModuleVersion(t *testing.T, bin string) string {
	t.Helper()
	out, err := exec.Command("go", "version", "-m", bin).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m %s: %v\n%s", bin, err, out)
	}
	m := modVersionRE.FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("%s was not built from github.com/prometheus/prometheus:\n%s", bin, out)
	}
	return m[1]
}

// prometheus3Minor is the minor version prometheus3Version builds (0.316.0: 16).
func prometheus3Minor(t *testing.T) int {
	t.Helper()
	v := strings.Split(strings.TrimPrefix(prometheus3Version, "v"), ".")
	n, err := strconv.Atoi(v[1])
	if len(v) != 3 || v[0] != "0" || err != nil || n < 300 || n >= 400 {
		t.Fatalf("prometheus3Version %s is not a Prometheus 3 module version (v0.3XY.Z)", prometheus3Version)
	}
	return n - 300
}

// TestPrometheus3Binary builds Prometheus 3 if it is not cached (`make prometheus3` runs it on
// its own) and checks that it is the version the tests say.
func TestPrometheus3Binary(t *testing.T) {
	if os.Getenv(buildToolsEnv) != "1" && os.Getenv("CI") != "true" {
		t.Skip("builds Prometheus 3 only under `make prometheus3` (POP_BUILD_TOOLS=1)")
	}
	bin, err := lookupPrometheus3(buildBudget(t))
	requirePrometheus3(t, err)
	if v := builtModuleVersion(t, bin); v != prometheus3Version {
		t.Errorf("%s was built from github.com/prometheus/prometheus %s, want %s", bin, v, prometheus3Version)
	}
	t.Logf("Prometheus 3.%d: %s", prometheus3Minor(t), bin)
}

// TestComposePinsTheTestedPrometheusMajor: the compose stack's Prometheus image has the major
// version the end-to-end tests run (3), so the demo runs what is tested.
func TestComposePinsTheTestedPrometheusMajor(t *testing.T) {
	var c struct {
		Services map[string]struct {
			Image string `yaml:"image"`
		} `yaml:"services"`
	}
	readYAML(t, "docker-compose.yml", &c)
	image := c.Services["prometheus"].Image
	m := regexp.MustCompile(`^prom/prometheus:v(\d+)\.\d+\.\d+$`).FindStringSubmatch(image)
	if m == nil {
		t.Fatalf("docker-compose.yml: service prometheus has image %q, want prom/prometheus:vX.Y.Z", image)
	}
	prometheus3Minor(t) // the tested version is a 3.x
	if m[1] != "3" {
		t.Errorf("docker-compose.yml pins %s, but the end-to-end tests run Prometheus 3 (%s %s) and 2.42: pin a 3.x image", image, prometheus3Package, prometheus3Version)
	}
}
