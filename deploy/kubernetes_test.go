package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/popexporter/pop_exporter/collector/shard"
	"github.com/popexporter/pop_exporter/config"
)

// The parts of Kubernetes objects that the tests of the kustomize manifests and of the Helm
// chart check, and the checks every pop_exporter workload must pass, whoever wrote it.

type k8sProbe struct {
	HTTPGet struct {
		Path string
		Port any
	} `yaml:"httpGet"`
}

type k8sEnvVar struct {
	Name      string
	Value     string
	ValueFrom *struct {
		FieldRef *struct {
			FieldPath string `yaml:"fieldPath"`
		} `yaml:"fieldRef"`
	} `yaml:"valueFrom"`
}

type k8sContainer struct {
	Name  string
	Image string
	Args  []string
	Env   []k8sEnvVar
	Ports []struct {
		Name          string
		ContainerPort int `yaml:"containerPort"`
	}
	LivenessProbe   *k8sProbe `yaml:"livenessProbe"`
	ReadinessProbe  *k8sProbe `yaml:"readinessProbe"`
	SecurityContext struct {
		RunAsNonRoot             bool  `yaml:"runAsNonRoot"`
		ReadOnlyRootFilesystem   bool  `yaml:"readOnlyRootFilesystem"`
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
	} `yaml:"securityContext"`
	Resources struct {
		Requests map[string]string
		Limits   map[string]string
	}
	VolumeMounts []struct {
		Name      string
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

// k8sWorkload is a Deployment or a StatefulSet.
type k8sWorkload struct {
	Kind     string
	Metadata struct {
		Name   string
		Labels map[string]string
	}
	Spec struct {
		Replicas    *int
		ServiceName string `yaml:"serviceName"`
		Selector    struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		}
		Template struct {
			Metadata struct{ Labels, Annotations map[string]string }
			Spec     struct {
				SecurityContext struct {
					RunAsNonRoot bool `yaml:"runAsNonRoot"`
				} `yaml:"securityContext"`
				Containers []k8sContainer
				Volumes    []struct {
					Name      string
					ConfigMap struct{ Name string } `yaml:"configMap"`
				}
			}
		}
	}
}

type k8sConfigMap struct {
	Metadata struct {
		Name        string
		Labels      map[string]string
		Annotations map[string]string
	}
	Data map[string]string
}

type k8sService struct {
	Metadata struct {
		Name   string
		Labels map[string]string
	}
	Spec struct {
		Selector map[string]string
		Ports    []struct {
			Name       string
			Port       int
			TargetPort any `yaml:"targetPort"`
		}
	}
}

type k8sServiceMonitor struct {
	Spec struct {
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Endpoints []struct {
			Port        string
			Relabelings []struct {
				SourceLabels []string `yaml:"sourceLabels"`
				TargetLabel  string   `yaml:"targetLabel"`
				Replacement  string
			}
		}
	}
}

// Liveness and readiness probe paths: the exporter's /-/healthy and /-/ready, which
// TestProbePathsAnswered asks the real binary.
const (
	livenessPath  = "/-/healthy"
	readinessPath = "/-/ready"
)

// checkExporterPod checks what every pop_exporter workload needs: one container on the
// exporter's port (the Dockerfile's EXPOSE), liveness and readiness probes on the health
// endpoints, non-root with a read-only root filesystem, memory bounds, a selector matching its
// pods. It returns the container and the name of its port.
func checkExporterPod(t *testing.T, where string, w k8sWorkload) (k8sContainer, string) {
	t.Helper()
	pod := w.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%s: %s has %d containers, want 1", where, w.Kind, len(pod.Containers))
	}
	c := pod.Containers[0]
	portName := ""
	for _, p := range c.Ports {
		if fmt.Sprint(p.ContainerPort) == exporterPort {
			portName = p.Name
		}
	}
	if portName == "" {
		t.Errorf("%s: %s does not expose containerPort %s", where, w.Kind, exporterPort)
	}
	if addr, ok := flagValue(c.Args, "web.listen-address"); ok && !strings.HasSuffix(addr, ":"+exporterPort) {
		t.Errorf("%s: listens on %s, not port %s", where, addr, exporterPort)
	}
	// The probes go to the health listener, which needs no credentials when basic auth
	// protects the exporter's port (kubelet sends none), or else to the exporter's port.
	probePorts := map[string]bool{exporterPort: true, portName: true}
	if addr, ok := flagValue(c.Args, "web.health-listen-address"); ok {
		_, healthPort, _ := strings.Cut(addr, ":")
		probePorts = map[string]bool{healthPort: true}
		for _, p := range c.Ports {
			if fmt.Sprint(p.ContainerPort) == healthPort {
				probePorts[p.Name] = true
			}
		}
	}
	for what, pr := range map[string]*k8sProbe{livenessPath: c.LivenessProbe, readinessPath: c.ReadinessProbe} {
		if pr == nil || pr.HTTPGet.Path != what {
			t.Errorf("%s: want a probe on %s", where, what)
			continue
		}
		if port := fmt.Sprint(pr.HTTPGet.Port); !probePorts[port] {
			t.Errorf("%s: probe %s uses port %s, not the health listener's or the exporter's", where, what, port)
		}
	}
	if !(pod.SecurityContext.RunAsNonRoot || c.SecurityContext.RunAsNonRoot) || !c.SecurityContext.ReadOnlyRootFilesystem ||
		c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation {
		t.Errorf("%s: must run non-root, with a read-only root filesystem and no privilege escalation", where)
	}
	if c.Resources.Requests["memory"] == "" || c.Resources.Limits["memory"] == "" {
		t.Errorf("%s: set memory requests and limits", where)
	}
	if len(w.Spec.Selector.MatchLabels) == 0 {
		t.Errorf("%s: %s has no selector", where, w.Kind)
	}
	for k, v := range w.Spec.Selector.MatchLabels {
		if w.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("%s: %s selector %s=%s does not match its pod labels", where, w.Kind, k, v)
		}
	}
	return c, portName
}

