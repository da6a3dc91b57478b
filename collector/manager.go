// Package collector schedules probes and records their results: a Manager keeps every probe
// (target × IP family × resolver) on one schedule run by a bounded pool of workers (schedule.go), applies
// reloads without disturbing unchanged probes (manager.go), keeps each probe's PoP state
// (state.go) and turns every probe result into metrics in one place (record.go), declared once
// (metrics.go).
//
// It sits at the top of the collector packages: it imports collector/prober (one probe),
// collector/exposition (the per-probe series store), collector/shard (which targets are this
// replica's), collector/geoip (a PoP for edges that name none), collector/edge, collector/geo
// and config. None of those may import it.
package collector

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/popexporter/pop_exporter/collector/edge"
	"github.com/popexporter/pop_exporter/collector/exposition"
	"github.com/popexporter/pop_exporter/collector/geo"
	"github.com/popexporter/pop_exporter/collector/geoip"
	"github.com/popexporter/pop_exporter/collector/prober"
	"github.com/popexporter/pop_exporter/collector/shard"
	"github.com/popexporter/pop_exporter/config"
)

// DefaultMaxPoPsPerProbe bounds the distinct pop label values one probe can create in the
// per-PoP series; further PoPs are counted as "other".
const DefaultMaxPoPsPerProbe = 10

// OtherPoP is the pop label value for PoPs beyond the per-probe cap (and the shield_pop and
// edge_ip value for values beyond theirs).
const OtherPoP = "other"

// DefaultMinStallTimeout is the shortest time without a recorded probe result after which the
// Manager reports itself stalled, whatever the intervals (see Manager.Healthy).
const DefaultMinStallTimeout = time.Minute

// Options configure a Manager.
type Options struct {
	Logger          log.Logger
	MaxConcurrency  int    // probes running at once, across all targets; <= 0 means config.DefaultMaxConcurrency
	UserAgent       string // sent unless a target sets its own User-Agent header
	MaxPoPsPerProbe int    // <= 0 means DefaultMaxPoPsPerProbe
	// Detail is the series set: DetailBasic (the zero value) or DetailFull.
	Detail Detail
	// Shard is this replica's share of every configuration's targets; the zero value probes
	// them all.
	Shard shard.Shard
	// MinStallTimeout is the floor of the time without a recorded result after which Healthy
	// and Ready fail; <= 0 means DefaultMinStallTimeout.
	MinStallTimeout time.Duration
	// GeoIP holds the geolocation database that places the edges of CDNs naming no PoP
	// (--geoip.database); nil, or one holding none, places nothing.
	GeoIP *geoip.Current
	// ProbeDebug keeps, per probe, what its last response looked like and why it was labelled
	// as it was (ProbeDebugHandler, --web.enable-probe-debug).
	ProbeDebug bool
}

// Manager owns the probes of the current configuration: it schedules one probe per target,
// IP family and resolver on a pool of workers (schedule.go), applies new configurations without
// disturbing unchanged probes, and records their results as metrics.
type Manager struct {
	opts    Options
	logger  log.Logger
	metrics *metrics
	sched   *schedule
	workers sync.WaitGroup

	ctx    context.Context // parent of every probe; cancelled by Stop
	cancel context.CancelFunc

	mu      sync.Mutex // serialises Apply and Stop
	runners map[string]*runner
	vantage vantage
	stopped bool

	// Liveness, read by Healthy and Ready without m.mu (which Apply holds while it waits for
	// stopped probes): Unix nanoseconds of the last recorded result or applied configuration,
	// and the time without either after which the Manager is stalled.
	lastProgress atomic.Int64
	stallAfter   atomic.Int64
	probes       atomic.Int64 // runners of the applied configuration
	applied      atomic.Bool
	halted       atomic.Bool // Stop was called

	filesMu     sync.Mutex
	targetFiles map[string]bool // the files SetTargetFileStatus was last told of

	// probe runs one probe; tests replace it to inject faults such as panics.
	probe func(ctx context.Context, s *prober.Spec) prober.Result
}

// vantage is where this exporter stands, resolved once per configuration.
type vantage struct {
	name  string
	code  string
	loc   geo.Location
	known bool // loc is meaningful
}

