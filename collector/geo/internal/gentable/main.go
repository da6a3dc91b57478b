// Command gentable builds collector/geo/locations.tsv, the location table the geo package
// embeds, from the public source files kept in collector/geo/internal/sources (SOURCES.md there
// names each one, its commit and its licence) and the hand-made alias table aliases.tsv beside
// this file.
//
// With -trim-airports it instead reduces airportsdata's airports.csv to the rows and columns
// the table is built from (see trimAirports), writing the result to standard output; that is
// how internal/sources/airportsdata-airports-iata.csv is made from the upstream file.
//
// The output is deterministic: the same inputs always give the same bytes, so the committed
// table can be checked by re-running the generator (see the test beside this file).
//
// Table format, one row per line, tab-separated, '#' lines are comments:
//
//	cdn  code  city  country  continent  latitude  longitude
//
// cdn is empty for the global rows (IATA airports and metro codes) and, for provider rows, a
// value of the cdn label in the metrics reference of README.md. A provider code ending in '#'
// stands for that prefix followed by any number (Bunny "DE#" matches "DE1", "DE12").
package main

import (
	"bufio"
	"cmp"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// providerMaxDrift is how far (km) a provider's published coordinates may be from the global
// row of the same code before the provider gets its own row. Below it the global row is kept,
// so that the same code has the same city label whichever CDN answered.
const providerMaxDrift = 25.0

// fastlyCountryRadius is how close (km) a global row of the same code must be to Fastly's
// coordinates to lend its country; the recording names a region, not a country.
const fastlyCountryRadius = 150.0

// row is one output line.
type row struct {
	cdn, code, city, country, continent string
	lat, lon                            float64
}

type options struct {
	airports, macs, countries      string
	cloudflare, cloudfront, fastly string
	aliases, out                   string
}

func main() {
	var o options
	var trim string
	fs := flag.NewFlagSet("gentable", flag.ExitOnError)
	fs.StringVar(&trim, "trim-airports", "", "write this upstream airportsdata airports.csv to standard output, trimmed to the rows and columns the table uses; no table is built")
	fs.StringVar(&o.airports, "airports", "", "airportsdata airports.csv")
	fs.StringVar(&o.macs, "macs", "", "airportsdata iata_macs.csv (IATA metro codes)")
	fs.StringVar(&o.countries, "countries", "", "OurAirports countries.csv (continents)")
	fs.StringVar(&o.cloudflare, "cloudflare", "", "Cloudflare colo list (JSON)")
	fs.StringVar(&o.cloudfront, "cloudfront", "", "CloudFront edge locations (CSV)")
	fs.StringVar(&o.fastly, "fastly", "", "Fastly datacenters API recording (go-vcr YAML)")
	fs.StringVar(&o.aliases, "aliases", "", "hand-made provider aliases (TSV)")
	fs.StringVar(&o.out, "out", "locations.tsv", "output file")
	_ = fs.Parse(os.Args[1:])
	if trim != "" {
		if err := withFile(trim, func(r io.Reader) error { return trimAirports(r, os.Stdout) }); err != nil {
			fmt.Fprintln(os.Stderr, "gentable:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "gentable:", err)
		os.Exit(1)
	}
}

// run builds the table from the inputs named in o and writes it to o.out.
func run(o options) error {
	for name, path := range map[string]string{
		"-airports": o.airports, "-macs": o.macs, "-countries": o.countries,
		"-cloudflare": o.cloudflare, "-cloudfront": o.cloudfront, "-fastly": o.fastly,
		"-aliases": o.aliases, "-out": o.out,
	} {
		if path == "" {
			return fmt.Errorf("flag %s is required", name)
		}
	}
	b := builder{provider: map[string]row{}}
	steps := []struct {
		path string
		fn   func(io.Reader) error
	}{
		{o.countries, b.readCountries},
		{o.airports, b.readAirports},
		{o.macs, b.readMetros},
		{o.cloudflare, b.readCloudflare},
		{o.cloudfront, b.readCloudFront},
		{o.fastly, b.readFastly},
		{o.aliases, b.readAliases},
	}
	for _, s := range steps {
		if err := withFile(s.path, s.fn); err != nil {
			return err
		}
	}
	var sb strings.Builder
	b.write(&sb)
	if err := os.WriteFile(o.out, []byte(sb.String()), 0o644); err != nil {
		return fmt.Errorf("writing table: %w", err)
	}
	return nil
}

func withFile(path string, fn func(io.Reader) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := fn(bufio.NewReader(f)); err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	return nil
}

// builder accumulates the table. Global rows are keyed by code; provider rows by "cdn:code".
type builder struct {
	continent    map[string]string // ISO2 -> continent
	global       map[string]row
	airportCodes []string // IATA airports only, sorted, for the nearest-airport search
	provider     map[string]row
}

// readCSV reads a headed CSV file into maps keyed by column name.
func readCSV(r io.Reader) ([]map[string]string, error) {
	cr := csv.NewReader(r)
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, errors.New("empty CSV")
	}
	head := recs[0]
	out := make([]map[string]string, 0, len(recs)-1)
	for _, rec := range recs[1:] {
		m := make(map[string]string, len(head))
		for i, h := range head {
			m[h] = rec[i]
		}
		out = append(out, m)
	}
	return out, nil
}

func (b *builder) readCountries(r io.Reader) error {
	recs, err := readCSV(r)
	if err != nil {
		return err
	}
	b.continent = make(map[string]string, len(recs))
	for _, c := range recs {
		b.continent[c["code"]] = c["continent"]
	}
	return nil
}

// newRow checks and completes a row: the continent comes from the country.
func (b *builder) newRow(cdn, code, city, country string, lat, lon float64) (row, error) {
	cont, ok := b.continent[country]
	if !ok {
		return row{}, fmt.Errorf("%s %s: unknown country %q", cdn, code, country)
	}
	if lat < -90 || lat > 90 || lon < -180 || lon > 180 {
		return row{}, fmt.Errorf("%s %s: coordinates %v,%v out of range", cdn, code, lat, lon)
	}
	if strings.ContainsAny(code+city, "\t\n\r") {
		return row{}, fmt.Errorf("%s %s: tab or newline in a field", cdn, code)
	}
	return row{cdn: cdn, code: code, city: strings.TrimSpace(city), country: country,
		continent: cont, lat: lat, lon: lon}, nil
}

// airportColumns are the columns of airportsdata's airports.csv that readAirports reads, in
// the upstream order.
var airportColumns = []string{"iata", "name", "city", "country", "lat", "lon"}

// trimAirports copies airportsdata's airports.csv from r to w keeping only the rows with an
// IATA code and the airportColumns: readAirports skips every other row and column, so the
// table built from the trimmed file is the same, from a sixth of the bytes. Rows keep their
// order and values; only the CSV quoting changes (Go's encoding/csv quotes a field only when
// it must). Trimming an already trimmed file gives it back unchanged.
func trimAirports(r io.Reader, w io.Writer) error {
	cr := csv.NewReader(r)
	head, err := cr.Read()
	if err != nil {
		return fmt.Errorf("header: %w", err)
	}
	idx := make([]int, len(airportColumns))
	for i, name := range airportColumns {
		idx[i] = slices.Index(head, name)
		if idx[i] < 0 {
			return fmt.Errorf("no column %q in header %v", name, head)
		}
	}
	iata := idx[slices.Index(airportColumns, "iata")]
	cw := csv.NewWriter(w)
	if err := cw.Write(airportColumns); err != nil {
		return err
	}
	out := make([]string, len(idx))
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if rec[iata] == "" {
			continue
		}
		for i, j := range idx {
			out[i] = rec[j]
		}
		if err := cw.Write(out); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func (b *builder) readAirports(r io.Reader) error {
	recs, err := readCSV(r)
	if err != nil {
		return err
	}
	b.global = make(map[string]row, 8192)
	for _, a := range recs {
		code := a["iata"]
		if code == "" {
			continue
		}
		lat, err1 := strconv.ParseFloat(a["lat"], 64)
		lon, err2 := strconv.ParseFloat(a["lon"], 64)
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("airport %s: %w", code, err)
		}
		city := a["city"]
		if city == "" {
			city = a["name"] // a few military fields (QPG Paya Lebar) have no city
		}
		if _, dup := b.global[code]; dup {
			return fmt.Errorf("airport %s listed twice", code)
		}
		rw, err := b.newRow("", code, city, a["country"], lat, lon)
		if err != nil {
			return err
		}
		b.global[code] = rw
		b.airportCodes = append(b.airportCodes, code)
	}
	slices.Sort(b.airportCodes)
	return nil
}

// readMetros adds the IATA metropolitan area codes that are not airports themselves, placed at
// the centroid of their airports: a metro is the city, not one of its fields.
func (b *builder) readMetros(r io.Reader) error {
	recs, err := readCSV(r)
	if err != nil {
		return err
	}
	type acc struct {
		city, country string
		lat, lon      float64
		n             int
	}
	metros := map[string]*acc{}
	for _, m := range recs {
		code := m["City Code"]
		a, ok := b.global[m["Airport Code"]]
		if !ok {
			return fmt.Errorf("metro %s: airport %s not in airport table", code, m["Airport Code"])
		}
		x := metros[code]
		if x == nil {
			x = &acc{city: m["City Name"], country: m["Country"]}
			metros[code] = x
		}
		x.lat += a.lat
		x.lon += a.lon
		x.n++
	}
	for code, x := range metros {
		if _, isAirport := b.global[code]; isAirport {
			continue // BRU, DXB, SHA, ...: the airport row is already the city
		}
		rw, err := b.newRow("", code, x.city, x.country, x.lat/float64(x.n), x.lon/float64(x.n))
		if err != nil {
			return err
		}
		b.global[code] = rw
	}
	return nil
}

// addProvider records a provider's own placement of a code when the global table cannot stand
// in for it: the code is unknown globally, names another country, or lies too far away.
func (b *builder) addProvider(rw row) {
	if g, ok := b.global[rw.code]; ok && g.country == rw.country &&
		distanceKm(g.lat, g.lon, rw.lat, rw.lon) <= providerMaxDrift {
		return
	}
	b.provider[rw.cdn+":"+rw.code] = rw
}

func (b *builder) readCloudflare(r io.Reader) error {
	var colos map[string]struct {
		IATA string  `json:"iata"`
		City string  `json:"city"`
		CCA2 string  `json:"cca2"`
		Lat  float64 `json:"lat"`
		Lon  float64 `json:"lon"`
	}
	if err := json.NewDecoder(r).Decode(&colos); err != nil {
		return err
	}
	for code, c := range colos {
		// US and Canadian colos carry the state: "Albuquerque, NM".
		city, _, _ := strings.Cut(c.City, ",")
		rw, err := b.newRow("cloudflare", code, city, c.CCA2, c.Lat, c.Lon)
		if err != nil {
			return err
		}
		b.addProvider(rw)
	}
	return nil
}

func (b *builder) readCloudFront(r io.Reader) error {
	recs, err := readCSV(r)
	if err != nil {
		return err
	}
	for _, e := range recs {
		lat, err1 := strconv.ParseFloat(e["latitude"], 64)
		lon, err2 := strconv.ParseFloat(e["longitude"], 64)
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("cloudfront %s: %w", e["code"], err)
		}
		rw, err := b.newRow("cloudfront", e["code"], e["city"], e["country_code"], lat, lon)
		if err != nil {
			return err
		}
		b.addProvider(rw)
	}
	return nil
}

// readFastly reads a go-vcr recording of Fastly's /datacenters API answer.
func (b *builder) readFastly(r io.Reader) error {
	var cassette struct {
		Interactions []struct {
			Response struct {
				Body string `yaml:"body"`
			} `yaml:"response"`
		} `yaml:"interactions"`
	}
	if err := yaml.NewDecoder(r).Decode(&cassette); err != nil {
		return err
	}
	if len(cassette.Interactions) == 0 {
		return errors.New("no recorded interaction")
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
		return fmt.Errorf("datacenters body: %w", err)
	}
	for _, p := range pops {
		lat, lon := p.Coordinates.Latitude, p.Coordinates.Longitude
		rw, err := b.newRow("fastly", p.Code, fastlyCity(p.Name), b.countryAt(p.Code, lat, lon), lat, lon)
		if err != nil {
			return err
		}
		b.addProvider(rw)
	}
	return nil
}

// fastlyCity turns Fastly's datacenter names ("Ashburn - BWI", "Los Angeles (Metro)",
// "Frankfurt - Interxion") into the city.
func fastlyCity(name string) string {
	name, _, _ = strings.Cut(name, " - ")
	name = strings.TrimSuffix(name, " (Metro)")
	return strings.TrimSpace(name)
}

// countryAt says which country a provider's coordinates are in, for sources that do not say:
// the country of the global row of the same code when that is near, else that of the
// nearest airport.
func (b *builder) countryAt(code string, lat, lon float64) string {
	if g, ok := b.global[code]; ok && distanceKm(g.lat, g.lon, lat, lon) <= fastlyCountryRadius {
		return g.country
	}
	best, bestD := "", math.Inf(1)
	for _, c := range b.airportCodes {
		a := b.global[c]
		if d := distanceKm(a.lat, a.lon, lat, lon); d < bestD {
			best, bestD = a.country, d
		}
	}
	return best
}

// readAliases reads the hand-made table. Columns: cdn, code, ref, city, country, latitude,
// longitude, source. ref names a global code whose place is taken as is; the other columns,
// when set, override it. An alias replaces any generated row of the same cdn and code.
func (b *builder) readAliases(r io.Reader) error {
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.Split(text, "\t")
		if len(f) != 8 {
			return fmt.Errorf("line %d: %d columns, want 8", line, len(f))
		}
		cdn, code, ref := f[0], strings.ToUpper(f[1]), f[2]
		if cdn == "" || code == "" || f[7] == "" {
			return fmt.Errorf("line %d: cdn, code and source are required", line)
		}
		var base row
		if ref != "" {
			g, ok := b.global[ref]
			if !ok {
				return fmt.Errorf("line %d: ref %s is not in the global table", line, ref)
			}
			base = g
		}
		if f[3] != "" {
			base.city = f[3]
		}
		if f[4] != "" {
			base.country = f[4]
		}
		if f[5] != "" || f[6] != "" {
			lat, err1 := strconv.ParseFloat(f[5], 64)
			lon, err2 := strconv.ParseFloat(f[6], 64)
			if err := errors.Join(err1, err2); err != nil {
				return fmt.Errorf("line %d: %w", line, err)
			}
			base.lat, base.lon = lat, lon
		} else if ref == "" {
			return fmt.Errorf("line %d: neither ref nor coordinates", line)
		}
		rw, err := b.newRow(cdn, code, base.city, base.country, base.lat, base.lon)
		if err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		key := cdn + ":" + code
		b.provider[key] = rw
	}
	return sc.Err()
}

