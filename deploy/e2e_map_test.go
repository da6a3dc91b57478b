package deploy

import (
	"fmt"
	"testing"
	"time"

	"github.com/popexporter/pop_exporter/dashboards"
)

// checkMapRings runs the PoP query of the overview map (refId B), which gives each row the
// ring of its CDN, and checks what the map draws from it: one row per vantage, CDN and PoP
// with coordinates, and PoPs of different CDNs in one city on rings of different sizes. The
// scenario puts five CDNs in Frankfurt and three in Amsterdam (with coordinates).
func checkMapRings(t *testing.T, prom promClient) {
	t.Helper()
	var expr string
	queries, err := dashboards.Queries()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range queries {
		if q.File == "pop-overview.json" && q.Kind == dashboards.KindPanel && q.RefID == "B" &&
			q.Panel == "Vantage points and the PoPs answering them now" {
			expr = dashboards.Expand(q.Expr)
		}
	}
	if expr == "" {
		t.Fatal("pop-overview.json has no map PoP query")
	}
	eventually(t, "the map draws the CDNs of one city on different rings", 20*time.Second, func() error {
		res, err := prom.queryAt(expr, time.Now())
		if err != nil {
			return err
		}
		rings := map[string]map[float64]string{} // "latitude,longitude" -> ring -> cdn
		for _, s := range res {
			_, vs, err := s.samples()
			if err != nil {
				return err
			}
			m := s.Metric
			if m["vantage"] == "" || m["latitude"] == "" || m["longitude"] == "" {
				return fmt.Errorf("a map row without vantage or coordinates: %v", m)
			}
			at := m["latitude"] + "," + m["longitude"]
			if rings[at] == nil {
				rings[at] = map[float64]string{}
			}
			if other, ok := rings[at][vs[0]]; ok && other != m["cdn"] {
				return fmt.Errorf("%s and %s at %s share ring %v: one hides the other", other, m["cdn"], at, vs[0])
			}
			rings[at][vs[0]] = m["cdn"]
		}
		most := 0
		for _, r := range rings {
			most = max(most, len(r))
		}
		if most < 3 {
			return fmt.Errorf("at most %d CDNs in one city on the map, want a city with 3 or more: %v", most, rings)
		}
		return nil
	})
}