// runner is one scheduled probe and its state. One probe of a runner runs at a time, on
// whichever worker the schedule hands it to, so the state needs no lock.
type runner struct {
	spec    atomic.Pointer[prober.Spec]
	vantage vantage
	// stopMu guards cancelled and cancelRun: stopping a runner cancels the probe under way (no
	// context is kept per runner between probes: a cancellable one, with the map of children
	// each probe's context left in it, weighed ~650 bytes per runner).
	stopMu    sync.Mutex
	cancelled bool               // removed: its probes end at once and record nothing
	cancelRun context.CancelFunc // of the probe under way, if any

	// Scheduling, guarded by the schedule's lock (see schedule.go).
	interval time.Duration
	next     time.Time // when the probe is due
	stopped  bool      // removed: never scheduled again
	// running is held by the worker that runs and records a probe of this runner, so that
	// stopping a runner can wait for a probe under way (never for one still queued).
	running sync.Mutex

	tracker      *popTracker
	pops         capSet   // pop label values this probe has used
	shields      capSet   // shield_pop label values
	edgeIPs      capSet   // edge_ip label values
	edgeLabels   []string // label values of this probe's pop_probe_edge_info series
	edge         edgeKey  // the edge those labels are of
	edgeLoc      geo.Location
	edgeLocated  bool
	baseLabels   []string // label values of this probe's pop_probe_baseline_info series
	baseline     string   // the baseline ("cdn/pop") those labels are of
	baseLoc      geo.Location
	baseLocated  bool
	handles      seriesHandles
	answerAddrs  capSet                     // address label values of pop_probe_dns_answer_info
	answerLabels []string                   // label values of this probe's pop_probe_dns_answer_info series
	answer       prober.DNSAnswer           // the answer those labels are of
	altSvcLabels []string                   // label values of this probe's pop_probe_alt_svc_info series
	altSvc       string                     // the advertised value those labels are of
	certs        capSet                     // fingerprint label values of pop_probe_tls_leaf_cert_expiry_timestamp_seconds
	leafLabels   []string                   // label values of this probe's leaf certificate series
	leaf         prober.LeafCert            // the certificate those labels are of
	tlsLabels    []string                   // label values of this probe's pop_probe_tls_info series
	tlsKey       tlsKey                     // the handshake those labels are of
	versions     capSet                     // version label values of pop_probe_content_version_since_timestamp_seconds
	versionLabel []string                   // label values of this probe's content version series
	version      string                     // the version (uncapped) those labels are of
	versionSince float64                    // unix time of the first probe that got it, since the last change
	debug        atomic.Pointer[ProbeDebug] // the last probe, with Options.ProbeDebug
	labelsPrefix []string                   // vantage, target, ip_version, resolver, protocol
	scratch      []string                   // label values of one store call (see labels)
}

// New creates a Manager that registers its own metrics with reg and keeps the per-probe series
// in st (which an exposition.Handler serves). It probes nothing until Apply.
func New(reg prometheus.Registerer, st *exposition.Store, opts Options) (*Manager, error) {
	if opts.Logger == nil {
		opts.Logger = log.NewNopLogger()
	}
	if opts.MaxConcurrency <= 0 {
		opts.MaxConcurrency = config.DefaultMaxConcurrency
	}
	if opts.MaxPoPsPerProbe <= 0 {
		opts.MaxPoPsPerProbe = DefaultMaxPoPsPerProbe
	}
	if opts.UserAgent == "" {
		opts.UserAgent = config.DefaultUserAgent
	}
	if opts.Shard.Total == 0 {
		opts.Shard = shard.All
	}
	if opts.MinStallTimeout <= 0 {
		opts.MinStallTimeout = DefaultMinStallTimeout
	}
	m := &Manager{
		opts:    opts,
		logger:  opts.Logger,
		metrics: newMetrics(st, opts.Detail),
		sched:   newSchedule(),
		runners: map[string]*runner{},
		probe:   func(ctx context.Context, s *prober.Spec) prober.Result { return s.Run(ctx) },
	}
	for _, c := range m.metrics.collectors() {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering metrics: %w", err)
		}
	}
	m.metrics.shardInfo.WithLabelValues(strconv.Itoa(opts.Shard.Index), strconv.Itoa(opts.Shard.Total)).Set(1)
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.sched.done.Add(1)
	go m.sched.run(m.ctx)
	m.workers.Add(opts.MaxConcurrency)
	for range opts.MaxConcurrency {
		go m.worker()
	}
	return m, nil
}

