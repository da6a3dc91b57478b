// Command pop_exporter probes a configured list of URLs on an interval and exposes, on
// /metrics, which CDN and PoP answered each probe, how fast, and from cache or not.
//
// It only wires: flags, logging, the configuration, the collector's Manager, the /metrics
// handler of collector/exposition, reloads, signals and the web server. What a probe does,
// what a header means and what a metric is live in the collector packages; nothing imports
// this one.
package main

import (
	"context"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/version"
	sloggokit "github.com/tjhop/slog-gokit"

	"github.com/popexporter/pop_exporter/collector"
	"github.com/popexporter/pop_exporter/collector/exposition"
	"github.com/popexporter/pop_exporter/collector/geoip"
	"github.com/popexporter/pop_exporter/collector/shard"
	"github.com/popexporter/pop_exporter/collector/targetfiles"
	"github.com/popexporter/pop_exporter/config"
)

// DefaultListenAddress is the exporter's port. The Prometheus port registry's 9100-9999 range
// is fully allocated; 9853 is used by none of the well-known exporters.
const DefaultListenAddress = ":9853"

const program = "pop_exporter"

func main() {
	// Collect garbage at 50% heap growth instead of Go's 100% (Prometheus itself sets 75%):
	// most of the exporter's heap is long-lived series, so the default would let the process
	// grow to twice what it holds. GOGC in the environment still decides.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole daemon; it returns the exit code. Cancelling ctx shuts it down.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if version.Version == "" { // not built with the Makefile's -ldflags (go run, go install)
		version.Version = "dev"
	}
	app := kingpin.New(program, "Prometheus exporter for CDN PoP routing: which CDN PoP answers each configured URL, how fast, and from cache or not.")
	app.UsageWriter(stdout)
	app.ErrorWriter(stderr)
	configFile := app.Flag("config.file", "pop_exporter configuration file; without it, the embedded default configuration is used.").String()
	configCheck := app.Flag("config.check", "Check the configuration file and its target files and exit: 0 if valid, 1 with the errors if not.").Bool()
	rescanInterval := app.Flag("config.target-files.rescan-interval", "How often target files are read again, changed or not, for changes no file system notice reported (network file systems); 0 disables it. Changes that are noticed are read at once.").Default("1m").Duration()
	maxConcurrency := app.Flag("probe.max-concurrency", "Maximum number of probes running at once, across all targets.").Default(fmt.Sprint(config.DefaultMaxConcurrency)).Int()
	var shardFlag shard.Shard
	app.Flag("shard", "This replica's share of the targets, as INDEX/TOTAL counted from 0 (0/3, 1/3, 2/3): probe only the targets whose name rendezvous-hashes to INDEX among TOTAL replicas.").
		Default(shard.All.String()).PlaceHolder("INDEX/TOTAL").SetValue(&shardFlag)
	enablePprof := app.Flag("web.enable-pprof", "Serve Go's profiler at /debug/pprof/ (CPU, heap, goroutines), for profiling a running exporter.").Bool()
	probeDebug := app.Flag("web.enable-probe-debug", "Serve /debug/probes: each probe's last response status and headers (credentials and cookies redacted) and which rule decided its cdn, pop and cache_status, or why each is unknown. Keeps up to 64 header lines per probe in memory.").Bool()
	detail := app.Flag("metrics.detail", "Series set per probe: basic (the default: every dashboard panel and alert, about 30 series per target) or full (histograms per phase and per CDN, PoP and cache status, about 100).").Default("basic").Enum("basic", "full")
	maxPoPs := app.Flag("probe.max-pops", "Maximum distinct pop label values per probe in per-PoP series; further PoPs are reported as \"other\".").Default(fmt.Sprint(collector.DefaultMaxPoPsPerProbe)).Int()
	var geo geoipFile
	app.Flag("geoip.database", "City geolocation database (.mmdb: MaxMind GeoLite2-City or DB-IP City Lite) that gives non-anycast CDNs naming no PoP the nearest airport or metro code of their edge address; read again on every reload.").
		PlaceHolder("FILE").StringVar(&geo.path)
	logLevel := app.Flag("log.level", "Only log messages with the given severity or above. One of: [debug, info, warn, error]").Default("info").Enum("debug", "info", "warn", "error")
	logFormat := app.Flag("log.format", "Output format of log messages. One of: [logfmt, json]").Default("logfmt").Enum("logfmt", "json")
	webFlags := addToolkitFlags(app, DefaultListenAddress)
	webOpts := addWebFlags(app)
	app.Version(version.Print(program))
	app.HelpFlag.Short('h')
	exited := false
	app.Terminate(func(int) { exited = true })
	if _, err := app.Parse(args); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", program, err)
		return 2
	}
	if exited { // --help or --version printed what was asked
		return 0
	}
	if err := validateFlags(flagValues{rescanInterval: *rescanInterval, maxConcurrency: *maxConcurrency, maxPoPs: *maxPoPs, web: webOpts}); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", program, err)
		return 2
	}
	// SIGHUP's default action ends the process: catch it from the start, so that a reload
	// asked for while the exporter is still starting is taken once it runs, not a crash.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if err := checkListenAddresses(*webFlags.WebListenAddresses, webOpts.healthAddress); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", program, err)
		return 2
	}

	logger, slogger, stdLogger := newLoggers(stderr, *logFormat, *logLevel)
	defer routeStdlibLog(stdLogger)()
	load := func() (*config.Config, error) {
		if *configFile == "" {
			return config.Default()
		}
		return config.Load(*configFile)
	}

	cfg, err := load()
	if *configCheck {
		return check(cfg, err, stdout, stderr)
	}
	if err != nil {
		level.Error(logger).Log("msg", "cannot load configuration", "err", err)
		return 1
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(
		versioncollector.NewCollector(program),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	geoDB, err := geo.read()
	if err != nil {
		level.Error(logger).Log("msg", "cannot open the geoip database", "err", err)
		return 1
	}
	geo.use(geoDB)
	store := exposition.NewStore() // the per-probe series, filled by the collector
	mgr, err := collector.New(reg, store, collector.Options{
		Logger:          logger,
		MaxConcurrency:  *maxConcurrency,
		UserAgent:       config.DefaultUserAgent + "/" + version.Version,
		MaxPoPsPerProbe: *maxPoPs,
		Detail:          metricsDetail(*detail),
		Shard:           shardFlag,
		GeoIP:           &geo.cur,
		ProbeDebug:      *probeDebug,
	})
	if err != nil {
		level.Error(logger).Log("msg", "cannot create collector", "err", err)
		return 1
	}
	defer mgr.Stop()
	// The configuration file's targets and its target files' go to the collector together;
	// a bad target file is logged and reported, and does not stop the start.
	files := targetfiles.New(mgr, targetfiles.Options{Logger: logger, RescanInterval: *rescanInterval})
	if err := files.Load(cfg); err != nil {
		level.Error(logger).Log("msg", "cannot apply configuration", "err", err)
		return 1
	}
	mgr.MarkReloadSucceeded()
	stopWatching, watchStopped := watch(ctx, files)
	defer stopWatching()
	level.Info(logger).Log("msg", "starting "+program, "version", version.Info(), "build_context", version.BuildContext())

	var reloadMu sync.Mutex
	reload := func(trigger string) error {
		reloadMu.Lock()
		defer reloadMu.Unlock()
		// The configuration and the geoip database are reloaded together: if either fails,
		// both old ones keep running.
		cfg, err := load()
		var db *geoip.Database
		if err == nil {
			db, err = geo.read()
		}
		if err == nil {
			err = files.Load(cfg)
		}
		if err == nil {
			geo.use(db)
		}
		if err != nil {
			mgr.MarkReloadFailed()
			level.Error(logger).Log("msg", "reload failed; the previous configuration keeps running", "trigger", trigger, "err", err)
			return err
		}
		mgr.MarkReloadSucceeded()
		level.Info(logger).Log("msg", "configuration reloaded", "trigger", trigger)
		return nil
	}

	metricsHandler := exposition.Handler(reg, store, exposition.HandlerOpts{Logger: logger, MaxRequestsInFlight: webOpts.maxRequests})
	checks := healthChecks{healthy: mgr.Healthy, ready: mgr.Ready}
	var probes http.Handler
	if *probeDebug {
		probes = mgr.ProbeDebugHandler()
	}
	handler, err := newHandlerPprof(metricsHandler, reload, checks, *enablePprof, probes)
	if err != nil {
		level.Error(logger).Log("msg", "cannot build web handler", "err", err)
		return 1
	}
	webOpts.warnIfDescriptorsShort(logger, *maxConcurrency)
	servers, err := startWeb(handler, checks, webOpts, webFlags, logger, stdLogger, slogger)
	if err != nil {
		level.Error(logger).Log("msg", "cannot start web server", "err", err)
		return 1
	}

	// SIGHUP reloads run on their own goroutine, so that a shutdown never waits for one (one
	// stuck reading a file from a hung network mount, say); signals that come while one runs
	// are one more reload (hup holds one).
	reloaderDone := make(chan struct{})
	go func() {
		defer close(reloaderDone)
		for {
			select {
			case <-hup:
				_ = reload("SIGHUP")
			case <-ctx.Done():
				return
			}
		}
	}()
	select {
	case err := <-servers.errs:
		level.Error(logger).Log("msg", "web server failed", "err", err)
		servers.shutdown(0)
		return 1
	case <-ctx.Done():
	}
	// Stop probing and serving at once, within 2 s whatever the clients do: the probes in
	// flight are cancelled, and connections still busy after shutdownGrace (a client that
	// stopped reading among them) are closed.
	level.Info(logger).Log("msg", "shutting down")
	grace := time.NewTimer(shutdownGrace)
	defer grace.Stop()
	stopWatching() // no rescans from now on; one under way finds the collector stopped
	stopped := make(chan struct{})
	go func() {
		mgr.Stop()
		close(stopped)
	}()
	servers.shutdown(shutdownGrace)
	<-stopped
	// Reading files never blocks in an open, but a read from a hung network file system can
	// block for as long as the mount lets it: a reload or a target file scan still running
	// after the grace is left behind rather than holding up the exit.
	for _, done := range []<-chan struct{}{watchStopped, reloaderDone} {
		select {
		case <-done:
			continue
		default:
		}
		select {
		case <-done:
		case <-grace.C:
			level.Warn(logger).Log("msg", "a configuration reload or target file read is still running; exiting without it")
			return 0
		}
	}
	return 0
}

// flagValues are the flags validateFlags checks.
type flagValues struct {
	rescanInterval time.Duration
	maxConcurrency int
	maxPoPs        int
	web            *webOptions
}

// Minimums of the duration flags: below them a flag does harm rather than what was meant
// (a 1ns rescan interval keeps a core busy reading files; a 1ns write timeout makes every
// response empty, and writing a large /metrics page takes a good part of a second).
const (
	minRescanInterval    = time.Second
	minReadHeaderTimeout = 100 * time.Millisecond
	minWriteTimeout      = time.Second
	minIdleTimeout       = 100 * time.Millisecond
)

// validateFlags checks the flag values kingpin cannot: every duration has a minimum (0 where
// the flag says it turns the feature off), every count its range. Its error names the flag,
// the value and what is allowed; run exits 2 with it.
func validateFlags(v flagValues) error {
	durations := []struct {
		flag   string
		value  time.Duration
		min    time.Duration
		zeroOK bool
	}{
		{"--config.target-files.rescan-interval", v.rescanInterval, minRescanInterval, true},
		{"--web.read-header-timeout", v.web.readHeaderTimeout, minReadHeaderTimeout, false},
		{"--web.write-timeout", v.web.writeTimeout, minWriteTimeout, true},
		{"--web.idle-timeout", v.web.idleTimeout, minIdleTimeout, false},
	}
	for _, d := range durations {
		if d.zeroOK && d.value == 0 || d.value >= d.min {
			continue
		}
		if d.zeroOK {
			return fmt.Errorf("%s=%v: must be 0 (off) or at least %v", d.flag, d.value, d.min)
		}
		return fmt.Errorf("%s=%v: must be at least %v", d.flag, d.value, d.min)
	}
	counts := []struct {
		flag       string
		value, min int
	}{
		{"--probe.max-concurrency", v.maxConcurrency, 1},
		{"--probe.max-pops", v.maxPoPs, 1},
		{"--web.max-requests", v.web.maxRequests, 0},
		{"--web.max-connections", v.web.maxConnections, 0},
	}
	for _, c := range counts {
		if c.value < c.min {
			return fmt.Errorf("%s=%d: must be at least %d", c.flag, c.value, c.min)
		}
	}
	return nil
}

// check is --config.check: the configuration file, then every target file it names.
func check(cfg *config.Config, err error, stdout, stderr io.Writer) int {
	if err == nil {
		var all *config.Config
		if all, err = targetfiles.Check(cfg); err == nil {
			fmt.Fprintf(stdout, "%s: valid configuration with %d targets", cfg.File, len(all.Targets))
			if len(cfg.TargetFiles) > 0 {
				fmt.Fprintf(stdout, " (%d of them in target files)", len(all.Targets)-len(cfg.Targets))
			}
			fmt.Fprintln(stdout)
			return 0
		}
	}
	fmt.Fprintln(stderr, err)
	return 1
}

// watch runs files.Run until ctx ends or stop is called (which does not wait); done is
// closed when Run has returned.
func watch(ctx context.Context, files *targetfiles.Files) (stop func(), done <-chan struct{}) {
	ctx, cancel := context.WithCancel(ctx)
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		files.Run(ctx)
	}()
	return cancel, ch
}

