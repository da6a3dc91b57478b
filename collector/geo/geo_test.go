package geo

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// sourcesDir holds the public sources the table is generated from (see SOURCES.md there).
const sourcesDir = "internal/sources"

// openSource opens a source file of sourcesDir.
func openSource(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join(sourcesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func mustLookup(t *testing.T, cdn, code string) Location {
	t.Helper()
	loc, ok := Lookup(cdn, code)
	if !ok {
		t.Fatalf("Lookup(%q, %q): not found", cdn, code)
	}
	return loc
}

func TestLookup(t *testing.T) {
	tests := []struct {
		cdn, code string
		want      Location // Latitude/Longitude checked to 0.5 degree when set
		why       string
	}{
		{"", "AMS", Location{Code: "AMS", City: "Amsterdam", Country: "NL", Continent: "EU", Latitude: 52.3, Longitude: 4.8}, "airport"},
		{"", "ams", Location{Code: "AMS", City: "Amsterdam", Country: "NL", Continent: "EU"}, "lower case"},
		{"", "LON", Location{Code: "LON", City: "London", Country: "GB", Continent: "EU", Latitude: 51.5, Longitude: -0.1}, "IATA metro code"},
		{"", "NYC", Location{Code: "NYC", City: "New York", Country: "US", Continent: "NA"}, "IATA metro code"},
		{"", "TYO", Location{Code: "TYO", City: "Tokyo", Country: "JP", Continent: "AS"}, "IATA metro code"},
		{"", "CHI", Location{Code: "CHI", City: "Chicago", Country: "US", Continent: "NA"}, "IATA metro code"},
		{"", "WAS", Location{Code: "WAS", City: "Washington", Country: "US", Continent: "NA"}, "IATA metro code"},
		{"", "BLA", Location{Code: "BLA", City: "Barcelona", Country: "VE", Continent: "SA"}, "BLA is Barcelona, Venezuela"},
		{"cloudfront", "BLA", Location{Code: "BLA", City: "Barcelona", Country: "ES", Continent: "EU", Latitude: 41.3, Longitude: 2.1}, "CloudFront's BLA is Barcelona, Spain"},
		{"cloudflare", "FRU", Location{Code: "FRU", City: "Bishkek", Country: "KG", Continent: "AS"}, "colo without a current airport row"},
		{"cloudflare", "ZDM", Location{Code: "ZDM", City: "Ramallah", Country: "PS", Continent: "AS"}, "colo without an airport"},
		{"cloudflare", "AMS", Location{Code: "AMS", City: "Amsterdam", Country: "NL", Continent: "EU"}, "falls through to the airport"},
		{"", "HHN", Location{Code: "HHN", City: "Hahn", Country: "DE", Continent: "EU"}, "Hahn airport"},
		{"fastly", "HHN", Location{Code: "HHN", City: "Frankfurt", Country: "DE", Continent: "EU", Latitude: 50.1, Longitude: 8.7}, "Fastly's HHN is Frankfurt"},
		{"fastly", "WDC", Location{Code: "WDC", City: "Ashburn", Country: "US", Continent: "NA", Latitude: 39.0, Longitude: -77.5}, "Fastly-only code"},
		{"fastly", "LGB", Location{Code: "LGB", City: "Los Angeles", Country: "US", Continent: "NA"}, "Fastly's LGB is Los Angeles"},
		{"fastly", "QPG", Location{Code: "QPG", Country: "SG", Continent: "AS"}, "Paya Lebar, Singapore"},
		{"Fastly", "wdc", Location{Code: "WDC", City: "Ashburn", Country: "US", Continent: "NA"}, "cdn and code case-insensitive"},
		{"vercel", "CDG1", Location{Code: "CDG1", City: "Paris", Country: "FR", Continent: "EU"}, "Vercel region id"},
		{"vercel", "cdg", Location{Code: "CDG", City: "Paris", Country: "FR", Continent: "EU"}, "Vercel region letters"},
		{"vercel", "IAD", Location{Code: "IAD", City: "Washington, D.C.", Country: "US", Continent: "NA"}, "Vercel's own city name"},
		{"fly", "EWR", Location{Code: "EWR", City: "Secaucus", Country: "US", Continent: "NA"}, "Fly region"},
		{"fly", "bog", Location{Code: "BOG", City: "Bogotá", Country: "CO", Continent: "SA"}, "Fly region, lower case"},
		{"bunny", "DE1", Location{Code: "DE1", City: "Frankfurt", Country: "DE", Continent: "EU"}, "Bunny region + number"},
		{"bunny", "uk12", Location{Code: "UK12", City: "London", Country: "GB", Continent: "EU"}, "Bunny, any number"},
		{"bunny", "PHX1", Location{Code: "PHX1", City: "Phoenix", Country: "US", Continent: "NA"}, "Bunny three-letter region"},
		{"keycdn", "ussf", Location{Code: "USSF", City: "San Francisco", Country: "US", Continent: "NA"}, "KeyCDN sample"},
		{"keycdn", "DEFR", Location{Code: "DEFR", City: "Frankfurt", Country: "DE", Continent: "EU"}, "KeyCDN sample"},
		{"cdn77", "PRAGUECZ", Location{Code: "PRAGUECZ", City: "Prague", Country: "CZ", Continent: "EU"}, "CDN77 sample"},
		{"cdn77", "losangelesUSCA", Location{Code: "LOSANGELESUSCA", City: "Los Angeles", Country: "US", Continent: "NA"}, "CDN77 sample, mixed case"},
		{"gcore", "FR5", Location{Code: "FR5", City: "Frankfurt", Country: "DE", Continent: "EU"}, "Gcore site"},
		{"gcore", "M9", Location{Code: "M9", City: "Moscow", Country: "RU", Continent: "EU"}, "Gcore site"},
		{"azure", "CHG", Location{Code: "CHG", City: "Chicago", Country: "US", Continent: "NA"}, "Microsoft site code"},
		{"azure", "ASH", Location{Code: "ASH", City: "Ashburn", Country: "US", Continent: "NA"}, "Microsoft site code"},
		{"azure", "LON", Location{Code: "LON", City: "London", Country: "GB", Continent: "EU"}, "Microsoft code that is an IATA metro"},
		{"edgecast", "DCB", Location{Code: "DCB", City: "Ashburn", Country: "US", Continent: "NA"}, "Edgecast site letter"},
		{"edgecast", "FTY", Location{Code: "FTY", City: "Atlanta", Country: "US", Continent: "NA"}, "Edgecast airport code"},
		{"alibaba", "DE1", Location{Code: "DE1", City: "Frankfurt", Country: "DE", Continent: "EU"}, "Alibaba node"},
		{"akamai", "FRA", Location{Code: "FRA", City: "Frankfurt am Main", Country: "DE", Continent: "EU"}, "provider without a table"},
	}
	for _, tt := range tests {
		t.Run(tt.cdn+"/"+tt.code, func(t *testing.T) {
			got := mustLookup(t, tt.cdn, tt.code)
			if got.Code != tt.want.Code || got.Country != tt.want.Country || got.Continent != tt.want.Continent ||
				(tt.want.City != "" && got.City != tt.want.City) {
				t.Errorf("%s: got %+v, want %+v", tt.why, got, tt.want)
			}
			if tt.want.Latitude != 0 && (math.Abs(got.Latitude-tt.want.Latitude) > 0.5 || math.Abs(got.Longitude-tt.want.Longitude) > 0.5) {
				t.Errorf("%s: at %v,%v, want near %v,%v", tt.why, got.Latitude, got.Longitude, tt.want.Latitude, tt.want.Longitude)
			}
		})
	}
}

func TestLookupNotFound(t *testing.T) {
	for _, c := range []struct{ cdn, code string }{
		{"", ""},
		{"fastly", ""},
		{"", "ZZZ"},      // no such airport
		{"", "CDG1"},     // a Vercel id is not a global code
		{"bunny", "PH1"}, // ambiguous Bunny region, deliberately not placed
		{"alibaba", "US26"},
		{"", strings.Repeat("A", 100)},
		{strings.Repeat("x", 60), "AMS"},
	} {
		if loc, ok := Lookup(c.cdn, c.code); ok {
			t.Errorf("Lookup(%q, %q) = %+v, want not found", c.cdn, c.code, loc)
		}
	}
}

func TestKnown(t *testing.T) {
	for code, want := range map[string]bool{"AMS": true, "lhr": true, "NYC": true, "XXX": false, "DE1": false, "": false} {
		if got := Known(code); got != want {
			t.Errorf("Known(%q) = %v, want %v", code, got, want)
		}
	}
}

// TestTableWellFormed checks every row: what reaches a label must look like what the metrics
// reference in README.md promises.
func TestTableWellFormed(t *testing.T) {
	// The table is most of what the package adds to a binary (budget: 1 MiB).
	if len(locationsTSV) > 900<<10 {
		t.Errorf("locations.tsv is %d bytes; the binary growth budget is 1 MiB", len(locationsTSV))
	}
	m := table()
	if len(m) < 7884 {
		t.Fatalf("%d entries, want at least the 7,884 IATA airports", len(m))
	}
	continents := map[string]bool{"AF": true, "AN": true, "AS": true, "EU": true, "NA": true, "OC": true, "SA": true}
	codeRE := regexp.MustCompile(`^[A-Z0-9]{2,16}#?$`)
	countryRE := regexp.MustCompile(`^[A-Z]{2}$`)
	for key, loc := range m {
		if !continents[loc.Continent] || !countryRE.MatchString(loc.Country) || !codeRE.MatchString(loc.Code) ||
			loc.City == "" || math.Abs(loc.Latitude) > 90 || math.Abs(loc.Longitude) > 180 {
			t.Errorf("%s: bad row %+v", key, loc)
		}
	}
}

func TestParseTableRejectsBadRows(t *testing.T) {
	for _, text := range []string{
		"\tAMS\tAmsterdam\tNL\tEU\t52.3\n",
		"\tAMS\tAmsterdam\tNL\tEU\tnorth\t4.7\n",
		"\tAMS\tAmsterdam\tNL\tEU\t52.3\t4.7\n\tAMS\tAmsterdam\tNL\tEU\t52.3\t4.7\n",
	} {
		if _, err := parseTable(text); err == nil {
			t.Errorf("parseTable(%q): no error", text)
		}
	}
}

// TestCloudflareColos: every colo of the tracked Cloudflare list
// (internal/sources/cloudflare-colos.json) resolves within 100 km of the coordinates given
// there.
func TestCloudflareColos(t *testing.T) {
	var colos map[string]struct {
		CCA2 string  `json:"cca2"`
		Lat  float64 `json:"lat"`
		Lon  float64 `json:"lon"`
	}
	if err := json.NewDecoder(openSource(t, "cloudflare-colos.json")).Decode(&colos); err != nil {
		t.Fatal(err)
	}
	if len(colos) < 300 {
		t.Fatalf("only %d colos read", len(colos))
	}
	for code, c := range colos {
		loc, ok := Lookup("cloudflare", code)
		if !ok {
			t.Errorf("%s: not found", code)
			continue
		}
		if d := DistanceMeters(loc, Location{Latitude: c.Lat, Longitude: c.Lon}); d > 100e3 {
			t.Errorf("%s: %s, %s is %.0f km from Cloudflare's %v,%v", code, loc.City, loc.Country, d/1e3, c.Lat, c.Lon)
		}
		if loc.Country != c.CCA2 {
			t.Errorf("%s: country %s, Cloudflare says %s", code, loc.Country, c.CCA2)
		}
	}
}

// cloudfrontCountryFixes are the rows of cloudfront-edge-locations.csv whose country code
// contradicts the row itself.
var cloudfrontCountryFixes = map[string]string{
	"BLA": "ES", // row says "Barcelona, Spain" but carries VE and the coordinates of Barcelona, Venezuela
}

// TestCloudFrontEdgeLocations: every code of the tracked CloudFront list resolves to the
// country given there.
func TestCloudFrontEdgeLocations(t *testing.T) {
	recs, err := csv.NewReader(openSource(t, "cloudfront-edge-locations.csv")).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) < 100 || recs[0][0] != "code" || recs[0][3] != "country_code" {
		t.Fatalf("unexpected CSV layout: %d rows, header %v", len(recs), recs[0])
	}
	for _, r := range recs[1:] {
		code, want := r[0], r[3]
		if fix, ok := cloudfrontCountryFixes[code]; ok {
			want = fix
		}
		loc, ok := Lookup("cloudfront", code)
		if !ok {
			t.Errorf("%s (%s): not found", code, r[1])
			continue
		}
		if loc.Country != want {
			t.Errorf("%s (%s): country %s, want %s", code, r[1], loc.Country, want)
		}
	}
}

// fastlyExceptions are Fastly codes deliberately not placed at Fastly's own coordinates.
var fastlyExceptions = map[string]string{
	"ICN": "Fastly gives 36.38,128.124, the middle of South Korea; the PoP is Seoul (Incheon), 190 km away",
}

// TestFastlyDatacenters: every PoP of Fastly's recorded datacenters API answer (go-fastly
// fixture, 2021) resolves within 150 km of Fastly's coordinates.
func TestFastlyDatacenters(t *testing.T) {
	var cassette struct {
		Interactions []struct {
			Response struct {
				Body string `yaml:"body"`
			} `yaml:"response"`
		} `yaml:"interactions"`
	}
	if err := yaml.NewDecoder(openSource(t, "fastly-datacenters-2021.yaml")).Decode(&cassette); err != nil {
		t.Fatal(err)
	}
	var pops []struct {
		Code        string `json:"code"`
		Name        string `json:"name"`
		Coordinates struct {
			Latitude  float64 `json:"latitude"`
			Longitude float64 `json:"longitude"`
		} `json:"coordinates"`
	}
	if err := json.Unmarshal([]byte(cassette.Interactions[0].Response.Body), &pops); err != nil {
		t.Fatal(err)
	}
	if len(pops) < 80 {
		t.Fatalf("only %d PoPs read", len(pops))
	}
	for _, p := range pops {
		loc, ok := Lookup("fastly", p.Code)
		if !ok {
			t.Errorf("%s (%s): not found", p.Code, p.Name)
			continue
		}
		d := DistanceMeters(loc, Location{Latitude: p.Coordinates.Latitude, Longitude: p.Coordinates.Longitude})
		if reason, ok := fastlyExceptions[p.Code]; ok {
			t.Logf("%s: %.0f km from Fastly's coordinates: %s", p.Code, d/1e3, reason)
			continue
		}
		if d > 150e3 {
			t.Errorf("%s (%s): %s, %s is %.0f km from Fastly's coordinates", p.Code, p.Name, loc.City, loc.Country, d/1e3)
		}
	}
}

// TestVercelRegions: every region of vercel.com/docs/regions resolves, as the region id and
// as its airport letters, to the right country.
func TestVercelRegions(t *testing.T) {
	regions := map[string]string{
		"arn1": "SE", "bom1": "IN", "cdg1": "FR", "cle1": "US", "cpt1": "ZA", "dub1": "IE",
		"dxb1": "AE", "fra1": "DE", "gru1": "BR", "hkg1": "HK", "hnd1": "JP", "iad1": "US",
		"icn1": "KR", "kix1": "JP", "lhr1": "GB", "pdx1": "US", "sfo1": "US", "sin1": "SG",
		"syd1": "AU", "yul1": "CA",
	}
	for id, country := range regions {
		for _, code := range []string{id, id[:3]} {
			if loc := mustLookup(t, "vercel", code); loc.Country != country {
				t.Errorf("vercel %s: %s, %s; want country %s", code, loc.City, loc.Country, country)
			}
		}
	}
}

// TestFlyRegions: every region of fly.io/docs/reference/regions (including retired ones
// still seen in old Fly-Request-Id values) resolves to the right country.
func TestFlyRegions(t *testing.T) {
	regions := map[string]string{
		"ams": "NL", "arn": "SE", "atl": "US", "bog": "CO", "bom": "IN", "bos": "US", "cdg": "FR",
		"den": "US", "dfw": "US", "ewr": "US", "eze": "AR", "fra": "DE", "gdl": "MX", "gig": "BR",
		"gru": "BR", "hkg": "HK", "iad": "US", "jnb": "ZA", "lax": "US", "lhr": "GB", "maa": "IN",
		"mad": "ES", "mia": "US", "nrt": "JP", "ord": "US", "otp": "RO", "phx": "US", "qro": "MX",
		"scl": "CL", "sea": "US", "sin": "SG", "sjc": "US", "syd": "AU", "waw": "PL", "yul": "CA",
		"yyz": "CA",
	}
	for region, country := range regions {
		if loc := mustLookup(t, "fly", region); loc.Country != country {
			t.Errorf("fly %s: %s, %s; want country %s", region, loc.City, loc.Country, country)
		}
	}
}

// TestDistanceMeters compares with published great-circle distances (Great Circle Mapper /
// airmilescalculator.com, WGS-84): JFK-LHR 3,451 mi, AMS-SIN 6,526 mi, SYD-LAX 7,488 mi.
func TestDistanceMeters(t *testing.T) {
	const mile = 1609.344
	for _, c := range []struct {
		a, b string
		want float64
	}{
		{"JFK", "LHR", 3451 * mile},
		{"AMS", "SIN", 6526 * mile},
		{"SYD", "LAX", 7488 * mile},
	} {
		a, b := mustLookup(t, "", c.a), mustLookup(t, "", c.b)
		got := DistanceMeters(a, b)
		if math.Abs(got-c.want)/c.want > 0.005 {
			t.Errorf("%s-%s: %.0f m, want %.0f m within 0.5%%", c.a, c.b, got, c.want)
		}
		if back := DistanceMeters(b, a); math.Abs(back-got) > 1e-6 {
			t.Errorf("%s-%s not symmetric: %v vs %v", c.a, c.b, got, back)
		}
	}
	ams := mustLookup(t, "", "AMS")
	if d := DistanceMeters(ams, ams); d != 0 {
		t.Errorf("AMS-AMS = %v, want 0", d)
	}
	// Antipodes: half the circumference, where naive formulas lose precision or return NaN.
	half := DistanceMeters(Location{Latitude: 0, Longitude: 0}, Location{Latitude: 0, Longitude: 180})
	if want := math.Pi * earthRadiusMeters; math.Abs(half-want) > 1 {
		t.Errorf("antipodes: %v, want %v", half, want)
	}
	if d := DistanceMeters(Location{Latitude: 90}, Location{Latitude: -90}); math.IsNaN(d) {
		t.Error("pole to pole: NaN")
	}
}

// TestLookupAllocs: the collector looks up every probe's PoP; uppercase codes (what the edge
// package produces) must not allocate, nor numbered or lower-case ones.
func TestLookupAllocs(t *testing.T) {
	table()
	for _, c := range []struct{ cdn, code string }{
		{"cloudflare", "AMS"}, {"fastly", "WDC"}, {"bunny", "DE1"}, {"", "lhr"}, {"vercel", "cdg1"},
	} {
		if n := testing.AllocsPerRun(100, func() { Lookup(c.cdn, c.code) }); n != 0 {
			t.Errorf("Lookup(%q, %q): %v allocations", c.cdn, c.code, n)
		}
	}
}

func BenchmarkLookup(b *testing.B) {
	for _, c := range []struct{ name, cdn, code string }{
		{"global", "", "AMS"},
		{"provider-fallthrough", "cloudflare", "FRA"},
		{"provider-alias", "fastly", "WDC"},
		{"numbered", "bunny", "DE12"},
		{"lowercase", "vercel", "cdg1"},
		{"cdn77-long", "cdn77", "LOSANGELESUSCA"},
	} {
		b.Run(c.name, func(b *testing.B) {
			table()
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := Lookup(c.cdn, c.code); !ok {
					b.Fatal("not found")
				}
			}
		})
	}
}

