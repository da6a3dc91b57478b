package dashboards

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// This file formats a value the way Grafana shows it in a panel, for the units the
// dashboards use for distances, so that a test can assert what a user reads rather than a
// unit id. It follows grafana/grafana packages/grafana-data/src/valueFormats:
// valueFormats.ts (getValueFormat, toFixed, getDecimalsForValue, toFixedUnit, scaledUnits),
// symbolFormatters.ts (SIPrefix: the prefixes f p n µ m "" k M G T P E Z Y, base "") and
// categories.ts (Length: lengthmm = SIPrefix('m', -1), lengthm = SIPrefix('m'),
// lengthkm = SIPrefix('m', 1); Misc: none = toFixedUnit('')). A unit id that is none of
// Grafana's and has no "prefix:"/"suffix:"/"si:" form is shown with the id as its suffix.

// siPrefixes are Grafana's SI prefixes, smallest first; "" is the base.
var siPrefixes = []string{"f", "p", "n", "µ", "m", "", "k", "M", "G", "T", "P", "E", "Z", "Y"}

const siBaseIndex = 5

// grafanaToFixed is Grafana's toFixed: decimals < 0 means "not set" (then
// getDecimalsForValue picks them), and trailing zeros are padded up to the decimals asked.
func grafanaToFixed(v float64, decimals int) string {
	if math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	if decimals < 0 {
		decimals = grafanaDecimalsForValue(v)
	}
	if v == 0 {
		return strconv.FormatFloat(0, 'f', decimals, 64)
	}
	factor := 1.0
	if decimals > 0 {
		factor = math.Pow(10, float64(decimals))
	}
	formatted := jsNumberString(jsRound(v*factor) / factor)
	if strings.ContainsRune(formatted, 'e') {
		return formatted
	}
	precision := 0
	if i := strings.IndexByte(formatted, '.'); i >= 0 {
		precision = len(formatted) - i - 1
	}
	if precision < decimals {
		if precision == 0 {
			formatted += "."
		}
		return formatted + strings.Repeat("0", decimals-precision)
	}
	return formatted
}

// grafanaDecimalsForValue is Grafana's getDecimalsForValue.
func grafanaDecimalsForValue(v float64) int {
	log10 := math.Floor(math.Log(math.Abs(v)) / math.Ln10)
	dec := -log10 + 1
	magn := math.Pow(10, -dec)
	if v/magn > 2.25 {
		dec++
	}
	if math.Mod(v, 1) == 0 {
		dec = 0
	}
	return int(math.Max(0, dec))
}

// jsRound is JavaScript's Math.round: halves round up, towards +Inf.
func jsRound(v float64) float64 { return math.Floor(v + 0.5) }

