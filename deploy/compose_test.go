package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// These tests check what can be checked of the deployment files without a Docker engine or a
// Kubernetes cluster: that they parse, that every file they name exists, that the pieces agree
// with each other (service names, ports, paths, flags), and that the demo script really runs.

const (
	composeFile      = "docker-compose.yml"
	exporterPort     = "9853" // cmd/pop_exporter DefaultListenAddress
	exporterJob      = "pop_exporter"
	grafanaDSFile    = "grafana/provisioning/datasources/prometheus.yml"
	grafanaDashFile  = "grafana/provisioning/dashboards/pop_exporter.yml"
	alertmanagerFile = "alertmanager/alertmanager.yml"
	systemdUnitFile  = "systemd/pop_exporter.service"
)

// composeService holds the keys of a compose service that the tests check.
type composeService struct {
	Image string `yaml:"image"`
	Build *struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	} `yaml:"build"`
	Entrypoint  []string                 `yaml:"entrypoint"`
	Command     []string                 `yaml:"command"`
	Volumes     []string                 `yaml:"volumes"`
	Ports       []string                 `yaml:"ports"`
	Environment map[string]string        `yaml:"environment"`
	DependsOn   yaml.Node                `yaml:"depends_on"`
	Healthcheck *struct{ Test []string } `yaml:"healthcheck"`
	Restart     string                   `yaml:"restart"`
}

type composeProject struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

// composeMount is one short-syntax volume entry: "source:target[:mode]".
type composeMount struct {
	Source, Target string
	ReadOnly       bool
	Bind           bool // source is a host path rather than a named volume
}

func (s composeService) mounts(t *testing.T, service string) []composeMount {
	t.Helper()
	var out []composeMount
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || len(parts) > 3 {
			t.Fatalf("service %s: volume %q is not source:target[:mode]", service, v)
		}
		m := composeMount{Source: parts[0], Target: parts[1]}
		m.ReadOnly = len(parts) == 3 && slices.Contains(strings.Split(parts[2], ","), "ro")
		m.Bind = strings.HasPrefix(m.Source, ".") || strings.HasPrefix(m.Source, "/")
		out = append(out, m)
	}
	return out
}

// dependsOn returns the services s depends on and the condition of each ("" for the list form).
func (s composeService) dependsOn(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	switch s.DependsOn.Kind {
	case 0:
	case yaml.SequenceNode:
		var names []string
		if err := s.DependsOn.Decode(&names); err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			out[n] = ""
		}
	case yaml.MappingNode:
		var m map[string]struct{ Condition string }
		if err := s.DependsOn.Decode(&m); err != nil {
			t.Fatal(err)
		}
		for n, d := range m {
			out[n] = d.Condition
		}
	default:
		t.Fatalf("depends_on is neither a list nor a map")
	}
	return out
}

