package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// geoDir is the geo package, where the go:generate directive runs.
const geoDir = "../.."

// generateArgs returns the gentable arguments of the go:generate directive in geo.go, so the
// test checks the very command a developer runs.
func generateArgs(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(geoDir, "geo.go"))
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "//go:generate go run ./internal/gentable "
	for line := range strings.Lines(string(src)) {
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			return strings.Fields(rest)
		}
	}
	t.Fatal("no gentable go:generate directive in geo.go")
	return nil
}

// parseOptions reads the directive's flags, with paths made relative to this directory and
// the output sent to out.
func parseOptions(t *testing.T, args []string, out string) options {
	t.Helper()
	var o options
	fs := flag.NewFlagSet("gentable", flag.ContinueOnError)
	for name, p := range map[string]*string{
		"airports": &o.airports, "macs": &o.macs, "countries": &o.countries,
		"cloudflare": &o.cloudflare, "cloudfront": &o.cloudfront, "fastly": &o.fastly,
		"aliases": &o.aliases, "out": &o.out,
	} {
		fs.StringVar(p, name, "", "")
	}
	if err := fs.Parse(args); err != nil {
		t.Fatalf("go:generate directive: %v", err)
	}
	for _, p := range []*string{&o.airports, &o.macs, &o.countries, &o.cloudflare, &o.cloudfront, &o.fastly, &o.aliases} {
		*p = filepath.Join(geoDir, *p)
	}
	if o.out != "locations.tsv" {
		t.Fatalf("directive writes %q, the package embeds locations.tsv", o.out)
	}
	o.out = out
	return o
}

// TestCommittedTableIsReproducible re-runs the generator exactly as go:generate does and
// requires the committed table byte for byte: nobody edits it by hand, and the sources in
// collector/geo/internal/sources are all it takes.
func TestCommittedTableIsReproducible(t *testing.T) {
	out := filepath.Join(t.TempDir(), "locations.tsv")
	o := parseOptions(t, generateArgs(t), out)
	if err := run(o); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(geoDir, "locations.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < min(len(gl), len(wl)); i++ {
			if gl[i] != wl[i] {
				t.Fatalf("committed locations.tsv is stale (run go generate ./collector/geo/): line %d\n got: %q\nwant: %q", i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("committed locations.tsv is stale (run go generate ./collector/geo/): %d lines generated, %d committed", len(gl), len(wl))
	}
}

// TestDirectiveReadsInRepoSources: every input of the go:generate directive is a file of the
// repository under the geo package, so a plain clone can regenerate the table.
func TestDirectiveReadsInRepoSources(t *testing.T) {
	o := parseOptions(t, generateArgs(t), "unused")
	for _, p := range []string{o.airports, o.macs, o.countries, o.cloudflare, o.cloudfront, o.fastly, o.aliases} {
		rel, err := filepath.Rel(geoDir, p)
		if err != nil || !filepath.IsLocal(rel) {
			t.Errorf("input %s is outside collector/geo", p)
		}
	}
}

// airportsFile is the trimmed airport list that the directive reads.
const airportsFile = "../sources/airportsdata-airports-iata.csv"

// TestTrimAirports: the trim keeps the rows with an IATA code and the columns the table uses,
// values unchanged (quoted commas and all), in the upstream order.
func TestTrimAirports(t *testing.T) {
	// Rows of airportsdata's airports.csv (commit in SOURCES.md), one without an IATA code.
	upstream := `"icao","iata","name","city","subd","country","elevation","lat","lon","tz","lid"
"00AA","","Aero B Ranch Airport","Leoti","Kansas","US",3435,38.704022,-101.473911,"America/Chicago","00AA"
"EHAM","AMS","Amsterdam Airport Schiphol","Amsterdam","North Holland","NL",-11,52.3086,4.76389,"Europe/Amsterdam",""
"WSAP","QPG","Paya Lebar Air Base","","","SG",65,1.36042,103.91,"Asia/Singapore",""
"K35A","USC","Union County, Troy Shelton Field","Union","South Carolina","US",609.9,34.686949,-81.641164,"America/New_York","35A"
`
	want := `iata,name,city,country,lat,lon
AMS,Amsterdam Airport Schiphol,Amsterdam,NL,52.3086,4.76389
QPG,Paya Lebar Air Base,,SG,1.36042,103.91
USC,"Union County, Troy Shelton Field",Union,US,34.686949,-81.641164
`
	var got bytes.Buffer
	if err := trimAirports(strings.NewReader(upstream), &got); err != nil {
		t.Fatal(err)
	}
	if got.String() != want {
		t.Errorf("trimAirports:\n%s\nwant:\n%s", got.String(), want)
	}
	if err := trimAirports(strings.NewReader("icao,name\nEHAM,Schiphol\n"), &got); err == nil {
		t.Error("trimAirports of a file without an iata column: no error")
	}
}

// TestCommittedAirportsAreTrimmed: the committed airport list is exactly what the trim makes
// (trimming it again changes nothing), so it holds no row or column the table does not use and
// nothing edited by hand that the trim would not have written.
func TestCommittedAirportsAreTrimmed(t *testing.T) {
	committed, err := os.ReadFile(airportsFile)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := trimAirports(bytes.NewReader(committed), &got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), committed) {
		t.Errorf("%s is not in trimmed form; re-make it as SOURCES.md says", airportsFile)
	}
	if n := bytes.Count(committed, []byte("\n")) - 1; n < 7000 {
		t.Errorf("%s: only %d airports", airportsFile, n)
	}
}

func TestFastlyCity(t *testing.T) {
	for in, want := range map[string]string{
		"Ashburn - BWI":         "Ashburn",
		"Ashburn (Metro)":       "Ashburn",
		"Los Angeles (Metro)":   "Los Angeles",
		"Frankfurt - Interxion": "Frankfurt",
		"Amsterdam":             "Amsterdam",
	} {
		if got := fastlyCity(in); got != want {
			t.Errorf("fastlyCity(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestAliasErrors: a broken hand-made row is reported with its line, not silently dropped.
func TestAliasErrors(t *testing.T) {
	b := builder{
		continent: map[string]string{"NL": "EU"},
		global:    map[string]row{"AMS": {code: "AMS", city: "Amsterdam", country: "NL", continent: "EU", lat: 52.3, lon: 4.76}},
		provider:  map[string]row{},
	}
	for _, tc := range []struct{ in, want string }{
		{"fly\tAMS\tXXX\t\t\t\t\tsrc\n", "line 1: ref XXX is not in the global table"},
		{"fly\tAMS\tAMS\n", "line 1: 3 columns, want 8"},
		{"fly\tAMS\t\tAmsterdam\tNL\t\t\tsrc\n", "line 1: neither ref nor coordinates"},
		{"# c\nfly\tAMS\tAMS\t\t\t\t\t\n", "line 2: cdn, code and source are required"},
		{"fly\tAMS\t\tX\tZZ\t1\t2\tsrc\n", "line 1: fly AMS: unknown country \"ZZ\""},
	} {
		err := b.readAliases(strings.NewReader(tc.in))
		if err == nil || err.Error() != tc.want {
			t.Errorf("readAliases(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
	if err := b.readAliases(strings.NewReader("fly\tams\tAMS\tAmsterdam\t\t\t\tfly.io\n")); err != nil {
		t.Fatal(err)
	}
	if got := b.provider["fly:AMS"]; got.city != "Amsterdam" || got.country != "NL" || got.lat != 52.3 {
		t.Errorf("alias row = %+v", got)
	}
}
