package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/popexporter/pop_exporter/dashboards"
)

// probeLabels are the labels that name one probe: the exporter (job, instance) and the
// probe's own labels. A rule that matches "the same probe" matches on all of them.
var probeLabels = []string{"job", "instance", "vantage", "target", "ip_version", "resolver", "protocol"}

// amAlert is an alert as posted to and read back from Alertmanager's API v2.
type amAlert struct {
	Labels   map[string]string `json:"labels"`
	StartsAt string            `json:"startsAt,omitempty"`
	EndsAt   string            `json:"endsAt,omitempty"`
	Status   struct {
		State       string   `json:"state"`
		InhibitedBy []string `json:"inhibitedBy"`
	} `json:"status"`
}

// probeAlert is an alert of one probe: www of the HA exporter a:9853 at vantage ams, asked
// through the system resolver, unless overridden.
func probeAlert(name string, override ...string) map[string]string {
	l := map[string]string{"alertname": name, "severity": "warning", "job": "pop_exporter", "instance": "a:9853",
		"vantage": "ams", "target": "www", "ip_version": "4", "resolver": "system", "protocol": "http1.1"}
	for i := 0; i+1 < len(override); i += 2 {
		l[override[i]] = override[i+1]
	}
	return l
}

// TestAlertmanagerInhibitions runs the real Alertmanager (Debian prometheus-alertmanager) with
// deploy/alertmanager/alertmanager.yml as users get it, posts alerts as Prometheus would, and
// reads back which ones it holds back:
//   - a failing probe silences the TTFB page of that probe only: not the same target's other
//     IP family, other resolver or other exporter of an HA pair;
//   - a CDN-wide shift silences the per-vantage shift pages of the same target and IP family,
//     and only those.
func TestAlertmanagerInhibitions(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Alertmanager")
	}
	bin, err := exec.LookPath("prometheus-alertmanager")
	if err != nil {
		if bin, err = exec.LookPath("alertmanager"); err != nil {
			t.Skip("Alertmanager is not installed (Debian package prometheus-alertmanager)")
		}
	}
	t.Parallel()
	dir := t.TempDir()
	addr := freeAddr(t)
	startProcess(t, "alertmanager", bin, "--config.file="+alertmanagerFile, "--storage.path="+filepath.Join(dir, "am"),
		"--web.listen-address="+addr, "--cluster.listen-address=")
	waitHTTP(t, "http://"+addr+"/-/ready")

	type tc struct {
		labels    map[string]string
		inhibited bool
		why       string
	}
	cases := []tc{
		{probeAlert("PopProbeFailing", "ip_version", "6"), false, "the source"},
		{probeAlert("PopTTFBHigh", "ip_version", "6"), true, "the failing probe's own TTFB page"},
		{probeAlert("PopTTFBHigh"), false, "the same target's IPv4 probe still answers"},
		{probeAlert("PopTTFBHigh", "ip_version", "6", "resolver", "far"), false, "another resolver's probe still answers"},
		{probeAlert("PopTTFBHigh", "ip_version", "6", "protocol", "http3"), false, "another protocol's probe still answers"},
		{probeAlert("PopTTFBHigh", "ip_version", "6", "instance", "b:9853"), false, "the HA pair's other exporter still answers"},

		{map[string]string{"alertname": "PopShiftedFarCDNWide", "severity": "critical", "target": "wide", "ip_version": "4"}, false, "the source"},
		{probeAlert("PopShiftedFar", "target", "wide", "severity", "critical"), true, "one vantage of the CDN-wide shift"},
		{probeAlert("PopShiftedFar", "target", "wide", "vantage", "sin", "severity", "critical"), true, "another vantage of the CDN-wide shift"},
		{probeAlert("PopShiftedFar", "target", "wide", "ip_version", "6", "severity", "critical"), false, "the other IP family did not move"},
		{probeAlert("PopShiftedFar", "target", "local", "severity", "critical"), false, "a local shift of another target"},
	}
	var post []amAlert
	now := time.Now().UTC()
	for _, c := range cases {
		post = append(post, amAlert{Labels: c.labels, StartsAt: now.Add(-time.Minute).Format(time.RFC3339),
			EndsAt: now.Add(time.Hour).Format(time.RFC3339)})
	}
	body, _ := json.Marshal(post)
	resp, err := http.Post("http://"+addr+"/api/v2/alerts", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("posting alerts: %s", resp.Status)
	}

	key := func(l map[string]string) string {
		var parts []string
		for k, v := range l {
			parts = append(parts, k+"="+v)
		}
		sort.Strings(parts)
		return strings.Join(parts, ",")
	}
	eventually(t, "Alertmanager holds back exactly the pages of the probes and targets a source alert covers", 20*time.Second, func() error {
		resp, err := http.Get("http://" + addr + "/api/v2/alerts")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var got []amAlert
		if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
			return err
		}
		state := map[string]bool{}
		for _, a := range got {
			state[key(a.Labels)] = len(a.Status.InhibitedBy) > 0
		}
		var errs []string
		for _, c := range cases {
			inhibited, ok := state[key(c.labels)]
			switch {
			case !ok:
				errs = append(errs, fmt.Sprintf("%v: not in Alertmanager", c.labels))
			case inhibited != c.inhibited:
				errs = append(errs, fmt.Sprintf("%s %v (%s): inhibited %v, want %v", c.labels["alertname"], c.labels, c.why, inhibited, c.inhibited))
			}
		}
		if len(errs) > 0 {
			return fmt.Errorf("%s", strings.Join(errs, "\n"))
		}
		return nil
	})
}

