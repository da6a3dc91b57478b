package geoip

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/popexporter/pop_exporter/collector/geoip/geoiptest"
)

func cityRecord(lat, lon float64, radiusKm int) mmdbtype.DataType {
	return geoiptest.City{Latitude: lat, Longitude: lon, RadiusKm: radiusKm}.Record()
}

// testNetworks: documentation prefixes placed at real cities (coordinates as MaxMind gives a
// city), one country-level guess and one network without a location.
func testNetworks() map[string]mmdbtype.DataType {
	return map[string]mmdbtype.DataType{
		"192.0.2.0/24":    cityRecord(52.3740, 4.8897, 5),  // Amsterdam
		"198.51.100.0/24": cityRecord(50.1109, 8.6821, 20), // Frankfurt
		"203.0.113.0/24":  cityRecord(51.2993, 9.4910, 1000),
		"2001:db8::/32":   cityRecord(35.6895, 139.6917, 0), // Tokyo, no accuracy radius
		"100.64.0.0/10":   mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String("NL")}},
		"233.252.0.0/24":  cityRecord(40, -40, 1), // mid-Atlantic: no code within the bound
	}
}

func TestPoP(t *testing.T) {
	db, err := Open(geoiptest.Write(t, "GeoLite2-City", testNetworks()))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr string
		want string // "" when nothing is placed
	}{
		{"192.0.2.10", "AMS"},
		{"::ffff:192.0.2.10", "AMS"}, // IPv4-mapped, as a dual-stack dialer may report it
		{"198.51.100.7", "FRA"},
		{"2001:db8::1", "HND"}, // the nearest code to the city, not the metro centroid,
		{"203.0.113.5", ""},    // country-level guess, 1000 km radius
		{"100.64.1.1", ""},     // no location at all
		{"233.252.0.1", ""},    // nothing within 100 km
		{"8.8.8.8", ""},        // not in the database
		{"2001:db9::1", ""},    // not in the database
	}
	for _, tt := range tests {
		loc, ok := db.PoP(netip.MustParseAddr(tt.addr), DefaultMaxMeters)
		if got := loc.Code; (tt.want == "") == ok || got != tt.want {
			t.Errorf("PoP(%s) = %q ok=%v, want %q", tt.addr, got, ok, tt.want)
		}
	}
	if _, ok := db.PoP(netip.Addr{}, DefaultMaxMeters); ok {
		t.Error("PoP of the zero address placed something")
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.mmdb")
	if err := os.WriteFile(garbage, []byte("not a database"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "missing.mmdb"), "geoip database: open " + filepath.Join(dir, "missing.mmdb") + ": no such file or directory"},
		{"corrupt", garbage, "geoip database " + garbage + ": not a MaxMind DB file"},
		{"country database", geoiptest.Write(t, "GeoLite2-Country", nil), `database type "GeoLite2-Country" has no city locations`},
		{"too large", sparseFile(t, MaxFileSize+1), "268435457 bytes, more than the limit of 256 MiB"},
		{"a device that never ends", "/dev/zero", "geoip database /dev/zero: not a regular file (a device)"},
		{"a directory", dir, "not a regular file (a directory)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(tt.path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// sparseFile is a file of size bytes that takes no disk.
func sparseFile(t *testing.T, size int64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "big.mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDBIPCityLite: DB-IP's free database has the same location fields without
// accuracy_radius, and its own database type.
func TestDBIPCityLite(t *testing.T) {
	db, err := Open(geoiptest.Write(t, "DBIP-City-Lite", testNetworks()))
	if err != nil {
		t.Fatal(err)
	}
	if db.Kind() != "DBIP-City-Lite" {
		t.Errorf("Kind() = %q", db.Kind())
	}
	if loc, ok := db.PoP(netip.MustParseAddr("2001:db8::5"), DefaultMaxMeters); !ok || loc.Code != "HND" {
		t.Errorf("got %q ok=%v, want HND", loc.Code, ok)
	}
}

// TestCurrentSwapUnderLoad swaps databases while lookups run (go test -race checks the rest),
// and the one in use keeps answering after its file went bad.
func TestCurrentSwapUnderLoad(t *testing.T) {
	var cur Current
	if _, ok := cur.PoP(netip.MustParseAddr("192.0.2.1"), DefaultMaxMeters); ok {
		t.Fatal("an empty Current placed an address")
	}
	path := geoiptest.Write(t, "GeoLite2-City", testNetworks())
	first, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	cur.Swap(first)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if loc, ok := cur.PoP(netip.MustParseAddr("192.0.2.1"), DefaultMaxMeters); !ok || loc.Code != "AMS" {
					t.Errorf("lookup during swaps: %q ok=%v", loc.Code, ok)
					return
				}
			}
		})
	}
	for range 20 {
		next, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		cur.Swap(next)
	}
	close(stop)
	wg.Wait()

	// The file on disk is replaced by garbage: opening it fails, and the database already in
	// memory keeps answering.
	if err := os.WriteFile(path, []byte("truncated"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); err == nil {
		t.Fatal("Open of a corrupt file succeeded")
	}
	if loc, ok := cur.PoP(netip.MustParseAddr("192.0.2.1"), DefaultMaxMeters); !ok || loc.Code != "AMS" {
		t.Errorf("after the file was corrupted: %q ok=%v", loc.Code, ok)
	}
}
