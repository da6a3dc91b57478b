// Package geoip places edge addresses with an IP-geolocation database, for CDNs that reveal
// the address of the edge that answered but no PoP code (Akamai, Netlify, Tencent, …).
//
// The database is a MaxMind DB (.mmdb) file of the city kind: MaxMind GeoLite2-City or
// GeoIP2-City, or DB-IP City Lite, all of which store location.latitude, location.longitude
// and (MaxMind) location.accuracy_radius per network. The user downloads it; the repository
// ships none. A located address becomes the nearest IATA airport or metro code of the geo
// table within a bound (geo.Nearest), used as the PoP.
//
// It imports collector/geo only.
package geoip

import (
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/popexporter/pop_exporter/collector/geo"
)

// DefaultMaxMeters bounds how far from the located point the PoP code may be: a city-level
// location more than 100 km from any airport or metro code is not placed.
const DefaultMaxMeters = 100e3

// Database is an opened geolocation database. It is read whole into memory (no mmap), so a
// replaced Database needs no closing and lookups in flight on it finish safely. It is safe for
// concurrent use.
type Database struct {
	path string
	kind string // metadata database_type, e.g. "GeoLite2-City"
	r    *maxminddb.Reader
}

// record is the part of a city record that is read. Pointers tell a missing coordinate from
// the point (0, 0).
type record struct {
	Location struct {
		Latitude       *float64 `maxminddb:"latitude"`
		Longitude      *float64 `maxminddb:"longitude"`
		AccuracyRadius uint16   `maxminddb:"accuracy_radius"` // km; 0 when the database has none
	} `maxminddb:"location"`
}

// MaxFileSize is the largest database Open reads: about twice the city databases named above
// (60–130 MB), so that a wrong file cannot take gigabytes of memory.
const MaxFileSize = 256 << 20

// Open reads and checks the database at path. Its errors say which file and what is wrong with
// it: missing, not a regular file (a named pipe, whose open would block until a writer comes,
// or a device such as /dev/zero, which never ends, are refused without blocking), larger than
// MaxFileSize, not a MaxMind DB file, or a database without city locations (a Country or ASN
// database).
func Open(path string) (*Database, error) {
	data, err := readRegular(path)
	if err != nil {
		return nil, err
	}
	r, err := maxminddb.OpenBytes(data)
	if err != nil {
		return nil, fmt.Errorf("geoip database %s: not a MaxMind DB file: %w", path, err)
	}
	kind := r.Metadata.DatabaseType
	if !strings.Contains(strings.ToLower(kind), "city") {
		return nil, fmt.Errorf("geoip database %s: database type %q has no city locations; use GeoLite2-City or DB-IP City Lite", path, kind)
	}
	return &Database{path: path, kind: kind, r: r}, nil
}

// Path is the file the database was read from.
func (d *Database) Path() string { return d.path }

// Kind is the database type the file declares ("GeoLite2-City", "DBIP-City-Lite", …).
func (d *Database) Kind() string { return d.kind }

// Locate returns the coordinates the database gives for addr and their accuracy radius in
// meters (0 when the database does not say).
func (d *Database) Locate(addr netip.Addr) (lat, lon, radiusMeters float64, ok bool) {
	if d == nil || !addr.IsValid() {
		return 0, 0, 0, false
	}
	res := d.r.Lookup(addr.Unmap())
	if !res.Found() {
		return 0, 0, 0, false
	}
	var rec record
	if err := res.Decode(&rec); err != nil || rec.Location.Latitude == nil || rec.Location.Longitude == nil {
		return 0, 0, 0, false
	}
	return *rec.Location.Latitude, *rec.Location.Longitude, float64(rec.Location.AccuracyRadius) * 1000, true
}

// PoP places addr on the nearest IATA airport or metro code within maxMeters of where the
// database locates it. A location less precise than the bound (a country-level guess whose
// accuracy radius exceeds maxMeters) places nothing.
func (d *Database) PoP(addr netip.Addr, maxMeters float64) (geo.Location, bool) {
	lat, lon, radius, ok := d.Locate(addr)
	if !ok || radius > maxMeters {
		return geo.Location{}, false
	}
	loc, _, ok := geo.Nearest(lat, lon, maxMeters)
	return loc, ok
}

// Current holds the database in use, replaced whole on reload while lookups go on. The zero
// value holds none. It is safe for concurrent use.
type Current struct {
	db atomic.Pointer[Database]
}

// Swap makes d the database in use (nil: none) and returns the previous one.
func (c *Current) Swap(d *Database) *Database { return c.db.Swap(d) }

// Load returns the database in use, or nil.
func (c *Current) Load() *Database { return c.db.Load() }

// PoP places addr with the database in use; without one it places nothing.
func (c *Current) PoP(addr netip.Addr, maxMeters float64) (geo.Location, bool) {
	if c == nil {
		return geo.Location{}, false
	}
	return c.db.Load().PoP(addr, maxMeters)
}

// readRegular reads path whole, if it is a regular file of at most MaxFileSize bytes. The
// open never blocks, and the checks are made on the opened file.
func readRegular(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("geoip database: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("geoip database: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("geoip database %s: not a regular file (%s): only regular files are read", path, fileKind(fi.Mode()))
	}
	if fi.Size() > MaxFileSize {
		return nil, fmt.Errorf("geoip database %s: %d bytes, more than the limit of %d MiB", path, fi.Size(), MaxFileSize>>20)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1)) // it may grow while it is read
	if err != nil {
		return nil, fmt.Errorf("geoip database %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("geoip database %s: more than the limit of %d MiB", path, MaxFileSize>>20)
	}
	return data, nil
}

// fileKind names a file mode's type for errors.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	default:
		return m.Type().String()
	}
}
