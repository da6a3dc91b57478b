package collector

import (
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/popexporter/pop_exporter/collector/edge"
	"github.com/popexporter/pop_exporter/collector/geoip"
	"github.com/popexporter/pop_exporter/collector/prober"
)

// maxDebugHeaders bounds the header lines kept per probe (each value is shortened by
// edge.ShowValue): a server sending thousands of headers costs the debug page no more.
const maxDebugHeaders = 64

// ProbeDebug is what one probe's last run looked like, for people asking "why is this target
// pop=\"unknown\"?": the response's status and headers as received (credentials and cookies
// redacted), and which rule decided the CDN, PoP and cache status, or why each stayed unknown.
// One is kept per probe, replaced by the next run: memory is bounded by the probes.
type ProbeDebug struct {
	Key                                   string // target/ip_version/resolver/protocol
	Target, IPVersion, Resolver, Protocol string
	Time                                  time.Time
	Duration                              time.Duration
	Success                               bool
	FailureReason, Error                  string
	Responded                             bool
	StatusCode                            int
	URL                                   string // the final URL, after redirects
	EdgeAddr                              string
	Headers                               []DebugHeader
	HeadersLeftOut                        int // header lines past maxDebugHeaders

	// The label values recorded, and why.
	CDN, PoP, CacheStatus, PoPSource string
	WhyCDN, WhyPoP, WhyCache         string
}

// DebugHeader is one header line as received, its value shown by edge.ShowValue.
type DebugHeader struct{ Name, Value string }

// probeDebug builds the debug record of one probe run. pop is the PoP after placement (a
// geolocated one included), label the value recorded (capped), source the pop_source value.
func (m *Manager) probeDebug(s *prober.Spec, res prober.Result, pop, label, source string) *ProbeDebug {
	d := &ProbeDebug{
		Key: s.Key, Target: s.Target.Name, IPVersion: s.IPVersion, Resolver: s.Resolver, Protocol: s.Protocol,
		Time: res.Start, Duration: res.Duration, Success: res.Success, FailureReason: res.FailureReason,
		Responded: res.Responded, StatusCode: res.StatusCode, URL: s.Target.URL,
	}
	if res.Err != nil {
		d.Error = res.Err.Error()
	}
	if res.EdgeAddr.IsValid() {
		d.EdgeAddr = res.EdgeAddr.String()
	}
	if !res.Responded {
		d.WhyCDN = "no response: the probe failed before one arrived (" + res.FailureReason + ")"
		return d
	}
	e := res.Edge
	d.CDN, d.PoP, d.CacheStatus, d.PoPSource = e.CDN, label, e.CacheStatus, source
	if res.Response == nil {
		return d
	}
	d.URL = res.Response.URL
	names := make([]string, 0, len(res.Response.Header))
	for k := range res.Response.Header {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		for _, v := range res.Response.Header[k] {
			if len(d.Headers) == maxDebugHeaders {
				d.HeadersLeftOut++
				continue
			}
			d.Headers = append(d.Headers, DebugHeader{k, edge.ShowValue(k, v)})
		}
	}
	x := res.Identifier.Explain(res.Response)
	d.WhyCDN, d.WhyPoP, d.WhyCache = x.CDN, x.PoP, x.Cache
	switch {
	case source == PoPSourceGeoIP:
		d.WhyPoP = fmt.Sprintf("%s; placed by the geolocation database (--geoip.database) at %s from the edge address", d.WhyPoP, pop)
	case e.PoP == edge.Unknown && e.CDN != edge.Unknown && edge.Anycast(e.CDN):
		d.WhyPoP += fmt.Sprintf("; %s is anycast, so its address says nothing about the PoP and is not geolocated", e.CDN)
	case e.PoP == edge.Unknown && e.CDN != edge.Unknown && (m.opts.GeoIP == nil || m.opts.GeoIP.Load() == nil):
		d.WhyPoP += "; no --geoip.database to place the edge address"
	case e.PoP == edge.Unknown && e.CDN != edge.Unknown:
		d.WhyPoP += fmt.Sprintf("; the geolocation database has no place within %.0f km of an airport for the edge address", geoip.DefaultMaxMeters/1000)
	}
	if label != pop {
		d.WhyPoP += fmt.Sprintf("; recorded as %q: this probe has already used --probe.max-pops=%d distinct PoPs", label, m.opts.MaxPoPsPerProbe)
	}
	return d
}

