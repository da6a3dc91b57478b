package collector

import (
	"net/netip"
	"testing"

	"github.com/popexporter/pop_exporter/collector/edge"
	"github.com/popexporter/pop_exporter/collector/geoip"
	"github.com/popexporter/pop_exporter/collector/geoip/geoiptest"
)

// TestPlacePoP: which edges the geolocation database places, from which address, and the
// pop_source each gets.
func TestPlacePoP(t *testing.T) {
	db, err := geoip.Open(geoiptest.WriteCities(t, map[string]geoiptest.City{
		"192.0.2.0/24":    {Latitude: 52.374, Longitude: 4.8897, RadiusKm: 5},   // Amsterdam
		"198.51.100.0/24": {Latitude: 50.1109, Longitude: 8.6821, RadiusKm: 20}, // Frankfurt
	}))
	if err != nil {
		t.Fatal(err)
	}
	var cur geoip.Current
	cur.Swap(db)
	withDB, _ := newTestManagerStore(t, Options{GeoIP: &cur})
	without, _ := newTestManagerStore(t, Options{})
	amsAddr, fraAddr := netip.MustParseAddr("192.0.2.9"), netip.MustParseAddr("198.51.100.9")

	tests := []struct {
		name     string
		m        *Manager
		e        edge.Result
		remote   netip.Addr
		pop, src string
	}{
		{"header wins", withDB, edge.Result{CDN: "cloudfront", PoP: "FRA"}, amsAddr, "FRA", PoPSourceHeader},
		{"akamai: the connected address", withDB, edge.Result{CDN: "akamai", PoP: edge.Unknown}, amsAddr, "AMS", PoPSourceGeoIP},
		{"akamai: the edge IP it names beats the connected address", withDB, edge.Result{CDN: "akamai", PoP: edge.Unknown, EdgeIP: "198.51.100.20"}, amsAddr, "FRA", PoPSourceGeoIP},
		{"netlify over IPv4-mapped", withDB, edge.Result{CDN: "netlify", PoP: edge.Unknown}, netip.AddrFrom16(fraAddr.As16()), "FRA", PoPSourceGeoIP},
		{"user-rule CDN without a valid code", withDB, edge.Result{CDN: "mycdn", PoP: edge.Unknown}, amsAddr, "AMS", PoPSourceGeoIP},
		{"anycast cloudflare stays unknown", withDB, edge.Result{CDN: "cloudflare", PoP: edge.Unknown}, amsAddr, edge.Unknown, PoPSourceNone},
		{"anycast fastly stays unknown", withDB, edge.Result{CDN: "fastly", PoP: edge.Unknown}, amsAddr, edge.Unknown, PoPSourceNone},
		{"anycast google stays unknown", withDB, edge.Result{CDN: "google", PoP: edge.Unknown}, amsAddr, edge.Unknown, PoPSourceNone},
		{"unrecognised responses are not placed", withDB, edge.Result{CDN: edge.Unknown, PoP: edge.Unknown}, amsAddr, edge.Unknown, PoPSourceNone},
		{"address outside the database", withDB, edge.Result{CDN: "akamai", PoP: edge.Unknown}, netip.MustParseAddr("203.0.113.1"), edge.Unknown, PoPSourceNone},
		{"no address", withDB, edge.Result{CDN: "akamai", PoP: edge.Unknown}, netip.Addr{}, edge.Unknown, PoPSourceNone},
		{"no database", without, edge.Result{CDN: "akamai", PoP: edge.Unknown}, amsAddr, edge.Unknown, PoPSourceNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.e
			src := tt.m.placePoP(&e, tt.remote)
			if e.PoP != tt.pop || src != tt.src {
				t.Errorf("got pop=%s pop_source=%s, want pop=%s pop_source=%s", e.PoP, src, tt.pop, tt.src)
			}
		})
	}
}