// checkMountedConfig checks that --config.file is a key of cm, mounted into the pod, and a valid
// configuration, which it returns.
func checkMountedConfig(t *testing.T, where string, w k8sWorkload, cm k8sConfigMap) *config.Config {
	t.Helper()
	c := w.Spec.Template.Spec.Containers[0]
	cfgPath, _ := flagValue(c.Args, "config.file")
	for _, vm := range c.VolumeMounts {
		for _, v := range w.Spec.Template.Spec.Volumes {
			if v.Name != vm.Name || v.ConfigMap.Name != cm.Metadata.Name || filepath.Dir(cfgPath) != vm.MountPath {
				continue
			}
			body, ok := cm.Data[filepath.Base(cfgPath)]
			if !ok {
				t.Errorf("%s: ConfigMap %s has no key %s for --config.file=%s", where, cm.Metadata.Name, filepath.Base(cfgPath), cfgPath)
				return nil
			}
			cfg, err := config.Parse([]byte(body), where+" ConfigMap "+cm.Metadata.Name+":"+filepath.Base(cfgPath))
			if err != nil {
				t.Errorf("%s: the ConfigMap's configuration is invalid: %v", where, err)
			}
			return cfg
		}
	}
	t.Errorf("%s: --config.file=%q is not in the mounted ConfigMap %s", where, cfgPath, cm.Metadata.Name)
	return nil
}

// checkServiceSelects checks that svc targets the exporter's port on the workload's pods; it
// returns the name of the Service port.
func checkServiceSelects(t *testing.T, where string, svc k8sService, w k8sWorkload, portName string) string {
	t.Helper()
	svcPort := ""
	for _, p := range svc.Spec.Ports {
		if tp := fmt.Sprint(p.TargetPort); tp == portName || tp == exporterPort {
			svcPort = p.Name
		}
	}
	if svcPort == "" {
		t.Errorf("%s: Service does not target the exporter's port", where)
	}
	if len(svc.Spec.Selector) == 0 {
		t.Errorf("%s: Service has no selector", where)
	}
	for k, v := range svc.Spec.Selector {
		if w.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("%s: Service selector %s=%s matches no pod of the %s", where, k, v, w.Kind)
		}
	}
	return svcPort
}

