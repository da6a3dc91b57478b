// Package geo places CDN PoP codes on Earth: an embedded table of airports, IATA metro codes
// and provider-specific PoP aliases, and great-circle distance between two places.
//
// The table (locations.tsv) is generated from the public sources named in NOTICE by
// internal/gentable; run `go generate ./collector/geo/` with shared/ beside the repository to
// rebuild it. Hand-made provider aliases live in internal/gentable/aliases.tsv.
package geo

//go:generate go run ./internal/gentable -airports ../../../shared/data/geo/airportsdata-airports.csv -macs ../../../shared/data/geo/airportsdata-iata_macs.csv -countries ../../../shared/data/geo/ourairports-countries.csv -cloudflare ../../../shared/data/geo/cloudflare-colos.json -cloudfront ../../../shared/data/geo/cloudfront-edge-locations.csv -fastly ../../../shared/data/geo/fastly-datacenters-2021.yaml -aliases internal/gentable/aliases.tsv -out locations.tsv

import (
	_ "embed"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
)

// Location is a place on Earth that a PoP or vantage code names.
type Location struct {
	Code      string  // the code looked up, uppercase (e.g. "AMS")
	City      string  // city name (e.g. "Amsterdam")
	Country   string  // ISO 3166-1 alpha-2 (e.g. "NL")
	Continent string  // AF, AN, AS, EU, NA, OC, SA
	Latitude  float64 // degrees
	Longitude float64 // degrees
}

//go:embed locations.tsv
var locationsTSV string

// maxKey bounds "cdn:CODE" keys so that a lookup builds its key on the stack. The longest
// real codes are CDN77's, cut to 16 characters by the edge package.
const maxKey = 48

// numbered marks a provider row that stands for its prefix followed by any number (Bunny
// "DE#" for DE1, DE2, ...): such vendors number servers, not places.
const numbered = '#'

var (
	tableOnce sync.Once
	// entries maps a global code ("AMS") or a provider code ("fastly:WDC") to its place.
	entries map[string]Location
)

// table parses the embedded table on first use, so that programs that import the package but
// never look anything up (cdnsim, tests of other packages) do not pay for it.
func table() map[string]Location {
	tableOnce.Do(func() {
		m, err := parseTable(locationsTSV)
		if err != nil {
			// The table is generated and tested; a bad one is a build defect, not input.
			panic(fmt.Sprintf("geo: embedded locations.tsv: %v", err))
		}
		entries = m
	})
	return entries
}

// parseTable reads the generated table. Strings are slices of the embedded text, not copies.
func parseTable(text string) (map[string]Location, error) {
	m := make(map[string]Location, strings.Count(text, "\n"))
	lineNo := 0
	for line := range strings.Lines(text) {
		lineNo++
		line = strings.TrimSuffix(line, "\n")
		if line == "" || line[0] == '#' {
			continue
		}
		var f [7]string
		rest := line
		for i := range f {
			var ok bool
			if f[i], rest, ok = strings.Cut(rest, "\t"); !ok && i != len(f)-1 {
				return nil, fmt.Errorf("line %d: %d fields, want 7", lineNo, i+1)
			}
		}
		lat, err := strconv.ParseFloat(f[5], 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: latitude: %w", lineNo, err)
		}
		lon, err := strconv.ParseFloat(f[6], 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: longitude: %w", lineNo, err)
		}
		key := f[1]
		if f[0] != "" {
			key = f[0] + ":" + f[1]
		}
		if len(key) > maxKey {
			return nil, fmt.Errorf("line %d: key %q longer than %d", lineNo, key, maxKey)
		}
		if _, dup := m[key]; dup {
			return nil, fmt.Errorf("line %d: duplicate key %q", lineNo, key)
		}
		m[key] = Location{Code: f[1], City: f[2], Country: f[3], Continent: f[4],
			Latitude: lat, Longitude: lon}
	}
	return m, nil
}

// Lookup returns where the PoP code of the given CDN is. The provider's own alias table is
// consulted first (cdn is a DESIGN cdn label value such as "fastly"; "" means no provider),
// then the global IATA airport and metro table. Codes are matched case-insensitively.
//
// For vendors that number servers within a place (Bunny "DE1", Alibaba "HK1", Gcore "FR5"),
// a code the provider table lacks is retried as its prefix with the number dropped.
func Lookup(cdn, code string) (Location, bool) {
	m := table()
	if code == "" || len(cdn)+1+len(code) > maxKey {
		return Location{}, false
	}
	// Build "cdn:CODE" in a stack buffer; m[string(b)] does not allocate.
	var buf [maxKey]byte
	n := 0
	if cdn != "" {
		for i := 0; i < len(cdn); i++ {
			buf[n] = toLower(cdn[i])
			n++
		}
		buf[n] = ':'
		n++
	}
	start := n
	for i := 0; i < len(code); i++ {
		buf[n] = toUpper(code[i])
		n++
	}
	if cdn != "" {
		if loc, ok := m[string(buf[:n])]; ok {
			return loc, true
		}
		if j := trimDigits(buf[start:n]); j > 0 && j < n-start {
			buf[start+j] = numbered
			if loc, ok := m[string(buf[:start+j+1])]; ok {
				loc.Code = strings.ToUpper(code) // no allocation when already uppercase
				return loc, true
			}
		}
	}
	loc, ok := m[string(buf[start:n])]
	return loc, ok
}

// Known reports whether code is an IATA airport or metro code in the global table, the codes a
// vantage location may be given as.
func Known(code string) bool {
	_, ok := Lookup("", code)
	return ok
}

// trimDigits returns the length of b without its trailing ASCII digits.
func trimDigits(b []byte) int {
	j := len(b)
	for j > 0 && b[j-1] >= '0' && b[j-1] <= '9' {
		j--
	}
	return j
}

func toUpper(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

func toLower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// earthRadiusMeters is the IUGG mean Earth radius; a sphere is within 0.5% of the ellipsoid
// everywhere, far better than a PoP's position is known.
const earthRadiusMeters = 6371008.8

// DistanceMeters returns the great-circle distance between two locations in meters.
func DistanceMeters(a, b Location) float64 {
	const rad = math.Pi / 180
	lat1, lat2 := a.Latitude*rad, b.Latitude*rad
	dLat := lat2 - lat1
	dLon := (b.Longitude - a.Longitude) * rad
	// Haversine: well-conditioned for the short distances between nearby PoPs too.
	h := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(lat1)*math.Cos(lat2)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusMeters * math.Asin(math.Sqrt(math.Min(1, h)))
}