// jsNumberString is String(number) in JavaScript for the magnitudes a dashboard shows: the
// shortest decimal that reads back as the same number, in exponent form from 1e21 up and
// below 1e-6.
func jsNumberString(v float64) string {
	if a := math.Abs(v); a != 0 && (a >= 1e21 || a < 1e-6) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// grafanaScaled is Grafana's scaledUnits(factor, units, offset).
func grafanaScaled(v float64, decimals int, factor float64, units []string, offset int) string {
	clamp := func(x, lo, hi int) int { return max(lo, min(x, hi)) }
	siIndex := int(math.Floor(math.Log10(math.Abs(v)) / math.Log10(factor)))
	if v == 0 { // log(0) is -Infinity in JavaScript, which clamp takes to the lowest index
		siIndex = math.MinInt32
	}
	suffix := units[clamp(offset+siIndex, 0, len(units)-1)]
	scale := math.Pow(factor, float64(clamp(siIndex, -offset, len(units)-offset-1)))
	return grafanaToFixed(v/scale, decimals) + suffix
}

// grafanaSIPrefix is Grafana's SIPrefix(unit, offset).
func grafanaSIPrefix(v float64, decimals int, unit string, offset int) string {
	units := make([]string, len(siPrefixes))
	for i, p := range siPrefixes {
		units[i] = " " + p + unit
	}
	return grafanaScaled(v, decimals, 1000, units, siBaseIndex+offset)
}

// grafanaFormat returns what Grafana draws for v in a field of the given unit and decimals
// (decimals < 0: not set). It knows the units of distances; any other Grafana unit id is an
// error rather than a guess.
func grafanaFormat(unit string, decimals int, v float64) (string, error) {
	switch unit {
	case "", "none":
		return grafanaToFixed(v, decimals), nil
	case "lengthmm":
		return grafanaSIPrefix(v, decimals, "m", -1), nil
	case "lengthm":
		return grafanaSIPrefix(v, decimals, "m", 0), nil
	case "lengthkm":
		return grafanaSIPrefix(v, decimals, "m", 1), nil
	case "lengthmi", "lengthft", "lengthin":
		return grafanaToFixed(v, decimals) + " " + strings.TrimPrefix(unit, "length"), nil
	}
	if key, sub, ok := strings.Cut(unit, ":"); ok && key != "" {
		switch key {
		case "suffix":
			if sub == "" {
				return grafanaToFixed(v, decimals), nil
			}
			return grafanaToFixed(v, decimals) + " " + sub, nil
		case "prefix":
			return sub + grafanaToFixed(v, decimals), nil
		case "si":
			offset := 0
			if sub != "" {
				for i, p := range siPrefixes {
					if p != "" && strings.HasPrefix(sub, p) && len(sub) > len(p) {
						offset = i - siBaseIndex
						sub = strings.TrimPrefix(sub, p)
						break
					}
				}
			}
			return grafanaSIPrefix(v, decimals, sub, offset), nil
		}
	}
	return "", fmt.Errorf("unit %q: not one this helper formats", unit)
}

func TestGrafanaFormat(t *testing.T) {
	for _, tc := range []struct {
		unit     string
		decimals int
		v        float64
		want     string
	}{
		// What Grafana's own valueFormats tests and the lengthkm problem show.
		{"lengthkm", -1, 10500, "10.5 Mm"},
		{"lengthkm", 0, 2000, "2 Mm"},
		{"lengthkm", -1, 366, "366 km"},
		{"lengthm", -1, 2000e3, "2 Mm"},
		{"lengthm", -1, 1.5, "1.50 m"},
		{"suffix:km", -1, 10500, "10500 km"},
		{"suffix:km", 0, 10513.928, "10514 km"},
		{"suffix:km", -1, 0, "0 km"},
		{"suffix:km", 1, 365.742, "365.7 km"},
		{"none", -1, 0.25, "0.250"}, // getDecimalsForValue gives 0.25 three decimals
		{"none", 2, 3, "3.00"},
		{"prefix:~", 0, 12.4, "~12"},
		{"si:km", -1, 10500, "10.5 Mm"},
	} {
		got, err := grafanaFormat(tc.unit, tc.decimals, tc.v)
		if err != nil || got != tc.want {
			t.Errorf("grafanaFormat(%q, %d, %v) = %q, %v; want %q", tc.unit, tc.decimals, tc.v, got, err, tc.want)
		}
	}
}

// distanceQueryRE finds a query that reads a distance: a *_meters series (divided into km)
// or a recording rule of one.
var distanceQueryRE = regexp.MustCompile(`_meters\b|_meters:`)

// fieldUnit is one unit a panel applies: its defaults, or one override.
type fieldUnit struct {
	where    string
	unit     string
	decimals int
}

// panelUnits returns the units a panel sets (defaults and each override), with the
// decimals set beside them (-1 when none).
func panelUnits(p map[string]any) []fieldUnit {
	fc, _ := p["fieldConfig"].(map[string]any)
	var out []fieldUnit
	if defs, ok := fc["defaults"].(map[string]any); ok {
		if u, ok := defs["unit"].(string); ok {
			dec := -1
			if d, ok := defs["decimals"].(float64); ok {
				dec = int(d)
			}
			out = append(out, fieldUnit{"defaults", u, dec})
		}
	}
	ovs, _ := fc["overrides"].([]any)
	for _, o := range ovs {
		om, _ := o.(map[string]any)
		matcher, _ := om["matcher"].(map[string]any)
		unit, dec, has := "", -1, false
		props, _ := om["properties"].([]any)
		for _, pr := range props {
			pm, _ := pr.(map[string]any)
			switch pm["id"] {
			case "unit":
				unit, has = fmt.Sprint(pm["value"]), true
			case "decimals":
				if d, ok := pm["value"].(float64); ok {
					dec = int(d)
				}
			}
		}
		if has {
			out = append(out, fieldUnit{fmt.Sprintf("override %v", matcher["options"]), unit, dec})
		}
	}
	return out
}

// distanceUnit reports whether a unit is one a distance would be shown in.
func distanceUnit(u string) bool {
	return strings.HasPrefix(u, "length") || strings.HasSuffix(u, "km") || u == "si:m"
}

// TestDistancesNeverRescale: Grafana's lengthkm is SIPrefix('m', 1): a 10,500 km shift
// reads "10.5 Mm", which nobody on call parses as a distance across the globe. Every unit a
// panel showing distances applies to them must draw 10,500 km as "10500 km", 366 km as
// "366 km" and 0 as "0 km", formatted the way Grafana formats that unit.
func TestDistancesNeverRescale(t *testing.T) {
	checked := 0
	for name, d := range loadDashboards(t) {
		for _, p := range allPanels(d) {
			readsDistance := false
			for _, tg := range panelTargets(p) {
				expr, _ := tg["expr"].(string)
				readsDistance = readsDistance || distanceQueryRE.MatchString(expr)
			}
			if !readsDistance {
				continue
			}
			found := false
			for _, fu := range panelUnits(p) {
				if !distanceUnit(fu.unit) {
					continue
				}
				found = true
				for v, want := range map[float64]string{10500: "10500 km", 366: "366 km", 0: "0 km"} {
					checked++
					got, err := grafanaFormat(fu.unit, fu.decimals, v)
					if err != nil {
						t.Errorf("%s %q %s: %v", name, p["title"], fu.where, err)
						continue
					}
					if got != want {
						t.Errorf("%s %q %s: unit %q shows %v km as %q, want %q", name, p["title"], fu.where, fu.unit, v, got, want)
					}
				}
			}
			if !found && p["type"] != "geomap" && p["type"] != "state-timeline" {
				b, _ := json.Marshal(panelUnits(p))
				t.Logf("%s %q reads a distance but sets no distance unit (%s)", name, p["title"], b)
			}
		}
	}
	if checked == 0 {
		t.Error("no distance unit found in the dashboards")
	}
}
