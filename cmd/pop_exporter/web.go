package main

import (
	"context"
	"errors"
	"fmt"
	stdlog "log"
	"log/slog"
	"net"
	"net/http"
	httppprof "net/http/pprof"
	"strconv"
	"sync"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
)

// healthMaxConnections bounds the connections of the health listener: kubelet and load
// balancer checks open one at a time, but clients that open connections and never finish
// their requests take slots too (at most a quarter each per address, see connLimiter).
const healthMaxConnections = 32

// webOptions are the flags that protect the web server from its clients.
type webOptions struct {
	maxRequests       int
	maxConnections    int
	readHeaderTimeout time.Duration
	writeTimeout      time.Duration
	idleTimeout       time.Duration
	healthAddress     string
}

// addToolkitFlags adds the flags of exporter-toolkit's web package that this exporter
// honours: --web.listen-address and --web.config.file. Its kingpinflag package would also add
// --web.systemd-socket and advertise vsock:// listen addresses, neither of which can work
// here: the exporter opens its own TCP listeners, to bound their connections.
func addToolkitFlags(app *kingpin.Application, defaultAddress string) *web.FlagConfig {
	noSystemdSocket := false
	return &web.FlagConfig{
		WebListenAddresses: app.Flag("web.listen-address", "TCP address (host:port) to serve metrics and the web interface on; repeatable. Examples: :9853, 127.0.0.1:9853, [::1]:9853.").
			Default(defaultAddress).Strings(),
		WebSystemdSocket: &noSystemdSocket,
		WebConfigFile: app.Flag("web.config.file", "Path to a web configuration file that can enable TLS or basic authentication. See: https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md").
			Default("").String(),
	}
}

// checkListenAddresses refuses, before anything starts, a listen address that is not a TCP
// host:port (exporter-toolkit's vsock:// among them).
func checkListenAddresses(addrs []string, health string) error {
	check := func(flag, a string) error {
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			return fmt.Errorf("--%s=%q is not a TCP host:port such as :9853 or 127.0.0.1:9853", flag, a)
		}
		return nil
	}
	for _, a := range addrs {
		if err := check("web.listen-address", a); err != nil {
			return err
		}
	}
	if health != "" {
		return check("web.health-listen-address", health)
	}
	return nil
}

func addWebFlags(app *kingpin.Application) *webOptions {
	o := &webOptions{}
	app.Flag("web.max-requests", "Maximum number of /metrics requests served at once; more are answered 503 at once. 0 means no limit.").
		Default("4").IntVar(&o.maxRequests)
	app.Flag("web.max-connections", "Maximum number of open client connections, across all listen addresses; when all are taken, the longest idle one is closed for a new one. 0 means no limit.").
		Default("64").IntVar(&o.maxConnections)
	app.Flag("web.read-header-timeout", "Time a client has to send a request's headers.").
		Default("10s").DurationVar(&o.readHeaderTimeout)
	app.Flag("web.write-timeout", "Time to read a request and write its response; a client that stops reading is disconnected after it. 0 means no timeout.").
		Default("30s").DurationVar(&o.writeTimeout)
	app.Flag("web.idle-timeout", "Time a keep-alive connection may stay idle between requests.").
		Default("2m").DurationVar(&o.idleTimeout)
	app.Flag("web.health-listen-address", "Also serve /-/healthy and /-/ready, and nothing else, on this address without TLS or authentication (for Kubernetes probes when --web.config.file sets basic auth). Empty: off.").
		Default("").StringVar(&o.healthAddress)
	return o
}

// warnIfDescriptorsShort logs when the open-file limit cannot hold the connections the server
// may keep open together with the probes' connections and DNS sockets: past it, probes would
// fail with "too many open files", which looks like every target being down.
func (o *webOptions) warnIfDescriptorsShort(logger log.Logger, maxConcurrency int) {
	limit, ok := openFileLimit()
	if !ok || o.maxConnections <= 0 {
		return
	}
	need := uint64(o.maxConnections) + healthMaxConnections + 3*uint64(max(maxConcurrency, 0)) + 32
	if need > limit {
		level.Warn(logger).Log("msg", "the open file limit is below what connections and probes may need; lower --web.max-connections or --probe.max-concurrency, or raise the limit",
			"limit", limit, "need", need, "web.max_connections", o.maxConnections, "probe.max_concurrency", maxConcurrency)
	}
}

// server returns an http.Server for handler with the timeouts of o, logging through logger.
func (o *webOptions) server(handler http.Handler, lim *connLimiter, logger log.Logger) *http.Server {
	s := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: o.readHeaderTimeout,
		// ReadTimeout as long as WriteTimeout: it bounds a request body that trickles in, and
		// cannot expire (and cancel the request) while the response may still be written.
		ReadTimeout:  o.writeTimeout,
		WriteTimeout: o.writeTimeout,
		IdleTimeout:  o.idleTimeout,
		ErrorLog:     stdlog.New(stdlibWriter{level.Warn(logger)}, "", 0),
	}
	if lim != nil {
		s.ConnState = lim.ConnState
	}
	return s
}

// healthChecks say whether the exporter is alive (probe results are being recorded) and ready
// (also: a configuration is applied and it is not shutting down).
type healthChecks struct {
	healthy, ready func() error
}