// shutdownGrace is how long a shutdown lets requests in flight finish before closing their
// connections; with the probes cancelled at the same time the daemon exits well within 2 s.
const shutdownGrace = time.Second

// routeStdlibLog sends what the standard library's global logger writes (and slog's default
// logger, which writes through it) to logger as warnings, so the log stays one logfmt or JSON
// stream; the returned function restores the previous output.
func routeStdlibLog(logger log.Logger) (restore func()) {
	out, flags, prefix := stdlog.Writer(), stdlog.Flags(), stdlog.Prefix()
	stdlog.SetOutput(stdlibWriter{level.Warn(logger)})
	stdlog.SetFlags(0)
	stdlog.SetPrefix("")
	return func() {
		stdlog.SetOutput(out)
		stdlog.SetFlags(flags)
		stdlog.SetPrefix(prefix)
	}
}

// stdlibWriter logs each line a standard library logger (without flags or prefix) writes as
// the message of one log entry. (go-kit's StdlibAdapter would take "http: TLS handshake error
// from 127.0.0.1:1" for a file:line caller.)
type stdlibWriter struct{ logger log.Logger }

func (w stdlibWriter) Write(p []byte) (int, error) {
	if err := w.logger.Log("msg", strings.TrimSuffix(string(p), "\n")); err != nil {
		return 0, err
	}
	return len(p), nil
}