// checkServiceMonitor checks that sm scrapes the Service's port as job pop_exporter, which the
// rules and dashboards select.
func checkServiceMonitor(t *testing.T, where string, sm k8sServiceMonitor, svc k8sService, svcPort string) {
	t.Helper()
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != svcPort {
		t.Errorf("%s: ServiceMonitor does not scrape the Service port %q", where, svcPort)
	} else {
		job := ""
		for _, r := range sm.Spec.Endpoints[0].Relabelings {
			if r.TargetLabel == "job" {
				job = r.Replacement
			}
		}
		if job != exporterJob {
			t.Errorf("%s: ServiceMonitor sets job %q; the rules and dashboards select job=%q", where, job, exporterJob)
		}
	}
	if len(sm.Spec.Selector.MatchLabels) == 0 {
		t.Errorf("%s: ServiceMonitor has no selector", where)
	}
	for k, v := range sm.Spec.Selector.MatchLabels {
		if svc.Metadata.Labels[k] != v {
			t.Errorf("%s: ServiceMonitor selector %s=%s does not match the Service", where, k, v)
		}
	}
}

// podIndexField is where the downward API finds a StatefulSet pod's ordinal (Kubernetes 1.28+).
const podIndexField = "metadata.labels['apps.kubernetes.io/pod-index']"

// checkShardArgs checks a sharded StatefulSet: replicas equal to the shard total, and pod i
// running --shard=i/replicas, its index read from the pod-index label. It returns the
// container's arguments as pod 0 sees them.
func checkShardArgs(t *testing.T, where string, w k8sWorkload) []string {
	t.Helper()
	if w.Kind != "StatefulSet" {
		t.Errorf("%s: a sharded exporter is a StatefulSet (stable ordinals), not a %s", where, w.Kind)
	}
	if w.Spec.Replicas == nil || *w.Spec.Replicas < 2 {
		t.Fatalf("%s: a sharded StatefulSet needs replicas ≥ 2", where)
	}
	replicas := *w.Spec.Replicas
	c := w.Spec.Template.Spec.Containers[0]
	raw, ok := flagValue(c.Args, "shard")
	if !ok {
		t.Fatalf("%s: the container has no --shard argument: %q", where, c.Args)
	}
	for i := range replicas {
		args, err := expandEnv(c.Args, c.Env, fmt.Sprint(i))
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		v, _ := flagValue(args, "shard")
		got, err := shard.Parse(v)
		if err != nil {
			t.Errorf("%s: pod %d would run --shard=%s (from %s): %v", where, i, v, raw, err)
		} else if got != (shard.Shard{Index: i, Total: replicas}) {
			t.Errorf("%s: pod %d of %d would run --shard=%s (from %s), want %d/%d", where, i, replicas, v, raw, i, replicas)
		}
	}
	args, _ := expandEnv(c.Args, c.Env, "0")
	return args
}

var envRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// expandEnv does what the kubelet does to $(VAR) in args, with podIndex as the value of
// every variable read from the pod-index label.
func expandEnv(args []string, env []k8sEnvVar, podIndex string) ([]string, error) {
	vars := map[string]string{}
	for _, e := range env {
		switch {
		case e.ValueFrom == nil:
			vars[e.Name] = e.Value
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == podIndexField:
			vars[e.Name] = podIndex
		}
	}
	var out []string
	var missing []string
	for _, a := range args {
		out = append(out, envRef.ReplaceAllStringFunc(a, func(ref string) string {
			name := envRef.FindStringSubmatch(ref)[1]
			v, ok := vars[name]
			if !ok {
				missing = append(missing, name)
			}
			return v
		}))
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("args use $(%s), which env does not define (or not from %s)", strings.Join(missing, "), $("), podIndexField)
	}
	return out, nil
}

