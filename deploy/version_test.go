package deploy

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestVersionStamped: the VERSION file is the one release version. `make build` and the
// Dockerfile stamp it (and the git revision) into the binary, the shipped manifests run the
// image of that version, and the CHANGELOG has an entry for it.
func TestVersionStamped(t *testing.T) {
	b, err := os.ReadFile("../VERSION")
	if err != nil {
		t.Fatal(err)
	}
	version := strings.TrimSpace(string(b))
	if !regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$`).MatchString(version) {
		t.Fatalf("VERSION %q is not a semantic version", version)
	}
	if make, err := exec.LookPath("make"); err == nil {
		out, err := exec.Command(make, "-C", "..", "-n", "build").CombinedOutput()
		if err != nil {
			t.Fatalf("make -n build: %v\n%s", err, out)
		}
		for _, want := range []string{"version.Version=" + version + " ", "version.Revision="} {
			if !strings.Contains(string(out), want) {
				t.Errorf("make build does not stamp %q:\n%s", want, out)
			}
		}
	}
	docker := read(t, "../Dockerfile")
	for _, want := range []string{".Version=$(cat VERSION)", ".Revision=${REVISION}"} {
		if !strings.Contains(docker, want) {
			t.Errorf("Dockerfile does not stamp %s", want)
		}
	}
	ignore := read(t, "../.dockerignore")
	for _, want := range []string{".git", "bin/"} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(want) + `$`).MatchString(ignore) {
			t.Errorf(".dockerignore does not leave out %s", want)
		}
	}
	for file, want := range map[string]string{
		"helm/pop-exporter/Chart.yaml":  "appVersion: v" + version + "\n",
		"kubernetes/kustomization.yaml": "newTag: v" + version + "\n",
		"kubernetes/deployment.yaml":    "image: pop_exporter:v" + version + "\n",
		"../CHANGELOG.md":               "## " + version + " ",
	} {
		if !strings.Contains(read(t, file), want) {
			t.Errorf("%s does not have %q (VERSION is %s)", file, strings.TrimSpace(want), version)
		}
	}
}

func read(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestChangelogEntries: every entry of CHANGELOG.md carries one of the four tags.
func TestChangelogEntries(t *testing.T) {
	tag := regexp.MustCompile(`^\* \[(CHANGE|FEATURE|ENHANCEMENT|BUGFIX)\] \S`)
	entries := 0
	for i, line := range strings.Split(read(t, "../CHANGELOG.md"), "\n") {
		if !strings.HasPrefix(line, "* ") {
			continue
		}
		entries++
		if !tag.MatchString(line) {
			t.Errorf("CHANGELOG.md:%d: an entry without [CHANGE], [FEATURE], [ENHANCEMENT] or [BUGFIX]: %s", i+1, line)
		}
	}
	if entries == 0 {
		t.Error("CHANGELOG.md has no entries")
	}
	// Every metric of the README's reference came with a [CHANGE] entry naming it: a metric
	// added to the contract without one fails here.
	var changes strings.Builder
	for _, entry := range strings.Split(read(t, "../CHANGELOG.md"), "\n* ") {
		if strings.HasPrefix(entry, "[CHANGE]") {
			changes.WriteString(entry)
		}
	}
	for _, m := range regexp.MustCompile("(?m)^\\| `(pop_[a-z_]+)` \\|").FindAllStringSubmatch(read(t, "../README.md"), -1) {
		if !strings.Contains(changes.String(), "`"+m[1]+"`") {
			t.Errorf("metric %s of the README's Metrics reference is in no [CHANGE] entry of CHANGELOG.md", m[1])
		}
	}
}