// newLoggers builds the go-kit logger the exporter logs with, an slog bridge to it for
// exporter-toolkit, and one for the standard library's log lines (without a caller, which
// would name the adapter).
func newLoggers(w io.Writer, format, lvl string) (logger log.Logger, bridge *slog.Logger, std log.Logger) {
	if format == "json" {
		logger = log.NewJSONLogger(log.NewSyncWriter(w))
	} else {
		logger = log.NewLogfmtLogger(log.NewSyncWriter(w))
	}
	allow := map[string]level.Option{"debug": level.AllowDebug(), "info": level.AllowInfo(),
		"warn": level.AllowWarn(), "error": level.AllowError()}[lvl]
	slogLevel := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo,
		"warn": slog.LevelWarn, "error": slog.LevelError}[lvl]
	logger = level.NewFilter(logger, allow)
	// The slog bridge adds its own time (as "time") and caller; give it the logger without
	// ours, through sameKeys, so that exporter-toolkit's lines read like ours.
	bridge = slog.New(sloggokit.NewGoKitHandler(sameKeys(logger), slogLevel))
	std = log.With(logger, "ts", log.DefaultTimestampUTC)
	return log.With(logger, "ts", log.DefaultTimestampUTC, "caller", log.DefaultCaller), bridge, std
}