// The exporter's port in every manifest is the one the image declares.
func TestExporterPortIsDockerfileExpose(t *testing.T) {
	raw, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^EXPOSE\s+([0-9]+)\s*$`).FindAllStringSubmatch(string(raw), -1)
	if len(m) != 1 || m[0][1] != exporterPort {
		t.Errorf("Dockerfile EXPOSE %v, want exactly %s, the port the manifests are checked against", m, exporterPort)
	}
}

// loadYAMLDocs reads every object of a manifest file.
func loadYAMLDocs(t *testing.T, path string) []k8sDoc {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return parseK8sDocs(t, path, raw)
}

// The sharded example: a kustomize component that swaps the base Deployment for a
// StatefulSet whose pods are the base's pod plus their shard.
func TestKubernetesShardedComponent(t *testing.T) {
	base := loadK8s(t)
	var dep k8sWorkload
	if err := base["Deployment"].decode(&dep); err != nil {
		t.Fatal(err)
	}

	comp := loadYAMLDocs(t, "kubernetes/sharded/kustomization.yaml")
	var kc struct {
		Kind      string
		Resources []string
		Patches   []struct{ Patch string }
	}
	if len(comp) != 1 {
		t.Fatalf("kubernetes/sharded/kustomization.yaml: want one document")
	}
	if err := comp[0].decode(&kc); err != nil {
		t.Fatal(err)
	}
	if kc.Kind != "Component" {
		t.Errorf("kubernetes/sharded is a %s; it must be a Component, so the base stays usable on its own", kc.Kind)
	}
	if !slices.Equal(kc.Resources, []string{"statefulset.yaml"}) {
		t.Errorf("kubernetes/sharded resources %q, want [statefulset.yaml]", kc.Resources)
	}
	deletesDeployment := false
	for _, p := range kc.Patches {
		var patch struct {
			Delete   string `yaml:"$patch"`
			Kind     string
			Metadata struct{ Name string }
		}
		if err := parseK8sDocs(t, "patch", []byte(p.Patch))[0].decode(&patch); err == nil &&
			patch.Delete == "delete" && patch.Kind == "Deployment" && patch.Metadata.Name == dep.Metadata.Name {
			deletesDeployment = true
		}
	}
	if !deletesDeployment {
		t.Errorf("kubernetes/sharded does not delete the base Deployment %s: both would probe", dep.Metadata.Name)
	}
	rawKust, _ := os.ReadFile("kubernetes/kustomization.yaml")
	if !regexp.MustCompile(`(?m)^# components: \[sharded\]$`).Match(rawKust) {
		t.Errorf("kubernetes/kustomization.yaml should show, commented out, how to turn the component on: # components: [sharded]")
	}

	docs := loadYAMLDocs(t, "kubernetes/sharded/statefulset.yaml")
	if len(docs) != 1 || docs[0].Kind != "StatefulSet" {
		t.Fatalf("kubernetes/sharded/statefulset.yaml: want one StatefulSet")
	}
	var sts k8sWorkload
	if err := docs[0].decode(&sts); err != nil {
		t.Fatal(err)
	}
	const where = "kubernetes/sharded/statefulset.yaml"
	c, portName := checkExporterPod(t, where, sts)
	args := checkShardArgs(t, where, sts)
	var withoutShard []string
	for _, a := range args {
		if !strings.HasPrefix(a, "--shard=") {
			withoutShard = append(withoutShard, a)
		}
	}
	if base := dep.Spec.Template.Spec.Containers[0]; !slices.Equal(withoutShard, base.Args) || c.Image != base.Image {
		t.Errorf("%s: image %s and args %q (less --shard) differ from the base Deployment's %s and %q", where, c.Image, withoutShard, base.Image, base.Args)
	}
	var cm k8sConfigMap
	if err := base["ConfigMap"].decode(&cm); err != nil {
		t.Fatal(err)
	}
	checkMountedConfig(t, where, sts, cm)
	var svc k8sService
	if err := base["Service"].decode(&svc); err != nil {
		t.Fatal(err)
	}
	checkServiceSelects(t, where, svc, sts, portName)
	if sts.Spec.ServiceName != svc.Metadata.Name {
		t.Errorf("%s: serviceName %q, want the base Service %q", where, sts.Spec.ServiceName, svc.Metadata.Name)
	}
}