func BenchmarkParseTable(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseTable(locationsTSV); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(locationsTSV)), "table-bytes")
}

func TestNearest(t *testing.T) {
	tests := []struct {
		name      string
		lat, lon  float64
		maxMeters float64
		want      string // "" when nothing is within the bound
	}{
		// MaxMind places city-level addresses at the city's coordinates.
		{"next to Amsterdam Schiphol", 52.31, 4.76, 100e3, "AMS"},
		{"the airport's own coordinates", 50.0264, 8.5431, 1, "FRA"},
		{"mid-Atlantic", 40, -40, 100e3, ""},
		{"bound of zero away from any code", 0, 0, 0, ""},
		{"negative bound", 52.31, 4.76, -1, ""},
		{"latitude out of range", 91, 0, 100e3, ""},
		{"NaN", math.NaN(), 0, 100e3, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc, dist, ok := Nearest(tt.lat, tt.lon, tt.maxMeters)
			if tt.want == "" {
				if ok {
					t.Errorf("got %s at %.0f m, want none", loc.Code, dist)
				}
				return
			}
			if !ok || loc.Code != tt.want {
				t.Fatalf("got %q (ok=%v), want %s", loc.Code, ok, tt.want)
			}
			if dist > tt.maxMeters || dist < 0 {
				t.Errorf("distance %.0f outside [0, %.0f]", dist, tt.maxMeters)
			}
		})
	}
}

// TestNearestAgreesWithFullScan checks the latitude-band search against a scan of every
// global row at points around the globe.
func TestNearestAgreesWithFullScan(t *testing.T) {
	for lat := -80.0; lat <= 80; lat += 7.3 {
		for lon := -179.0; lon <= 179; lon += 11.9 {
			got, gotDist, ok := Nearest(lat, lon, 300e3)
			here := Location{Latitude: lat, Longitude: lon}
			wantDist := math.Inf(1)
			for _, l := range byLatitude {
				wantDist = math.Min(wantDist, DistanceMeters(here, l))
			}
			if ok != (wantDist <= 300e3) || (ok && gotDist != wantDist) {
				t.Fatalf("(%.1f, %.1f): got %s %.0f m ok=%v, full scan %.0f m", lat, lon, got.Code, gotDist, ok, wantDist)
			}
		}
	}
}