// sameKeys gives the lines of the slog bridge the exporter's own shape: slog-gokit writes
// "level=… caller=… time=<time.Time> msg=…", the exporter "level=… ts=<RFC 3339 UTC> caller=…
// msg=…". One key and one time format for every line lets a log pipeline parse them alike.
func sameKeys(next log.Logger) log.Logger {
	return log.LoggerFunc(func(kv ...any) error {
		out := make([]any, 0, len(kv)+2)
		var head, rest []any
		var ts any = log.DefaultTimestampUTC
		for i := 0; i+1 < len(kv); i += 2 {
			switch kv[i] {
			case slog.TimeKey:
				if t, ok := kv[i+1].(time.Time); ok {
					ts = t.UTC().Format(time.RFC3339Nano)
				}
			case level.Key(), "caller":
				head = append(head, kv[i], kv[i+1])
			default:
				rest = append(rest, kv[i], kv[i+1])
			}
		}
		if len(head) >= 2 && head[0] == level.Key() {
			out = append(out, head[0], head[1], "ts", ts)
			out = append(out, head[2:]...)
		} else {
			out = append(out, "ts", ts)
			out = append(out, head...)
		}
		return next.Log(append(out, rest...)...)
	})
}

// metricsDetail maps a --metrics.detail value (checked by kingpin) to the collector's.
func metricsDetail(s string) collector.Detail {
	d, _ := collector.ParseDetail(s)
	return d
}