// TestKustomizeBuild lets kustomize itself build the base and the base with each component,
// where kubectl is installed (it usually is not; the structural tests above always run).
func TestKustomizeBuild(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not on PATH: the manifests are checked structurally only")
	}
	build := func(dir string) map[string]int {
		out, err := exec.Command(kubectl, "kustomize", dir).CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, out)
		}
		kinds := map[string]int{}
		for _, d := range parseK8sDocs(t, "kubectl kustomize "+dir, out) {
			kinds[d.Kind]++
		}
		return kinds
	}
	if got := build("kubernetes"); fmt.Sprint(got) != "map[ConfigMap:1 Deployment:1 Service:1]" {
		t.Errorf("kubectl kustomize deploy/kubernetes: objects %v, want a ConfigMap, a Deployment and a Service", got)
	}
	// The base with the component turned on, as a user's overlay would (kustomize refuses an
	// absolute path, and an overlay inside the base's directory).
	overlay := t.TempDir()
	abs, _ := filepath.Abs("kubernetes")
	rel, err := filepath.Rel(overlay, abs)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ component, want string }{
		{"sharded", "map[ConfigMap:1 Service:1 StatefulSet:1]"},
		{"monitoring", "map[ConfigMap:1 Deployment:1 PrometheusRule:1 Service:1 ServiceMonitor:1]"},
		{"monitoring-multi-cluster", "map[ConfigMap:1 Deployment:1 PrometheusRule:1 Service:1 ServiceMonitor:1]"},
	} {
		kust := fmt.Sprintf("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [%s]\ncomponents: [%s]\n",
			filepath.ToSlash(rel), filepath.ToSlash(filepath.Join(rel, c.component)))
		if err := os.WriteFile(filepath.Join(overlay, "kustomization.yaml"), []byte(kust), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := build(overlay); fmt.Sprint(got) != c.want {
			t.Errorf("kubectl kustomize with components [%s]: objects %v, want %s", c.component, got, c.want)
		}
	}
}

// Every liveness and readiness probe path in the manifests and the chart's values is one the
// real exporter answers with 200 (it answers 404 for paths it does not serve).
func TestProbePathsAnswered(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the exporter")
	}
	paths := map[string][]string{}
	addPod := func(where string, w k8sWorkload) {
		for _, c := range w.Spec.Template.Spec.Containers {
			for _, p := range []*k8sProbe{c.LivenessProbe, c.ReadinessProbe} {
				if p != nil {
					paths[p.HTTPGet.Path] = append(paths[p.HTTPGet.Path], where)
				}
			}
		}
	}
	var dep, sts k8sWorkload
	if err := loadK8s(t)["Deployment"].decode(&dep); err != nil {
		t.Fatal(err)
	}
	addPod("kubernetes/deployment.yaml", dep)
	if err := loadYAMLDocs(t, "kubernetes/sharded/statefulset.yaml")[0].decode(&sts); err != nil {
		t.Fatal(err)
	}
	addPod("kubernetes/sharded/statefulset.yaml", sts)
	var values struct {
		LivenessProbe  k8sProbe `yaml:"livenessProbe"`
		ReadinessProbe k8sProbe `yaml:"readinessProbe"`
	}
	readYAML(t, chartDir+"/values.yaml", &values)
	for _, p := range []k8sProbe{values.LivenessProbe, values.ReadinessProbe} {
		paths[p.HTTPGet.Path] = append(paths[p.HTTPGet.Path], chartDir+"/values.yaml")
	}

	dir := t.TempDir()
	bin := buildBinaries(t, dir, "pop_exporter")["pop_exporter"]
	cfg := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfg, []byte("targets:\n  - name: closed\n    url: http://127.0.0.1:1/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	startProcess(t, "pop_exporter", bin, "--config.file="+cfg, "--web.listen-address="+addr)
	waitHTTP(t, "http://"+addr+"/metrics")
	for path, where := range paths {
		if _, err := httpGetBody("http://" + addr + path); err != nil {
			t.Errorf("probe path %s (%s): %v", path, strings.Join(where, ", "), err)
		}
	}
	if _, err := httpGetBody("http://" + addr + "/-/no-such-endpoint"); err == nil {
		t.Errorf("the exporter answers 200 on any path, so this test proves nothing")
	}
}
