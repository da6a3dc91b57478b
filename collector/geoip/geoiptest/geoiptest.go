// Package geoiptest writes tiny city databases in the MaxMind DB format for tests of code that
// reads them (collector/geoip, the collector, the exporter's flags and reloads), the way
// net/http/httptest serves tests of HTTP code. Nothing outside tests imports it.
package geoiptest

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// City is where a network is, as a city database records it. RadiusKm 0 leaves
// accuracy_radius out, as DB-IP City Lite does.
type City struct {
	Latitude, Longitude float64
	RadiusKm            int
}

// Record is the GeoLite2-City style record of c.
func (c City) Record() mmdbtype.Map {
	loc := mmdbtype.Map{"latitude": mmdbtype.Float64(c.Latitude), "longitude": mmdbtype.Float64(c.Longitude)}
	if c.RadiusKm > 0 {
		loc["accuracy_radius"] = mmdbtype.Uint16(c.RadiusKm)
	}
	return mmdbtype.Map{"location": loc}
}

// Write writes a database of type dbType ("GeoLite2-City", "DBIP-City-Lite", …) holding the
// given records by CIDR to a file in t.TempDir and returns its path. Reserved ranges
// (documentation prefixes, loopback) are allowed, so tests stay on addresses they own.
func Write(t testing.TB, dbType string, records map[string]mmdbtype.DataType) string {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: dbType, RecordSize: 24, IncludeReservedNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	for cidr, rec := range records {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.Insert(n, rec); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.CreateTemp(t.TempDir(), "*.mmdb")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return filepath.Clean(f.Name())
}

// WriteCities writes a GeoLite2-City database placing each CIDR at its city.
func WriteCities(t testing.TB, cities map[string]City) string {
	t.Helper()
	recs := make(map[string]mmdbtype.DataType, len(cities))
	for cidr, c := range cities {
		recs[cidr] = c.Record()
	}
	return Write(t, "GeoLite2-City", recs)
}