// Apply makes cfg the running configuration, or this replica's shard of it: the targets of
// other shards are left out before anything is built. Probes whose target and vantage are
// unchanged keep running with their schedule and PoP state; changed ones restart; removed
// ones stop and lose all their series. If cfg cannot be applied, nothing changes and the
// error says why. Apply runs a new list of targets as well as a reloaded file (a target file
// changed), so the reload status is its caller's to record: MarkReloadSucceeded,
// MarkReloadFailed.
func (m *Manager) Apply(cfg *config.Config) error {
	ident := edge.NewIdentifier(cfg.Compiled.Rules)
	specs := map[string]*prober.Spec{}
	owned := 0
	var longest time.Duration
	for i, t := range cfg.Targets {
		if !m.opts.Shard.Owns(t.Name) {
			continue
		}
		owned++
		longest = max(longest, time.Duration(t.Interval))
		c := cfg.Compiled.Targets[i]
		resolvers := c.Resolvers
		if len(resolvers) == 0 { // a configuration built by hand rather than by config.Parse
			resolvers = config.CompileResolvers(&t)
		}
		protocols := t.Protocols
		if len(protocols) == 0 { // a configuration built by hand rather than by config.Parse
			protocols = []string{config.ProtocolHTTP11}
		}
		for _, proto := range t.IPProtocols {
			for _, r := range resolvers {
				for _, protocol := range protocols {
					s, err := prober.NewSpec(t, c, proto, protocol, r, m.opts.UserAgent, ident)
					if err != nil {
						return err
					}
					s.KeepResponse = m.opts.ProbeDebug
					specs[s.Key] = s
				}
			}
		}
	}
	v := resolveVantage(cfg.Vantage)

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return errors.New("collector stopped")
	}
	vantageChanged := v != m.vantage
	var leaving []string
	for key, r := range m.runners {
		next, keep := specs[key]
		if keep && !vantageChanged && sameProbe(r.spec.Load(), next) {
			r.spec.Store(next) // same schedule and state; freshly read CA file and rules
			continue
		}
		leaving = append(leaving, key)
	}
	m.stopRunners(leaving)
	if vantageChanged {
		for _, f := range m.metrics.perProbe {
			f.Reset()
		}
		m.metrics.vantageInfo.Reset()
		m.metrics.vantageInfo.Set(1, v.labels()...)
		m.vantage = v
	}
	for key, s := range specs {
		if _, running := m.runners[key]; !running {
			m.startRunner(s)
		}
	}
	m.metrics.targets.Set(float64(len(m.runners)))
	m.stallAfter.Store(int64(max(2*longest, m.opts.MinStallTimeout)))
	m.probes.Store(int64(len(m.runners)))
	m.lastProgress.Store(time.Now().UnixNano())
	m.applied.Store(true)
	level.Info(m.logger).Log("msg", "configuration applied", "file", cfg.File, "vantage", v.name,
		"shard", m.opts.Shard, "targets", owned, "configured_targets", len(cfg.Targets), "probes", len(m.runners))
	return nil
}

// MarkReloadSucceeded records that the configuration file was loaded and applied.
func (m *Manager) MarkReloadSucceeded() {
	m.metrics.reloadSuccess.Set(1)
	m.metrics.reloadTimestamp.SetToCurrentTime()
}

// MarkReloadFailed records that a configuration could not be loaded or applied; the running
// one stays.
func (m *Manager) MarkReloadFailed() {
	m.metrics.reloadSuccess.Set(0)
}

// SetTargetFileStatus records which target files are in use: loaded[file] is false for a
// file whose last version could not be used (its previous targets keep running). Files left
// out of loaded, no longer matched by target_files, lose their series.
func (m *Manager) SetTargetFileStatus(loaded map[string]bool) {
	m.filesMu.Lock()
	defer m.filesMu.Unlock()
	for file := range m.targetFiles {
		if _, ok := loaded[file]; !ok {
			m.metrics.targetFileLoaded.DeleteLabelValues(file)
		}
	}
	m.targetFiles = make(map[string]bool, len(loaded))
	for file, ok := range loaded {
		v := 0.0
		if ok {
			v = 1
		}
		m.metrics.targetFileLoaded.WithLabelValues(file).Set(v)
		m.targetFiles[file] = ok
	}
}

// Stop cancels every probe, in flight or waiting, and returns when all have ended.
func (m *Manager) Stop() {
	m.halted.Store(true)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return
	}
	m.stopped = true
	m.cancel()
	m.sched.done.Wait() // the scheduler hands out nothing more
	m.sched.stopWorkers()
	m.workers.Wait()
	for key := range m.runners {
		delete(m.runners, key)
	}
	m.metrics.targets.Set(0)
}