// flagValue returns the value of --name=value in args.
func flagValue(args []string, name string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

func loadCompose(t *testing.T) composeProject {
	t.Helper()
	var p composeProject
	readYAML(t, composeFile, &p)
	if len(p.Services) == 0 {
		t.Fatalf("%s defines no services", composeFile)
	}
	return p
}

// pinnedImage matches an image reference with an explicit version tag or a digest: the tag has
// a digit (v3.5.0, 11.6.1) and is not a moving one such as latest, main or a bare major.
var pinnedImage = regexp.MustCompile(`^[a-z0-9./_-]+(:v?[0-9]+\.[0-9]+\.[0-9]+[A-Za-z0-9._-]*)?(@sha256:[a-f0-9]{64})?$`)

func TestComposeImagesPinnedOrBuilt(t *testing.T) {
	p := loadCompose(t)
	for _, want := range []string{"cdnsim", "pop_exporter", "prometheus", "alertmanager", "grafana"} {
		if _, ok := p.Services[want]; !ok {
			t.Errorf("%s has no service %q", composeFile, want)
		}
	}
	for name, s := range p.Services {
		if s.Build != nil {
			if s.Build.Context != ".." || s.Build.Dockerfile != "Dockerfile" {
				t.Errorf("service %s: build %+v, want the repository's Dockerfile (context .., dockerfile Dockerfile)", name, *s.Build)
			}
			if _, err := os.Stat(filepath.Join(s.Build.Context, s.Build.Dockerfile)); err != nil {
				t.Errorf("service %s: %v", name, err)
			}
			continue
		}
		img := s.Image
		tagged := strings.Contains(img[strings.LastIndex(img, "/")+1:], ":") || strings.Contains(img, "@sha256:")
		if img == "" || !tagged || !pinnedImage.MatchString(img) {
			t.Errorf("service %s: image %q is not pinned to a version (name:X.Y.Z or @sha256:…)", name, img)
		}
	}
}

func TestComposeBindMountsExist(t *testing.T) {
	p := loadCompose(t)
	for name, s := range p.Services {
		for _, m := range s.mounts(t, name) {
			if !m.Bind {
				if _, ok := p.Volumes[m.Source]; !ok {
					t.Errorf("service %s mounts volume %q, which the top-level volumes do not declare", name, m.Source)
				}
				continue
			}
			if _, err := os.Stat(m.Source); err != nil {
				t.Errorf("service %s mounts %s (relative to deploy/), which does not exist: %v", name, m.Source, err)
			}
			if !m.ReadOnly {
				t.Errorf("service %s mounts repository path %s writable; mount it :ro", name, m.Source)
			}
		}
	}
}

// TestComposeWiring checks that the services find each other: the names and ports in the
// Prometheus config and the Grafana datasource are compose services, the exporter reads the
// config file that cdnsim writes into their shared volume, and it waits for it.
func TestComposeWiring(t *testing.T) {
	p := loadCompose(t)
	sim, exporter := p.Services["cdnsim"], p.Services["pop_exporter"]

	if !slices.Equal(sim.Entrypoint, []string{"/bin/cdnsim"}) {
		t.Errorf("cdnsim entrypoint %q, want [/bin/cdnsim] (the image's default entrypoint is the exporter)", sim.Entrypoint)
	}
	if host, _ := flagValue(sim.Command, "print-config.host"); host != "cdnsim" {
		t.Errorf("cdnsim --print-config.host=%q: the exporter reaches it as the service name cdnsim", host)
	}
	for _, f := range []string{"http.listen-address", "https.listen-address"} {
		if addr, _ := flagValue(sim.Command, f); !strings.HasPrefix(addr, "0.0.0.0:") {
			t.Errorf("cdnsim --%s=%q: must listen on 0.0.0.0 to be reachable from the exporter's container", f, addr)
		}
	}
	written, _ := flagValue(sim.Command, "config.out")
	read, _ := flagValue(exporter.Command, "config.file")
	if written == "" || written != read {
		t.Errorf("cdnsim writes --config.out=%q but the exporter reads --config.file=%q", written, read)
	}
	ca, _ := flagValue(sim.Command, "tls.ca-file")
	sharedIn := func(svc composeService, name, path string) string {
		for _, m := range svc.mounts(t, name) {
			if !m.Bind && strings.HasPrefix(path, m.Target+"/") {
				return m.Source
			}
		}
		t.Errorf("service %s: %s is on no named volume", name, path)
		return ""
	}
	if v := sharedIn(sim, "cdnsim", written); v != "" && v != sharedIn(exporter, "pop_exporter", read) {
		t.Errorf("cdnsim and pop_exporter do not share the volume holding %s", written)
	}
	if filepath.Dir(ca) != filepath.Dir(written) {
		t.Errorf("cdnsim writes its CA to %s, outside the shared directory %s", ca, filepath.Dir(written))
	}

	// The exporter must not start before the file exists: cdnsim's health check says so, and
	// the image is distroless, so the check cannot use a shell.
	if cond := exporter.dependsOn(t)["cdnsim"]; cond != "service_healthy" {
		t.Errorf("pop_exporter depends_on cdnsim with condition %q, want service_healthy", cond)
	}
	if sim.Healthcheck == nil || len(sim.Healthcheck.Test) < 2 || sim.Healthcheck.Test[0] != "CMD" {
		t.Errorf("cdnsim needs an exec-form (CMD) health check: the image has no shell")
	} else {
		check := sim.Healthcheck.Test[1:]
		if !slices.Contains([]string{"/bin/pop_exporter", "/bin/cdnsim"}, check[0]) {
			t.Errorf("cdnsim health check runs %s, which the image does not have", check[0])
		}
		if f, _ := flagValue(check, "config.file"); f != written {
			t.Errorf("cdnsim health check looks at %q, not the config it writes (%s)", f, written)
		}
	}
	if exporter.Restart != "on-failure" && exporter.Restart != "unless-stopped" && exporter.Restart != "always" {
		t.Errorf("pop_exporter restart %q: it must retry until its config exists", exporter.Restart)
	}
	if !publishes(exporter, exporterPort) {
		t.Errorf("pop_exporter does not publish port %s", exporterPort)
	}

	// Prometheus scrapes the exporter service and alerts the alertmanager service.
	var prom struct {
		Alerting struct {
			Alertmanagers []struct {
				StaticConfigs []struct{ Targets []string } `yaml:"static_configs"`
			}
		}
		ScrapeConfigs []struct {
			JobName       string                       `yaml:"job_name"`
			StaticConfigs []struct{ Targets []string } `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, "prometheus/prometheus.yml", &prom)
	var targets []string
	for _, sc := range prom.ScrapeConfigs {
		if sc.JobName == exporterJob {
			for _, st := range sc.StaticConfigs {
				targets = append(targets, st.Targets...)
			}
		}
	}
	if !slices.Contains(targets, "pop_exporter:"+exporterPort) {
		t.Errorf("prometheus.yml job %s scrapes %q, not the compose service pop_exporter:%s", exporterJob, targets, exporterPort)
	}
	for _, am := range prom.Alerting.Alertmanagers {
		for _, sc := range am.StaticConfigs {
			for _, tg := range sc.Targets {
				checkServiceAddr(t, p, "prometheus.yml alertmanager", tg)
			}
		}
	}
	if m := findMount(p.Services["prometheus"], "prometheus", t, "/etc/prometheus"); m == nil || m.Source != "./prometheus" {
		t.Errorf("prometheus does not mount ./prometheus at /etc/prometheus (rule_files are relative to it)")
	}
	if m := findMount(p.Services["alertmanager"], "alertmanager", t, "/etc/alertmanager/alertmanager.yml"); m == nil || m.Source != "./"+alertmanagerFile {
		t.Errorf("alertmanager does not mount ./%s", alertmanagerFile)
	}
}

func publishes(s composeService, port string) bool {
	for _, p := range s.Ports {
		if strings.HasSuffix(p, ":"+port) {
			return true
		}
	}
	return false
}

func findMount(s composeService, name string, t *testing.T, target string) *composeMount {
	for _, m := range s.mounts(t, name) {
		if m.Target == target {
			return &m
		}
	}
	return nil
}

// checkServiceAddr fails unless addr is host:port of a compose service.
func checkServiceAddr(t *testing.T, p composeProject, what, addr string) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Errorf("%s: %q: %v", what, addr, err)
		return
	}
	if _, ok := p.Services[host]; !ok || port == "" {
		t.Errorf("%s: %q is not a compose service", what, addr)
	}
}

// TestGrafanaProvisioning checks the datasource and dashboard provisioning files, that the
// compose file mounts what they point at, and that the repository's dashboards work under file
// provisioning: Grafana does not substitute __inputs there, so a panel naming the input
// ${DS_PROMETHEUS} would find no datasource. They must use their datasource variable, which
// Grafana sets to the default Prometheus datasource.
func TestGrafanaProvisioning(t *testing.T) {
	p := loadCompose(t)
	grafana := p.Services["grafana"]
	for _, f := range []string{grafanaDSFile, grafanaDashFile} {
		dir := filepath.Dir(f) // grafana/provisioning/<kind>
		target := "/etc/" + dir
		if m := findMount(grafana, "grafana", t, target); m == nil || m.Source != "./"+dir {
			t.Errorf("grafana does not mount ./%s at %s, so %s is not provisioned", dir, target, f)
		}
	}
	if grafana.Environment["GF_AUTH_ANONYMOUS_ENABLED"] != "true" || grafana.Environment["GF_AUTH_ANONYMOUS_ORG_ROLE"] != "Viewer" {
		t.Errorf("grafana: anonymous viewer access is not enabled for the demo")
	}

	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name, Type, UID, URL, Access string
			IsDefault                    bool `yaml:"isDefault"`
		}
	}
	readYAML(t, grafanaDSFile, &ds)
	if ds.APIVersion != 1 || len(ds.Datasources) != 1 {
		t.Fatalf("%s: want apiVersion 1 and one datasource, got %+v", grafanaDSFile, ds)
	}
	d := ds.Datasources[0]
	if d.Type != "prometheus" || !d.IsDefault || d.Access != "proxy" {
		t.Errorf("%s: datasource %+v must be the default, proxied Prometheus datasource", grafanaDSFile, d)
	}
	u, err := url.Parse(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	checkServiceAddr(t, p, grafanaDSFile+" url", u.Host)
	if !strings.HasPrefix(u.Host, "prometheus:") {
		t.Errorf("%s: url %s does not point at the prometheus service", grafanaDSFile, d.URL)
	}

	var dash struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name, Type string
			Options    struct{ Path string }
		}
	}
	readYAML(t, grafanaDashFile, &dash)
	if dash.APIVersion != 1 || len(dash.Providers) == 0 {
		t.Fatalf("%s: want apiVersion 1 and a provider", grafanaDashFile)
	}
	for _, prov := range dash.Providers {
		if prov.Type != "file" {
			t.Errorf("%s: provider %s has type %q, want file", grafanaDashFile, prov.Name, prov.Type)
		}
		m := findMount(grafana, "grafana", t, prov.Options.Path)
		if m == nil {
			t.Errorf("%s: provider %s reads %s, which the grafana service does not mount", grafanaDashFile, prov.Name, prov.Options.Path)
			continue
		}
		abs, _ := filepath.Abs(m.Source)
		want, _ := filepath.Abs("../dashboards")
		if abs != want {
			t.Errorf("grafana mounts %s at %s, want the repository's dashboards", m.Source, prov.Options.Path)
		}
	}
	if home := grafana.Environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]; home != "" {
		m := findMount(grafana, "grafana", t, filepath.Dir(home))
		if m == nil {
			t.Errorf("grafana home dashboard %s is not on a mounted path", home)
		} else if _, err := os.Stat(filepath.Join(m.Source, filepath.Base(home))); err != nil {
			t.Errorf("grafana home dashboard: %v", err)
		}
	}

	files, err := filepath.Glob("../dashboards/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards found: %v", err)
	}
	for _, f := range files {
		checkDashboardDatasources(t, f)
	}
}

// checkDashboardDatasources fails when a dashboard names a datasource that file provisioning
// cannot resolve.
// importInputRE matches a reference to a dashboard's __inputs entry, such as ${DS_PROMETHEUS}.
var importInputRE = regexp.MustCompile(`^\$\{DS_[A-Z0-9_]+\}$`)

func checkDashboardDatasources(t *testing.T, file string) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Templating struct {
			List []struct {
				Name, Type string
				Query      any
				Current    map[string]any
			}
		}
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var dsVar string
	for _, v := range d.Templating.List {
		if v.Type == "datasource" && v.Query == "prometheus" {
			dsVar = v.Name
			// An import input such as ${DS_PROMETHEUS} is replaced by the Import dialog; file
			// provisioning leaves it, names no datasource, and Grafana falls back to the default.
			if val, ok := v.Current["value"].(string); ok && val != "" && val != "default" && val != "prometheus" && !importInputRE.MatchString(val) {
				t.Errorf("%s: datasource variable %s is saved as %q, which no provisioned datasource is", file, v.Name, val)
			}
		}
	}
	if dsVar == "" {
		t.Errorf("%s: no Prometheus datasource variable", file)
		return
	}
	allowed := []string{"${" + dsVar + "}", "$" + dsVar, "prometheus", "-- Grafana --"}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, c := range v {
				if k == "datasource" {
					uid := ""
					switch ds := c.(type) {
					case string:
						uid = ds
					case map[string]any:
						uid, _ = ds["uid"].(string)
					}
					if c != nil && !slices.Contains(allowed, uid) {
						t.Errorf("%s: %s.datasource names %q; under file provisioning only %q resolve", file, path, uid, allowed)
					}
				}
				walk(path+"."+k, c)
			}
		case []any:
			for i, c := range v {
				walk(fmt.Sprintf("%s[%d]", path, i), c)
			}
		}
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	delete(doc.(map[string]any), "__inputs") // used by the Import dialog only
	walk(filepath.Base(file), doc)
}

func TestAlertmanagerConfig(t *testing.T) {
	var am struct {
		Route struct {
			Receiver string
			GroupBy  []string `yaml:"group_by"`
		}
		Receivers []struct{ Name string }
	}
	readYAML(t, alertmanagerFile, &am)
	var names []string
	for _, r := range am.Receivers {
		names = append(names, r.Name)
	}
	if am.Route.Receiver == "" || !slices.Contains(names, am.Route.Receiver) {
		t.Errorf("%s: route receiver %q is not one of the receivers %q", alertmanagerFile, am.Route.Receiver, names)
	}
	amtool, err := exec.LookPath("amtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("amtool is needed to check the Alertmanager config (Debian: apt-get install prometheus-alertmanager)")
		}
		t.Skip("SKIP: amtool not on PATH (Debian: apt-get install prometheus-alertmanager): structure checked, not the inhibit rules and routes")
	}
	if out, err := exec.Command(amtool, "check-config", alertmanagerFile).CombinedOutput(); err != nil {
		t.Errorf("amtool check-config: %v\n%s", err, out)
	}
}

// k8sDoc is the part of a Kubernetes object that every manifest has.
type k8sDoc struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string
	Metadata   struct {
		Name   string
		Labels map[string]string
	}
	node yaml.Node
}

// decode decodes the whole object into v.
func (d k8sDoc) decode(v any) error { return d.node.Decode(v) }

func loadK8s(t *testing.T) map[string]k8sDoc {
	t.Helper()
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no kubernetes/*.yaml: %v", err)
	}
	docs := map[string]k8sDoc{}
	for _, f := range files {
		for _, d := range loadYAMLDocs(t, f) {
			docs[d.Kind] = d
		}
	}
	return docs
}

// parseK8sDocs parses every object of a multi-document manifest; what names it in errors.
func parseK8sDocs(t *testing.T, what string, raw []byte) []k8sDoc {
	t.Helper()
	var docs []k8sDoc
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	for i := 0; ; i++ {
		var n yaml.Node
		if err := dec.Decode(&n); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("%s document %d: %v", what, i, err)
		}
		if n.Kind == yaml.DocumentNode && len(n.Content) == 1 && n.Content[0].Kind == yaml.ScalarNode && n.Content[0].Tag == "!!null" {
			continue // an empty document, as between two "---"
		}
		var d k8sDoc
		if err := n.Decode(&d); err != nil {
			t.Fatalf("%s document %d: %v", what, i, err)
		}
		d.node = n
		if d.Kind == "Kustomization" || d.Kind == "Component" {
			d.Metadata.Name = "kustomization"
		}
		if d.APIVersion == "" || d.Kind == "" || d.Metadata.Name == "" {
			t.Errorf("%s document %d lacks apiVersion, kind or metadata.name", what, i)
		}
		docs = append(docs, d)
	}
	return docs
}

func TestKubernetesManifests(t *testing.T) {
	docs := loadK8s(t)
	for _, kind := range []string{"ConfigMap", "Deployment", "Service", "Kustomization"} {
		if _, ok := docs[kind]; !ok {
			t.Fatalf("kubernetes/ has no %s", kind)
		}
	}

	var dep k8sWorkload
	if err := docs["Deployment"].decode(&dep); err != nil {
		t.Fatal(err)
	}
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 1 {
		t.Errorf("Deployment: want replicas 1; two unsharded exporters would probe every target twice")
	}
	c, portName := checkExporterPod(t, "kubernetes/deployment.yaml", dep)
	var cm k8sConfigMap
	if err := docs["ConfigMap"].decode(&cm); err != nil {
		t.Fatal(err)
	}
	checkMountedConfig(t, "kubernetes/", dep, cm)
	var svc k8sService
	if err := docs["Service"].decode(&svc); err != nil {
		t.Fatal(err)
	}
	svcPort := checkServiceSelects(t, "kubernetes/service.yaml", svc, dep, portName)
	var sm k8sServiceMonitor
	if err := loadYAMLDocs(t, "kubernetes/monitoring/servicemonitor.yaml")[0].decode(&sm); err != nil {
		t.Fatal(err)
	}
	checkServiceMonitor(t, "kubernetes/monitoring/servicemonitor.yaml", sm, svc, svcPort)

	var kust struct {
		Resources []string
		Images    []struct{ Name string }
	}
	if err := docs["Kustomization"].decode(&kust); err != nil {
		t.Fatal(err)
	}
	for _, r := range kust.Resources {
		if _, err := os.Stat(filepath.Join("kubernetes", r)); err != nil {
			t.Errorf("kustomization.yaml: %v", err)
		}
	}
	imageName, _, _ := strings.Cut(c.Image, ":")
	if len(kust.Images) != 1 || kust.Images[0].Name != imageName {
		t.Errorf("kustomization.yaml images %+v do not name the Deployment's image %s", kust.Images, imageName)
	}
}

// unitDirectives reads a systemd unit: key -> values, with continuation lines joined.
func unitDirectives(t *testing.T, path string) map[string][]string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	joined := strings.ReplaceAll(string(raw), "\\\n", " ")
	for _, line := range strings.Split(joined, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' || line[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Errorf("%s: %q is not key=value", path, line)
			continue
		}
		out[k] = append(out[k], strings.Join(strings.Fields(v), " "))
	}
	return out
}

func TestSystemdUnit(t *testing.T) {
	u := unitDirectives(t, systemdUnitFile)
	execStart := strings.Fields(strings.Join(u["ExecStart"], " "))
	if len(execStart) == 0 || !filepath.IsAbs(execStart[0]) || filepath.Base(execStart[0]) != "pop_exporter" {
		t.Fatalf("ExecStart %q does not run an absolute path to pop_exporter", u["ExecStart"])
	}
	if f, _ := flagValue(execStart[1:], "config.file"); f != "/etc/pop_exporter/config.yml" {
		t.Errorf("ExecStart --config.file=%q, want /etc/pop_exporter/config.yml", f)
	}
	if r := strings.Join(u["ExecReload"], " "); !strings.Contains(r, "kill -HUP $MAINPID") {
		t.Errorf("ExecReload %q does not send SIGHUP, the exporter's reload signal", r)
	}
	for k, want := range map[string]string{
		"DynamicUser": "yes", "ProtectSystem": "strict", "NoNewPrivileges": "yes",
		"ProtectHome": "yes", "PrivateTmp": "yes", "Restart": "on-failure",
	} {
		if got := strings.Join(u[k], " "); got != want {
			t.Errorf("%s=%q, want %q", k, got, want)
		}
	}
	if len(u["WantedBy"]) == 0 {
		t.Errorf("no [Install] WantedBy: systemctl enable would do nothing")
	}
}

// TestDeployFlagsExist runs the binaries' --help and fails when a deployment file passes a
// flag they do not have (a renamed flag would otherwise only show when a container crashes).
// With systemd-analyze on PATH it also verifies the unit against the built binary.
func TestDeployFlagsExist(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries")
	}
	dir := t.TempDir()
	bins := buildBinaries(t, dir, "cdnsim", "pop_exporter")
	help := map[string]string{}
	for name, bin := range bins {
		out, err := exec.Command(bin, "--help").CombinedOutput()
		if err != nil {
			t.Fatalf("%s --help: %v\n%s", name, err, out)
		}
		help[name] = string(out)
	}
	check := func(where, prog string, args []string) {
		for _, a := range args {
			if !strings.HasPrefix(a, "--") {
				continue
			}
			name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
			// kingpin lists "--name=PLACEHOLDER" and, for booleans, "--[no-]name".
			listed := regexp.MustCompile(`--(\[no-\])?` + regexp.QuoteMeta(name) + `([=\s]|$)`)
			if !listed.MatchString(help[prog]) {
				t.Errorf("%s passes --%s, which %s --help does not list", where, name, prog)
			}
		}
	}
	p := loadCompose(t)
	check("docker-compose.yml cdnsim", "cdnsim", p.Services["cdnsim"].Command)
	check("docker-compose.yml pop_exporter", "pop_exporter", p.Services["pop_exporter"].Command)
	check("docker-compose.yml cdnsim healthcheck", "pop_exporter", p.Services["cdnsim"].Healthcheck.Test)

	var dep, sts k8sWorkload
	if err := loadK8s(t)["Deployment"].decode(&dep); err != nil {
		t.Fatal(err)
	}
	check("kubernetes/deployment.yaml", "pop_exporter", dep.Spec.Template.Spec.Containers[0].Args)
	if err := loadYAMLDocs(t, "kubernetes/sharded/statefulset.yaml")[0].decode(&sts); err != nil {
		t.Fatal(err)
	}
	c := sts.Spec.Template.Spec.Containers[0]
	args, err := expandEnv(c.Args, c.Env, "0")
	if err != nil {
		t.Fatal(err)
	}
	check("kubernetes/sharded/statefulset.yaml", "pop_exporter", args)
	for where, args := range chartArgs(t) {
		check(where, "pop_exporter", args)
	}
	unit := unitDirectives(t, systemdUnitFile)
	check(systemdUnitFile, "pop_exporter", strings.Fields(strings.Join(unit["ExecStart"], " ")))

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze not on PATH: the unit is not verified by systemd")
		return
	}
	raw, err := os.ReadFile(systemdUnitFile)
	if err != nil {
		t.Fatal(err)
	}
	exe := strings.Fields(strings.Join(unit["ExecStart"], " "))[0]
	local := filepath.Join(dir, "pop_exporter.service")
	if err := os.WriteFile(local, []byte(strings.ReplaceAll(string(raw), exe, bins["pop_exporter"])), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", local).CombinedOutput(); err != nil {
		t.Errorf("systemd-analyze verify %s: %v\n%s", systemdUnitFile, err, out)
	}
}

// TestDemoScript runs `DEMO_DURATION=60 deploy/demo.sh` as a user would (the README's
// promise: a minute shows the shift alerts), scrapes the exporter it reports while it runs,
// runs every example query it prints, checks that the alerts it announces are reported
// firing within the minute, and that it stops everything it started.
func TestDemoScript(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo builds the binaries and runs for 60 s")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not on PATH")
	}
	dir := t.TempDir()
	cmd := exec.Command("bash", "./demo.sh")
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.Contains([]string{"CDNSIM_HTTP_PORT", "CDNSIM_HTTPS_PORT", "EXPORTER_PORT", "PROMETHEUS_PORT", "DEMO_INTERVAL"}, k) {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "DEMO_DURATION=60", "DEMO_DIR="+dir)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	done := make(chan struct{})
	go func() { err := cmd.Wait(); pw.Close(); exited <- err; close(done) }()
	t.Cleanup(func() { // when the test stopped early: Ctrl-C, on which the script stops its children
		select {
		case <-done:
		default:
			cmd.Process.Signal(os.Interrupt)
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
			}
		}
	})

	output := &logBuffer{}
	lines := make(chan string, 256)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			output.Write([]byte(sc.Text() + "\n"))
			lines <- sc.Text()
		}
		close(lines)
	}()
	urls := map[string]string{}
	ready := false
	timeout := time.After(3 * time.Minute) // a cold build included
	for !ready {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("demo.sh ended before it was ready:\n%s", output.tail(40))
			}
			for _, label := range []string{"exporter metrics", "cdnsim targets", "Prometheus", "alerts"} {
				if v, ok := strings.CutPrefix(strings.TrimSpace(line), label+":"); ok {
					urls[label] = strings.TrimSpace(v)
				}
			}
			ready = strings.HasPrefix(line, "demo: ready")
		case <-timeout:
			t.Fatalf("demo.sh not ready within 3 minutes:\n%s", output.tail(40))
		}
	}
	go func() {
		for range lines { // keep draining so the script never blocks on its output
		}
	}()

	metricsURL := urls["exporter metrics"]
	if !strings.HasPrefix(metricsURL, "http://127.0.0.1:") || !strings.HasSuffix(metricsURL, "/metrics") {
		t.Fatalf("demo.sh printed no loopback exporter metrics URL; output:\n%s", output.tail(60))
	}
	if !strings.HasPrefix(urls["cdnsim targets"], "http://127.0.0.1:") {
		t.Errorf("demo.sh printed no cdnsim URL")
	}
	for _, want := range []string{"cf-shift-sin", "pop_probe_edge_info", "pop_probe_shift_distance_meters"} {
		if !strings.Contains(output.tail(200), want) {
			t.Errorf("demo.sh output does not mention %s", want)
		}
	}
	eventually(t, "the demo's exporter serves pop_probe_edge_info for cf-shift-sin", 15*time.Second, func() error {
		body, err := httpGetBody(metricsURL)
		if err != nil {
			return err
		}
		if !regexp.MustCompile(`(?m)^pop_probe_edge_info\{[^}]*target="cf-shift-sin"[^}]*\} 1$`).MatchString(body) {
			return errors.New("no pop_probe_edge_info series for cf-shift-sin yet")
		}
		return nil
	})
	_, promErr := exec.LookPath("prometheus")
	if promErr == nil {
		base := strings.TrimSuffix(urls["Prometheus"], "/")
		if !strings.HasPrefix(base, "http://127.0.0.1:") || urls["alerts"] != base+"/alerts" {
			t.Errorf("prometheus is installed but demo.sh printed no Prometheus and /alerts URLs: %q", urls)
		} else {
			prom := promClient{base: base}
			eventually(t, "the demo's Prometheus scrapes the exporter", 15*time.Second, func() error {
				return prom.expectSeries(`up{job="pop_exporter"} == 1`)
			})
			eventually(t, "the demo's Prometheus loaded the alert rules", 15*time.Second, func() error {
				return prom.expectSeries(`pop_alert:shift_distance_meters:threshold`)
			})
			queries := demoQueries(output.tail(1000))
			if len(queries) < 4 {
				t.Errorf("demo.sh printed %d example queries: %q", len(queries), queries)
			}
			for _, q := range queries {
				eventually(t, "the demo's example query "+q+" returns data", 30*time.Second, func() error {
					return prom.expectSeries(q)
				})
			}
		}
	}

	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("demo.sh: %v\n%s", err, output.tail(40))
		}
	case <-time.After(90 * time.Second):
		t.Fatalf("demo.sh did not stop within 90 s of DEMO_DURATION=60:\n%s", output.tail(40))
	}
	if !strings.Contains(output.tail(5), "demo: stopped") {
		t.Errorf("demo.sh did not report stopping:\n%s", output.tail(10))
	}
	if promErr == nil {
		// What the demo announces happens within its minute, as Prometheus reports it.
		for _, want := range []string{
			"PopProbeFailing firing (cf-failing)",
			"PopFlapping firing (azure-random)",
			"PopFlapping firing (cloudfront-flap)",
			"PopShiftedFar pending (cf-shift-sin)",
			"PopShiftedFar firing (cf-shift-sin)",
			"PopUnexpected firing (cf-shift-sin)",
			"PopShiftedFar resolved (cf-shift-sin)",
		} {
			if !strings.Contains(output.tail(1000), want) {
				t.Errorf("within DEMO_DURATION=60 the demo did not report %q:\n%s", want, output.tail(40))
			}
		}
	}

	// Nothing is left: no process runs a binary from the demo's directory, nothing answers on
	// the exporter's port.
	if procs, err := filepath.Glob("/proc/[0-9]*/cmdline"); err == nil && len(procs) > 0 {
		for _, p := range procs {
			b, err := os.ReadFile(p)
			if err == nil && strings.Contains(string(b), dir) {
				t.Errorf("a process is left after demo.sh exited: %s (%s)", filepath.Dir(p), strings.ReplaceAll(string(b), "\x00", " "))
			}
		}
	}
	u, _ := url.Parse(metricsURL)
	if conn, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
		conn.Close()
		t.Errorf("%s still accepts connections after demo.sh exited", u.Host)
	}
}

// demoQueries returns the example queries the demo printed: the lines after "example
// queries:" indented 4 spaces, each followed by its Prometheus link.
func demoQueries(out string) []string {
	_, rest, ok := strings.Cut(out, "example queries:\n")
	if !ok {
		return nil
	}
	var qs []string
	for _, line := range strings.Split(rest, "\n") {
		if line == "" || !strings.HasPrefix(line, "    ") {
			break
		}
		if q := strings.TrimSpace(line); !strings.HasPrefix(q, "http") {
			qs = append(qs, q)
		}
	}
	return qs
}

func httpGetBody(u string) (string, error) {
	resp, err := http.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return string(b), nil
}

// TestComposeConfigWithDockerCLI lets Docker Compose itself validate the file where its CLI
// plugin is installed; `docker compose config` needs no engine. There is none on the machines
// this project is developed on, so the structural tests above are what always runs.
func TestComposeConfigWithDockerCLI(t *testing.T) {
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("docker CLI not on PATH")
	}
	if err := exec.Command(docker, "compose", "version").Run(); err != nil {
		t.Skip("the docker compose plugin is not installed")
	}
	if out, err := exec.Command(docker, "compose", "-f", composeFile, "config", "--quiet").CombinedOutput(); err != nil {
		t.Errorf("docker compose config: %v\n%s", err, out)
	}
}