func (h healthChecks) register(mux *http.ServeMux) {
	check := func(name string, f func() error) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			if err := f(); err != nil {
				http.Error(w, "Not "+name+": "+err.Error(), http.StatusServiceUnavailable)
				return
			}
			fmt.Fprintln(w, map[string]string{"healthy": "Healthy", "ready": "Ready"}[name])
		}
	}
	mux.HandleFunc("/-/healthy", check("healthy", h.healthy))
	mux.HandleFunc("/-/ready", check("ready", h.ready))
}

// newHandler serves the landing page, /metrics (the metrics handler), the health endpoints
// and POST /-/reload.
func newHandler(metrics http.Handler, reload func(trigger string) error, checks healthChecks) (http.Handler, error) {
	return newHandlerPprof(metrics, reload, checks, false, nil)
}

// newHandlerPprof is newHandler, with Go's profiler under /debug/pprof/ when pprof is set
// (--web.enable-pprof): for profiling a running exporter, off by default because a profile
// costs CPU and shows internals; and the probe debug page at /debug/probes when probes is not
// nil (--web.enable-probe-debug).
func newHandlerPprof(metrics http.Handler, reload func(trigger string) error, checks healthChecks, pprof bool, probes http.Handler) (http.Handler, error) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", metrics)
	links := []web.LandingLinks{
		{Address: "/metrics", Text: "Metrics"},
		{Address: "/-/healthy", Text: "Health"},
		{Address: "/-/ready", Text: "Ready"},
	}
	if probes != nil {
		mux.Handle("/debug/probes", probes)
		links = append(links, web.LandingLinks{Address: "/debug/probes", Text: "Probes: last response and why each label"})
	}
	if pprof {
		mux.HandleFunc("/debug/pprof/", httppprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", httppprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", httppprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", httppprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", httppprof.Trace)
	}
	checks.register(mux)
	mux.HandleFunc("/-/reload", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "This endpoint requires a POST request.", http.StatusMethodNotAllowed)
			return
		}
		if err := reload("HTTP"); err != nil {
			http.Error(w, fmt.Sprintf("failed to reload config: %s", err), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "Configuration reloaded")
	})
	landing, err := web.NewLandingPage(web.LandingConfig{
		Name:        program,
		Description: "Prometheus exporter for CDN PoP routing observability",
		Version:     version.Info(),
		Links:       links,
		// The toolkit's page links the profiler unless told not to; it is served only with
		// --web.enable-pprof, and a link to a 404 would promise what is not there.
		Profiling: strconv.FormatBool(pprof),
	})
	if err != nil {
		return nil, err
	}
	mux.Handle("/", landing)
	return mux, nil
}

// webServers are the running main and (optional) health servers.
type webServers struct {
	servers []*http.Server
	errs    chan error // a server that stopped for another reason than shutdown
	done    chan struct{}
}

// startWeb listens on every --web.listen-address (through exporter-toolkit: TLS and basic auth
// from --web.config.file) and on the health address, and serves until shutdown.
// Servers log through logger; stdLogger takes net/http's own error lines.
func startWeb(handler http.Handler, checks healthChecks, o *webOptions, flags *web.FlagConfig, logger, stdLogger log.Logger, slogger *slog.Logger) (*webServers, error) {
	var lim *connLimiter
	if o.maxConnections > 0 {
		lim = newConnLimiter(o.maxConnections)
	}
	var listeners []net.Listener
	closeAll := func() {
		for _, l := range listeners {
			l.Close()
		}
	}
	for _, addr := range *flags.WebListenAddresses {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("listening on %s: %w", addr, err)
		}
		if lim != nil {
			l = lim.Listener(l)
		}
		listeners = append(listeners, l)
	}
	var healthListener net.Listener
	if o.healthAddress != "" {
		l, err := net.Listen("tcp", o.healthAddress)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("listening on %s (health): %w", o.healthAddress, err)
		}
		healthListener = l
	}

	w := &webServers{errs: make(chan error, 2), done: make(chan struct{})}
	mainSrv := o.server(handler, lim, stdLogger)
	w.servers = append(w.servers, mainSrv)
	running := 1
	finished := make(chan struct{}, 2)
	serve := func(f func() error) {
		if err := f(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			w.errs <- err
		}
		finished <- struct{}{}
	}
	go serve(func() error { return web.ServeMultiple(listeners, mainSrv, flags, slogger) })
	if healthListener != nil {
		healthLim := newConnLimiter(healthMaxConnections)
		mux := http.NewServeMux()
		checks.register(mux)
		health := o.server(mux, healthLim, stdLogger)
		w.servers = append(w.servers, health)
		running++
		level.Info(logger).Log("msg", "serving health checks without TLS or authentication", "address", healthListener.Addr())
		go serve(func() error { return health.Serve(healthLim.Listener(healthListener)) })
	}
	go func() {
		for range running {
			<-finished
		}
		close(w.done)
	}()
	return w, nil
}

// shutdown stops the servers: requests in flight get grace to finish, then every connection
// still open is closed. It returns when the servers have stopped.
func (w *webServers) shutdown(grace time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range w.servers {
		wg.Go(func() {
			if err := s.Shutdown(ctx); err != nil {
				s.Close() // what Shutdown left: e.g. a handler blocked on a client that stopped reading
			}
		})
	}
	wg.Wait()
	<-w.done
}