// inhibitRule is one inhibit rule of deploy/alertmanager/alertmanager.yml.
type inhibitRule struct {
	SourceMatchers []string `yaml:"source_matchers"`
	TargetMatchers []string `yaml:"target_matchers"`
	Equal          []string `yaml:"equal"`
}

// TestInhibitRulesMatchWholeProbe: an inhibit rule between two per-probe alerts matches on
// every label that names the probe, so that one broken IPv6 probe, one dead resolver or one
// exporter of an HA pair never silences another probe's page.
func TestInhibitRulesMatchWholeProbe(t *testing.T) {
	var am struct {
		InhibitRules []inhibitRule `yaml:"inhibit_rules"`
	}
	readYAML(t, alertmanagerFile, &am)
	perProbe := regexp.MustCompile(`PopProbeFailing|PopTTFBHigh|PopFlapping|PopCacheHitRatioDrop|PopResolverFar`)
	found := false
	for _, r := range am.InhibitRules {
		if !perProbe.MatchString(strings.Join(r.SourceMatchers, " ")) || !perProbe.MatchString(strings.Join(r.TargetMatchers, " ")) {
			continue
		}
		found = true
		for _, l := range probeLabels {
			if !slices.Contains(r.Equal, l) {
				t.Errorf("inhibit rule %v -> %v: equal %v lacks %s, so another probe's failure silences this one", r.SourceMatchers, r.TargetMatchers, r.Equal, l)
			}
		}
	}
	if !found {
		t.Error("no inhibit rule between per-probe alerts (PopProbeFailing -> PopTTFBHigh)")
	}
}

// TestLocalShiftsPagingCountsPages: the fleet's "Local shifts paging" counts the PopShiftedFar
// alerts that page, so it leaves out those that Alertmanager inhibits while a CDN-wide shift
// of the same target fires: its query removes them on exactly the inhibit rule's equal labels.
// (TestFleetEndToEnd checks the count itself during a CDN-wide shift.)
func TestLocalShiftsPagingCountsPages(t *testing.T) {
	var am struct {
		InhibitRules []inhibitRule `yaml:"inhibit_rules"`
	}
	readYAML(t, alertmanagerFile, &am)
	queries, err := dashboards.Queries()
	if err != nil {
		t.Fatal(err)
	}
	var expr string
	for _, q := range queries {
		if q.File == "fleet.json" && q.Panel == "Local shifts paging" {
			expr = q.Expr
		}
	}
	if expr == "" {
		t.Fatal(`fleet.json has no "Local shifts paging" panel`)
	}
	rules := 0
	for _, r := range am.InhibitRules {
		if !slices.ContainsFunc(r.TargetMatchers, func(m string) bool { return strings.Contains(m, "PopShiftedFar") }) {
			continue
		}
		rules++
		for _, src := range r.SourceMatchers {
			name := strings.Trim(strings.TrimPrefix(src, "alertname="), `"`)
			want := fmt.Sprintf(`unless on(%s) ALERTS{alertname=%q, alertstate="firing"}`, strings.Join(r.Equal, ", "), name)
			if !strings.Contains(expr, want) {
				t.Errorf("Local shifts paging counts PopShiftedFar alerts that Alertmanager inhibits while %s fires: want %q in\n%s", name, want, expr)
			}
		}
	}
	if rules == 0 {
		t.Error("no inhibit rule targets PopShiftedFar")
	}
}
