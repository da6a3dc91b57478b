package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/popexporter/pop_exporter/collector/geoip/geoiptest"
)

// TestGeoIPDatabaseStartErrors: a missing, corrupt or non-city database stops the exporter at
// start-up with an error naming the file.
func TestGeoIPDatabaseStartErrors(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "pop.yml")
	writeFile(t, cfgFile, configYAML(map[string]string{"www": "http://127.0.0.1:1/"}))
	corrupt := filepath.Join(dir, "corrupt.mmdb")
	writeFile(t, corrupt, "not a database")
	missing := filepath.Join(dir, "missing.mmdb")
	country := geoiptest.Write(t, "GeoLite2-Country", nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a database wrongly accepted makes run start and return at once, not hang
	for path, want := range map[string]string{
		missing: "open " + missing + ": no such file or directory",
		corrupt: corrupt + ": not a MaxMind DB file",
		country: `database type \"GeoLite2-Country\" has no city locations`,
	} {
		var out, errOut bytes.Buffer
		code := run(ctx, []string{"--geoip.database=" + path, "--config.file=" + cfgFile, "--web.listen-address=127.0.0.1:0"}, &out, &errOut)
		if code != 1 || !strings.Contains(errOut.String(), "cannot open the geoip database") || !strings.Contains(errOut.String(), want) {
			t.Errorf("--geoip.database=%s: exit %d, stderr %q; want exit 1 and %q", path, code, errOut.String(), want)
		}
	}
}

// TestGeoIPDatabasePlacesAndReloads: an Akamai edge (no PoP in its headers) is placed on the
// code nearest to where the database puts its address, Cloudflare (anycast) never is; a reload
// reads the replaced file, and a bad one keeps the old database and fails the reload.
func TestGeoIPDatabasePlacesAndReloads(t *testing.T) {
	verifyNoLeaks(t)
	akamai := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		// Server and Akamai-Cache-Status as documented by Akamai (techdocs.akamai.com); no edge
		// IP header, so the connected address is the one placed.
		w.Header().Set("Server", "AkamaiGHost")
		w.Header().Set("Akamai-Cache-Status", "Hit from child")
		fmt.Fprint(w, "ok")
	}))
	t.Cleanup(akamai.Close)
	cloudflare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Server", "cloudflare") // no CF-RAY: Cloudflare without a colo
		w.Header().Set("CF-Cache-Status", "DYNAMIC")
	}))
	t.Cleanup(cloudflare.Close)

	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "pop.yml")
	writeFile(t, cfgFile, configYAML(map[string]string{"akamai": akamai.URL, "cf": cloudflare.URL}))
	dbFile := filepath.Join(dir, "city.mmdb")
	placeLoopback := func(lat, lon float64) {
		t.Helper()
		src := geoiptest.WriteCities(t, map[string]geoiptest.City{"127.0.0.0/8": {Latitude: lat, Longitude: lon, RadiusKm: 10}})
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, dbFile, string(data))
	}
	placeLoopback(52.374, 4.8897) // Amsterdam
	addr, logs, stop := startDaemon(t, "--config.file="+cfgFile, "--geoip.database="+dbFile)

	waitMetric(t, addr, regexp.MustCompile(`pop_probe_edge_info\{cdn="akamai",city="Amsterdam",[^}]*pop="AMS",pop_source="geoip",[^}]*target="akamai"`))
	waitMetric(t, addr, regexp.MustCompile(`pop_probe_edge_info\{cdn="cloudflare",[^}]*pop="unknown",pop_source="none",[^}]*target="cf"`))

	placeLoopback(50.1109, 8.6821) // Frankfurt: the user replaced the file with a newer download
	if code, body := reload(t, addr); code != 200 {
		t.Fatalf("reload with a new database: %d %s", code, body)
	}
	waitMetric(t, addr, regexp.MustCompile(`pop_probe_edge_info\{cdn="akamai",[^}]*pop="FRA",pop_source="geoip",[^}]*target="akamai"`))

	writeFile(t, dbFile, "truncated download")
	code, msg := reload(t, addr)
	if code != http.StatusInternalServerError || !strings.Contains(msg, dbFile) {
		t.Errorf("reload with a corrupt database answered %d %q, want 500 naming the file", code, msg)
	}
	waitMetric(t, addr, regexp.MustCompile(`(?m)^pop_exporter_config_last_reload_successful 0$`))
	// The old database keeps placing the edge: a fresh probe still says FRA.
	waitMetric(t, addr, regexp.MustCompile(`(?m)^pop_probe_responses_total\{cache_status="hit",cdn="akamai",ip_version="4",pop="FRA",protocol="http1.1",resolver="system",target="akamai",vantage="test"\} ([3-9]|[1-9][0-9]+)$`))
	if !strings.Contains(logs.String(), "reload failed") {
		t.Errorf("failed reload not logged:\n%s", logs.String())
	}
	stop()
}