// ProbeDebugs returns the last run of every probe, ordered by key; none without
// Options.ProbeDebug.
func (m *Manager) ProbeDebugs() []*ProbeDebug {
	m.mu.Lock()
	out := make([]*ProbeDebug, 0, len(m.runners))
	for _, r := range m.runners {
		if d := r.debug.Load(); d != nil {
			out = append(out, d)
		}
	}
	m.mu.Unlock()
	slices.SortFunc(out, func(a, b *ProbeDebug) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// ProbeDebugHandler serves the probe debug page: every probe's last run in a table, and with
// ?target=NAME that target's probes in full (headers and the reasons for each label).
func (m *Manager) ProbeDebugHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		all := m.ProbeDebugs()
		target := r.URL.Query().Get("target")
		page := debugPage{Target: target}
		for _, d := range all {
			if target == "" || d.Target == target {
				page.Probes = append(page.Probes, d)
			}
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if target != "" && len(page.Probes) == 0 {
			w.WriteHeader(http.StatusNotFound)
		}
		if err := debugTemplate.Execute(w, page); err != nil {
			m.logger.Log("msg", "writing the probe debug page", "err", err)
		}
	})
}

type debugPage struct {
	Target string
	Probes []*ProbeDebug
}

var debugTemplate = template.Must(template.New("debug").Funcs(template.FuncMap{
	"ms":  func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) },
	"utc": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
}).Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>pop_exporter probes</title>
<style>body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}code{font-size:90%}.fail{color:#b00}</style>
</head><body>
<p><a href="/">pop_exporter</a> › <a href="/debug/probes">probes</a>{{with .Target}} › {{.}}{{end}}</p>
{{if not .Target}}
<h1>Last run of every probe</h1>
<p>What each probe's last response looked like and why it got its labels. Pick a target for its headers and the reasons.</p>
<table><tr><th>target</th><th>ip_version</th><th>resolver</th><th>protocol</th><th>time (UTC)</th><th>result</th><th>status</th><th>cdn</th><th>pop</th><th>cache_status</th></tr>
{{range .Probes}}<tr><td><a href="?target={{.Target}}">{{.Target}}</a></td><td>{{.IPVersion}}</td><td>{{.Resolver}}</td><td>{{.Protocol}}</td><td>{{utc .Time}}</td><td{{if not .Success}} class="fail"{{end}}>{{if .Success}}success{{else}}{{.FailureReason}}{{end}}</td><td>{{if .Responded}}{{.StatusCode}}{{end}}</td><td>{{.CDN}}</td><td>{{.PoP}}</td><td>{{.CacheStatus}}</td></tr>
{{else}}<tr><td colspan="10">no probe has run yet</td></tr>{{end}}
</table>
{{else}}
{{range .Probes}}
<h2>{{.Target}} · IPv{{.IPVersion}} · resolver {{.Resolver}} · {{.Protocol}}</h2>
<table>
<tr><th>last run</th><td>{{utc .Time}}, {{ms .Duration}}</td></tr>
<tr><th>result</th><td{{if not .Success}} class="fail"{{end}}>{{if .Success}}success{{else}}failed: {{.FailureReason}}{{with .Error}} ({{.}}){{end}}{{end}}</td></tr>
<tr><th>URL</th><td><code>{{.URL}}</code></td></tr>
{{if .Responded}}<tr><th>status</th><td>{{.StatusCode}}</td></tr>
<tr><th>edge address</th><td>{{.EdgeAddr}}</td></tr>
<tr><th>cdn = {{.CDN}}</th><td>{{.WhyCDN}}</td></tr>
<tr><th>pop = {{.PoP}}</th><td>{{.WhyPoP}} (pop_source {{.PoPSource}})</td></tr>
<tr><th>cache_status = {{.CacheStatus}}</th><td>{{.WhyCache}}</td></tr>
{{else}}<tr><th>edge</th><td>{{.WhyCDN}}</td></tr>{{end}}
</table>
{{if .Headers}}<h3>Response headers as received</h3>
<p>Names in alphabetical order, repeated headers in the order they came; credentials and cookies redacted.</p>
<table>{{range .Headers}}<tr><td><code>{{.Name}}</code></td><td><code>{{.Value}}</code></td></tr>{{end}}</table>
{{with .HeadersLeftOut}}<p>{{.}} more header lines left out.</p>{{end}}{{end}}
{{else}}<p>No probe of target {{.Target}} has run.</p>{{end}}
{{end}}
</body></html>
`))
