// Package geo places CDN PoP codes on Earth: an embedded table of airports, IATA metro codes
// and provider-specific PoP aliases, and great-circle distance between two places.
package geo

// Location is a place on Earth that a PoP or vantage code names.
type Location struct {
	Code      string  // the code looked up, uppercase (e.g. "AMS")
	City      string  // city name (e.g. "Amsterdam")
	Country   string  // ISO 3166-1 alpha-2 (e.g. "NL")
	Continent string  // AF, AN, AS, EU, NA, OC, SA
	Latitude  float64 // degrees
	Longitude float64 // degrees
}

// Lookup returns where the PoP code of the given CDN is. The provider's own alias table is
// consulted first (cdn is a DESIGN cdn label value such as "fastly"; "" means no provider),
// then the global IATA airport and metro table. Codes are matched case-insensitively.
func Lookup(cdn, code string) (Location, bool) {
	// Placeholder until the generated table lands (issue 4).
	return Location{}, false
}

// DistanceMeters returns the great-circle distance between two locations in meters.
func DistanceMeters(a, b Location) float64 {
	return 0
}