// Healthy reports whether probe results are being recorded: an error when none has been for
// longer than twice the longest probe interval (at least Options.MinStallTimeout) since the
// last result or applied configuration. Every probe records a result at least once per
// interval plus its timeout, which is shorter than the interval, and the first one comes
// within one interval of its start, so a slow but working configuration never trips it; a
// probe that can no longer record (a deadlock, a leaked concurrency slot) does. With no probe
// to run (target files still empty, a shard that owns no target) nothing is due either.
func (m *Manager) Healthy() error {
	if !m.applied.Load() || m.probes.Load() == 0 {
		return nil // nothing is due before the first configuration, or with no probe
	}
	since := time.Since(time.Unix(0, m.lastProgress.Load()))
	if limit := time.Duration(m.stallAfter.Load()); since > limit {
		return fmt.Errorf("no probe result recorded for %v (expected within %v)", since.Round(time.Second), limit)
	}
	return nil
}

// Ready reports whether the Manager is doing its job: a configuration is applied, probe results
// are being recorded (Healthy) and Stop has not been called.
func (m *Manager) Ready() error {
	switch {
	case m.halted.Load():
		return errors.New("collector stopped")
	case !m.applied.Load():
		return errors.New("no configuration applied yet")
	}
	return m.Healthy()
}

// sameProbe says whether a reload left a probe as it was: its target's settings, and its own
// resolver. The target's other IP families and resolvers are probes of their own, so adding
// a resolver (to the target or to the defaults) or an IP family leaves the others running
// with their state. config.Target is a plain value (the CA pool read from tls.ca_file is in
// config.Compiled, which the runner picks up afresh).
func sameProbe(a, b *prober.Spec) bool {
	ta, tb := a.Target, b.Target
	if ownResolver(ta, a.Resolver) != ownResolver(tb, b.Resolver) {
		return false
	}
	ta.IPProtocols, ta.Resolvers, ta.DNSServer, ta.Protocols = nil, nil, "", nil
	tb.IPProtocols, tb.Resolvers, tb.DNSServer, tb.Protocols = nil, nil, "", nil
	return reflect.DeepEqual(ta, tb)
}

// ownResolver is how target t configures its resolver name: an entry of resolvers, the
// dns_server short form, or neither (the system resolver).
func ownResolver(t config.Target, name string) config.Resolver {
	for _, r := range t.Resolvers {
		if r.Name == name {
			return r
		}
	}
	if name == config.DNSServerResolver && t.DNSServer != "" {
		return config.Resolver{Name: name, Server: t.DNSServer}
	}
	return config.Resolver{Name: name}
}

func resolveVantage(cv config.Vantage) vantage {
	v := vantage{name: cv.Name, code: cv.Location}
	switch {
	case cv.Location != "":
		v.loc, v.known = geo.Lookup("", cv.Location)
	case cv.Latitude != nil && cv.Longitude != nil:
		v.loc = geo.Location{Latitude: *cv.Latitude, Longitude: *cv.Longitude}
		v.known = true
	}
	return v
}

func (v vantage) labels() []string {
	lat, lon := "", ""
	if v.known {
		lat, lon = formatCoord(v.loc.Latitude), formatCoord(v.loc.Longitude)
	}
	return []string{v.name, v.code, v.loc.City, v.loc.Country, v.loc.Continent, lat, lon}
}

// newRunner returns the state of a probe of s from vantage v, not yet started.
func newRunner(s *prober.Spec, v vantage) *runner {
	window, _ := baselineProbes(s.Target)
	r := &runner{
		vantage:      v,
		interval:     time.Duration(s.Target.Interval),
		tracker:      newPoPTracker(window),
		pops:         capSet{},
		shields:      capSet{},
		edgeIPs:      capSet{},
		answerAddrs:  capSet{},
		certs:        capSet{},
		versions:     capSet{},
		labelsPrefix: []string{v.name, s.Target.Name, s.IPVersion, s.Resolver, s.Protocol},
	}
	r.spec.Store(s)
	return r
}

// startRunner must be called with m.mu held.
func (m *Manager) startRunner(s *prober.Spec) {
	r := newRunner(s, m.vantage)
	if window, capped := baselineProbes(s.Target); capped {
		level.Warn(m.logger).Log("msg", "baseline_window is longer than the probes the exporter keeps; the baseline covers the last probes only",
			"target", s.Target.Name, "ip_version", s.IPVersion, "resolver", s.Resolver, "baseline_window", time.Duration(s.Target.BaselineWindow),
			"interval", time.Duration(s.Target.Interval), "probes", window,
			"covers", time.Duration(window)*time.Duration(s.Target.Interval))
	}
	m.runners[s.Key] = r
	m.initSeries(r)
	m.sched.add(r)
}