// write renders the table: global rows first, then provider rows, each sorted by code.
func (b *builder) write(w *strings.Builder) {
	rows := make([]row, 0, len(b.global)+len(b.provider))
	for _, r := range b.global {
		rows = append(rows, r)
	}
	for _, r := range b.provider {
		rows = append(rows, r)
	}
	slices.SortFunc(rows, func(x, y row) int {
		return cmp.Or(cmp.Compare(x.cdn, y.cdn), cmp.Compare(x.code, y.code))
	})
	w.WriteString("# Code generated by collector/geo/internal/gentable; DO NOT EDIT.\n")
	w.WriteString("# Sources and licences: collector/geo/NOTICE.\n")
	w.WriteString("# cdn\tcode\tcity\tcountry\tcontinent\tlatitude\tlongitude\n")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.cdn, r.code, r.city, r.country,
			r.continent, coord(r.lat), coord(r.lon))
	}
}

// coord keeps four decimals (about 11 m), plenty for a city-level PoP and half the bytes.
func coord(v float64) string {
	v = math.Round(v*1e4) / 1e4
	if v == 0 {
		v = 0 // no "-0"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// distanceKm is the haversine great-circle distance on the mean Earth radius.
func distanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0088
	p1, p2 := lat1*math.Pi/180, lat2*math.Pi/180
	dp, dl := p2-p1, (lon2-lon1)*math.Pi/180
	h := math.Sin(dp/2)*math.Sin(dp/2) + math.Cos(p1)*math.Cos(p2)*math.Sin(dl/2)*math.Sin(dl/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(h)))
}
