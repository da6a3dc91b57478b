package deploy

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/popexporter/pop_exporter/config"
	"github.com/popexporter/pop_exporter/dashboards"
)

// TestResolversEndToEnd probes one DNS-steered URL through four resolvers, on loopback: cdnsim
// (testdata/e2e-resolvers-scenario.yml) answers the name with Amsterdam's address to the
// "local" resolver, Washington's to the "far" one (over TCP), and Singapore's to a query that
// carries an Asian client subnet (EDNS Client Subnet, RFC 7871); a fourth resolver never
// answers. One pop_exporter (vantage Amsterdam) and one real Prometheus per version
// (perVersionModes) show three PoPs at their distances, the silent resolver failing its own probe only, the
// PopResolverFar alert for the far resolvers, and data in every resolver-aware panel.
func TestResolversEndToEnd(t *testing.T) {
	env := requireE2E(t)
	t.Parallel()
	dir := t.TempDir()
	started := time.Now()

	generated := filepath.Join(dir, "exporter-generated.yml")
	startProcess(t, "cdnsim (DNS)", env.bins["cdnsim"],
		"--scenario.file=testdata/e2e-resolvers-scenario.yml",
		"--http.listen-address=127.0.0.1:0", "--https.listen-address=127.0.0.1:0", "--dns.listen-port=0",
		"--tls.ca-file="+filepath.Join(dir, "ca.pem"),
		"--config.out="+generated, "--print-config.interval=1s")
	waitFile(t, generated)

	// A resolver that takes every query and never answers: its probes time out in the DNS
	// phase, while the target's other resolvers go on being probed.
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	cfgFile := withSilentResolver(t, generated, silent.LocalAddr().String(), filepath.Join(dir, "exporter.yml"))

	exporter := startExporter(t, env, "pop_exporter (resolvers)", cfgFile)
	env.modes(t, perVersionModes, func(mode histogramMode) {
		prom := startPrometheus(t, env, dir, mode, exporter)
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			checkResolvers(t, prom)
			t.Logf("resolvers end-to-end test (%s) took %v", mode.name, time.Since(started).Round(time.Second))
		})
	})
}

// withSilentResolver writes the config cdnsim generated with one more resolver, named silent,
// for every target that has resolvers, and returns the new file.
func withSilentResolver(t *testing.T, generated, server, out string) string {
	t.Helper()
	return rewriteConfig(t, generated, out, func(cfg *config.Config, b []byte) {
		steered := 0
		for i := range cfg.Targets {
			if len(cfg.Targets[i].Resolvers) > 0 {
				cfg.Targets[i].Resolvers = append(cfg.Targets[i].Resolvers, config.Resolver{Name: "silent", Server: server})
				steered++
			}
		}
		if steered != 1 {
			t.Fatalf("cdnsim's config has %d targets with resolvers, want 1:\n%s", steered, b)
		}
	})
}

// rewriteConfig parses the exporter config cdnsim generated, lets edit change it (b is the
// file as cdnsim wrote it, for messages), writes it to out and returns out.
func rewriteConfig(t *testing.T, generated, out string, edit func(cfg *config.Config, b []byte)) string {
	t.Helper()
	b, err := os.ReadFile(generated)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(b, generated)
	if err != nil {
		t.Fatal(err)
	}
	edit(cfg, b)
	if b, err = config.Marshal(cfg); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func checkResolvers(t *testing.T, prom promClient) {
	eventually(t, "exporter up", 30*time.Second, func() error {
		return prom.expectCount(`up{job="pop_exporter"} == 1`, 1)
	})

	// Each resolver leads to its region's PoP, at that PoP's distance from Amsterdam.
	for _, c := range []struct {
		resolver, pop string
		km            float64 // great-circle distance from AMS, ±100 km
	}{
		{"local", "AMS", 0},
		{"far", "IAD", 6200},
		{"ecs-sin", "SIN", 10500},
	} {
		sel := fmt.Sprintf(`{target="steered",resolver=%q}`, c.resolver)
		eventually(t, c.resolver+" leads to "+c.pop, 30*time.Second, func() error {
			if err := prom.expectSeries(fmt.Sprintf(`pop_probe_edge_info{target="steered",resolver=%q,pop=%q}`, c.resolver, c.pop)); err != nil {
				return err
			}
			return prom.expectSeries(fmt.Sprintf(`abs(pop_probe_distance_meters%s - %g) < 100e3`, sel, c.km*1000))
		})
		// The address dialled is the one the resolver answered, and the ECS query's answer
		// says the subnet decided it (scope /24).
		scope := `ecs_scope=""`
		if c.resolver == "ecs-sin" {
			scope = `ecs_scope="24"`
		}
		eventually(t, c.resolver+"'s answer", 10*time.Second, func() error {
			return prom.expectSeries(fmt.Sprintf(`pop_probe_dns_answer_info{target="steered",resolver=%q,rcode="NOERROR",%s}`, c.resolver, scope))
		})
	}
	if err := prom.expectCount(`count by (address) (pop_probe_dns_answer_info{target="steered"})`, 3); err != nil {
		t.Errorf("three resolvers, three edge addresses: %v", err)
	}

	// The silent resolver fails its own probe, in the DNS phase; the others keep succeeding.
	eventually(t, "silent resolver failing with reason dns", 30*time.Second, func() error {
		if err := prom.expectSeries(`pop_probe_success{target="steered",resolver="silent"} == 0`); err != nil {
			return err
		}
		return prom.expectSeries(`increase(pop_probe_failures_total{target="steered",resolver="silent",reason="dns"}[10s]) > 0`)
	})
	if err := prom.expectCount(`pop_probe_success{target="steered",resolver!="silent"} == 1`, 3); err != nil {
		t.Errorf("the other resolvers' probes: %v", err)
	}
	if err := prom.expectCount(`increase(pop_probe_failures_total{target="steered",resolver!="silent"}[30s]) > 0`, 0); err != nil {
		t.Errorf("the other resolvers' probes fail too: %v", err)
	}

	// Washington and Singapore are more than 2,000 km beyond Amsterdam: PopResolverFar pages
	// for those two resolvers (its 10 minutes run as 10 s here), not for the local one.
	eventually(t, "PopResolverFar firing for far and ecs-sin", 40*time.Second, func() error {
		return prom.expectCount(`ALERTS{alertname="PopResolverFar",target="steered",resolver=~"far|ecs-sin",alertstate="firing"}`, 2)
	})
	if err := prom.expectCount(`ALERTS{alertname="PopResolverFar",resolver=~"local|silent"}`, 0); err != nil {
		t.Errorf("PopResolverFar for the local or the silent resolver: %v", err)
	}
	expectAnnotations(t, prom, "PopResolverFar", map[string]string{"resolver": "ecs-sin"},
		"through resolver ecs-sin is served by PoP SIN", "client subnet scope /24")

	// The panels that explain it return data.
	expectPanelQueriesReturnData(t, prom, func(q dashboards.Query) bool {
		return q.Panel == "PoP by resolver" || strings.HasPrefix(q.Panel, "Resolver spread")
	})
}