// stopRunners must be called with m.mu held. It stops the probes of keys, waits for those under
// way to end, then deletes every series of the probes so a removed target leaves nothing
// behind.
func (m *Manager) stopRunners(keys []string) {
	// Cancel them all before waiting for any: each probe under way then ends at once, and none
	// waits behind the timeout of another one that is leaving too.
	for _, key := range keys {
		r := m.runners[key]
		r.stop()
		m.sched.remove(r)
	}
	for _, key := range keys {
		r := m.runners[key]
		// A probe of r that a worker is running ends quickly now that it is cancelled, and
		// records nothing; one still waiting in the queue is skipped when a worker takes it.
		r.running.Lock()
		delete(m.runners, key)
		for _, f := range m.metrics.perProbe {
			f.RemovePrefix(r.labelsPrefix)
		}
		r.running.Unlock()
	}
}

// baselineProbes converts the baseline window to a count of probes: at least 3, so one flap
// can never be the majority, and at most config.MaxBaselineProbes to bound memory; capped says the
// window was longer than that.
func baselineProbes(t config.Target) (n int, capped bool) {
	interval := time.Duration(t.Interval)
	if interval <= 0 {
		return config.MinBaselineProbes, false
	}
	n = int((time.Duration(t.BaselineWindow) + interval - 1) / interval)
	return min(max(n, config.MinBaselineProbes), config.MaxBaselineProbes), n > config.MaxBaselineProbes
}

// worker runs the probes the schedule hands it until the Manager stops.
func (m *Manager) worker() {
	defer m.workers.Done()
	c := make(chan *runner, 1)
	for {
		r, ok := m.sched.next(c)
		if !ok {
			return
		}
		r.running.Lock()
		m.runOnce(r)
		r.running.Unlock()
	}
}

// runOnce runs one probe of r, records its result and puts r back on the schedule. A probe
// cancelled by a reload or shutdown records nothing: its result says nothing about the target.
func (m *Manager) runOnce(r *runner) {
	s := r.spec.Load()
	// The probe's context carries its timeout (Spec.Run keeps an earlier deadline it is given)
	// and ends with the Manager or when the runner is stopped.
	ctx, cancel := context.WithTimeout(m.ctx, time.Duration(s.Target.Timeout))
	defer cancel()
	if m.ctx.Err() != nil || !r.begin(cancel) {
		return
	}
	m.metrics.scheduleDelay.Observe(max(time.Since(r.next), 0).Seconds())
	m.metrics.inFlight.Inc()
	res := m.runProbe(ctx, s)
	m.metrics.inFlight.Dec()
	if r.end() || m.ctx.Err() != nil {
		return
	}
	m.record(r, res)
	m.lastProgress.Store(time.Now().UnixNano())
	if missed := m.sched.requeue(r, time.Now()); missed > 0 {
		m.metrics.missed.Add(float64(missed))
	}
}

// begin records cancel as the way to stop the probe r is about to run; false when r was
// stopped (the probe is not run).
func (r *runner) begin(cancel context.CancelFunc) bool {
	r.stopMu.Lock()
	defer r.stopMu.Unlock()
	r.cancelRun = cancel
	return !r.cancelled
}

// end forgets the probe that ran and says whether r was stopped meanwhile.
func (r *runner) end() (stopped bool) {
	r.stopMu.Lock()
	defer r.stopMu.Unlock()
	r.cancelRun = nil
	return r.cancelled
}

// stop cancels the probe of r under way, if any, and every later one.
func (r *runner) stop() {
	r.stopMu.Lock()
	defer r.stopMu.Unlock()
	r.cancelled = true
	if r.cancelRun != nil {
		r.cancelRun()
	}
}

// runProbe runs one probe (which ends by its timeout) and turns a panic into a counted
// failure: no response from a server may bring the daemon down.
func (m *Manager) runProbe(ctx context.Context, s *prober.Spec) (res prober.Result) {
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			level.Error(m.logger).Log("msg", "probe panicked", "target", s.Target.Name, "ip_version", s.IPVersion, "resolver", s.Resolver,
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			res = prober.Result{Start: start, Duration: time.Since(start), CacheAge: -1,
				FailureReason: prober.ReasonPanic, Err: fmt.Errorf("probe panicked: %v", p)}
		}
	}()
	return m.probe(ctx, s)
}
