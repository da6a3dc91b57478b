// Command cdnsim serves simulated CDN edges on loopback, for pop_exporter's end-to-end
// tests, demos and load benchmarks.
//
// Every target of a scenario answers at /<target>/ (any sub-path) on one HTTP and one HTTPS
// listener with the exact response-header format of one CDN (Cloudflare, CloudFront,
// Fastly, Akamai, Azure Front Door, Vercel, Netlify, Fly.io, Bunny, KeyCDN, CDN77, Gcore),
// modelled on the real responses named in vendors.go. A YAML scenario scripts, per target,
// the PoP over time (stay, shift after a time, flap between two PoPs, random among a set),
// the TTFB per PoP, the cache-status mix and faults (error status, timeouts, TCP resets, slow
// headers). Scenario vantages are client networks told apart by source address (127.0.0.2,
// 127.0.0.3, … on loopback): each can see a target on its own timeline and TTFB, the way
// anycast or DNS steering sends different networks to different PoPs. An optional dns section
// adds an authoritative DNS server on loopback: each resolver address (and EDNS Client Subnet)
// resolves <target>.cdnsim.test to a region address where DNS-steered targets answer as that
// region's PoP. Time counts from cdnsim's start. Every draw comes from a generator seeded by
// (--seed, target, request number), so a run is reproducible for a given seed and request
// sequence.
//
// For HTTPS, cdnsim makes a throwaway CA at start and writes it to --tls.ca-file for the
// exporter to trust. --print-config prints a pop_exporter configuration probing every target;
// --config.out writes the same once the listeners are bound (so port 0 works), one per
// vantage with {vantage} in its path. See README.md.
//
// It imports config (to write the exporter's configuration) and collector/edge and
// collector/geo (the vendors' formats it renders are checked against the identifier), never
// the exporter's collector: it plays the CDN, not the prober.
package main

import (
	"context"
	"crypto/tls"
	_ "embed"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/miekg/dns"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
)

//go:embed default-scenario.yml
var defaultScenario []byte

// options are the command-line flags.
type options struct {
	scenarioFile   string
	seed           int64
	httpAddr       string
	httpsAddr      string
	caFile         string
	printConfig    bool
	configOut      string
	configInterval time.Duration
	configHost     string
	configVantage  string
	generate       int
	dnsPort        int
	http3          bool
}

func main() {
	var opts options
	app := kingpin.New("cdnsim", "Simulated CDN edges on loopback for pop_exporter tests, demos and benchmarks.")
	app.HelpFlag.Short('h')
	app.Flag("scenario.file", "Scenario YAML file (default: the embedded default scenario).").StringVar(&opts.scenarioFile)
	app.Flag("seed", "Seed of every random draw; a run is reproducible for a seed and request sequence.").Default("1").Int64Var(&opts.seed)
	app.Flag("http.listen-address", "Address of the HTTP listener (empty disables it; port 0 picks a free port).").Default("127.0.0.1:8081").StringVar(&opts.httpAddr)
	app.Flag("https.listen-address", "Address of the HTTPS listener (empty disables it; port 0 picks a free port).").Default("127.0.0.1:8443").StringVar(&opts.httpsAddr)
	app.Flag("http3", "Serve HTTP/3 on UDP beside every HTTPS listener (same address and port) and advertise it in Alt-Svc; --no-http3 turns it off.").Default("true").BoolVar(&opts.http3)
	app.Flag("tls.ca-file", "Where to write the PEM of the generated CA the exporter must trust.").Default("./cdnsim-ca.pem").StringVar(&opts.caFile)
	app.Flag("print-config", "Print a pop_exporter config for the scenario and the listen addresses, then exit.").BoolVar(&opts.printConfig)
	app.Flag("print-config.interval", "Probe interval in the printed or written exporter config.").Default("5s").DurationVar(&opts.configInterval)
	app.Flag("print-config.host", "Host in the URLs of the exporter config instead of the listen host (e.g. a compose service name); also put in the certificate.").StringVar(&opts.configHost)
	app.Flag("print-config.vantage", "Print or write the config of this scenario vantage: its name, location and source address.").StringVar(&opts.configVantage)
	app.Flag("config.out", "Once listening, write the pop_exporter config (with the bound addresses) to this file; with {vantage} in the path, one file per scenario vantage.").StringVar(&opts.configOut)
	app.Flag("dns.listen-port", "Port of the DNS server on every address of the scenario's dns.resolvers (0 picks one free on all of them).").Default("8053").IntVar(&opts.dnsPort)
	app.Flag("targets.generate", "Add N synthetic targets cycling through the CDN formats (load tests).").Default("0").IntVar(&opts.generate)
	logCfg := &promslog.Config{}
	promslogflag.AddFlags(app, logCfg)
	kingpin.MustParse(app.Parse(os.Args[1:]))
	logger := promslog.New(logCfg)

	if err := run(opts, logger, os.Stdout); err != nil {
		logger.Error("cdnsim failed", "err", err)
		os.Exit(1)
	}
}

// loadScenario reads the scenario file (or the embedded default) and adds generated targets.
func loadScenario(opts options) (*Scenario, error) {
	name, data := "<embedded default scenario>", defaultScenario
	if opts.scenarioFile != "" {
		var err error
		name = opts.scenarioFile
		if data, err = os.ReadFile(opts.scenarioFile); err != nil {
			return nil, fmt.Errorf("reading scenario: %w", err)
		}
	}
	sc, err := ParseScenario(name, data)
	if err != nil {
		return nil, err
	}
	if opts.generate < 0 {
		return nil, fmt.Errorf("--targets.generate must not be negative")
	}
	if err := sc.addGenerated(opts.generate); err != nil {
		return nil, err
	}
	return sc, nil
}

// run is main without the flag parsing and process exit, so tests can drive it.
func run(opts options, logger *slog.Logger, stdout io.Writer) error {
	sc, err := loadScenario(opts)
	if err != nil {
		return err
	}
	if opts.configInterval < 10*time.Millisecond {
		return fmt.Errorf("--print-config.interval must be at least 10ms")
	}
	caFile, err := filepath.Abs(opts.caFile)
	if err != nil {
		return fmt.Errorf("resolving --tls.ca-file: %w", err)
	}

	if opts.printConfig {
		for _, a := range []string{opts.httpAddr, opts.httpsAddr} {
			if _, port, err := net.SplitHostPort(a); err == nil && port == "0" {
				return fmt.Errorf("--print-config cannot know the port picked for %s: use --config.out", a)
			}
		}
		if sc.DNS != nil && opts.dnsPort == 0 {
			return fmt.Errorf("--print-config cannot know the port picked for --dns.listen-port=0: use --config.out")
		}
		v, err := vantageIndex(sc, opts.configVantage)
		if err != nil {
			return err
		}
		ep := endpoints{httpAddr: opts.httpAddr, httpsAddr: opts.httpsAddr, caFile: caFile, dnsPort: opts.dnsPort}
		out, err := buildExporterConfig(sc, ep.withHost(opts.configHost), opts.configInterval, v)
		if err != nil {
			return err
		}
		_, err = stdout.Write(out)
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serveScenario(ctx, sc, opts, caFile, logger)
}

// vantagePlaceholder in --config.out stands for each vantage's name: one config per vantage.
const vantagePlaceholder = "{vantage}"

// configOutput is one exporter config to write once listening: for which vantage (an index of
// the scenario's vantages, -1 for none), to which file.
type configOutput struct {
	vantage int
	file    string
}

// configOutputs lists the configs --config.out asks for: one per scenario vantage when the path
// holds the placeholder, else one for --print-config.vantage (or for no vantage).
func configOutputs(sc *Scenario, path, vantage string) ([]configOutput, error) {
	if path == "" {
		return nil, nil
	}
	if !strings.Contains(path, vantagePlaceholder) {
		v, err := vantageIndex(sc, vantage)
		if err != nil {
			return nil, err
		}
		return []configOutput{{vantage: v, file: path}}, nil
	}
	if vantage != "" {
		return nil, fmt.Errorf("--print-config.vantage picks one vantage, %s in --config.out asks for all", vantagePlaceholder)
	}
	if len(sc.Vantages) == 0 {
		return nil, fmt.Errorf("--config.out has %s but the scenario defines no vantages", vantagePlaceholder)
	}
	var out []configOutput
	for i, v := range sc.Vantages {
		out = append(out, configOutput{vantage: i, file: strings.ReplaceAll(path, vantagePlaceholder, v.Name)})
	}
	return out, nil
}

// vantageIndex finds a scenario vantage by name; "" is no vantage (-1).
func vantageIndex(sc *Scenario, name string) (int, error) {
	if name == "" {
		return -1, nil
	}
	var names []string
	for i, v := range sc.Vantages {
		if v.Name == name {
			return i, nil
		}
		names = append(names, v.Name)
	}
	if len(names) == 0 {
		return -1, fmt.Errorf("--print-config.vantage %q: the scenario defines no vantages", name)
	}
	return -1, fmt.Errorf("--print-config.vantage %q is not a vantage of the scenario (%s)", name, strings.Join(names, ", "))
}

// serveScenario binds the listeners, announces them, and serves until ctx is done.
func serveScenario(ctx context.Context, sc *Scenario, opts options, caFile string, logger *slog.Logger) error {
	outputs, err := configOutputs(sc, opts.configOut, opts.configVantage)
	if err != nil {
		return err
	}
	rs, err := startServers(sc, opts, caFile, logger)
	if err != nil {
		return err
	}
	// One parseable line with the bound addresses: tests and scripts wait for it.
	attrs := []any{"http", rs.ep.httpAddr, "https", rs.ep.httpsAddr, "ca_file", caFile,
		"targets", len(sc.Targets), "seed", opts.seed}
	if sc.DNS != nil {
		attrs = append(attrs, "dns", strings.Join(rs.dnsAddrs, ","), "regions", strings.Join(rs.regionAddrs, ","))
	}
	logger.Info("listening", attrs...)
	for _, o := range outputs {
		out, err := buildExporterConfig(sc, rs.ep.withHost(opts.configHost), opts.configInterval, o.vantage)
		if err == nil {
			err = writeFileAtomic(o.file, out)
		}
		if err != nil {
			rs.shutdown()
			return err
		}
		logger.Info("wrote exporter config", "file", o.file)
	}
	<-ctx.Done()
	logger.Info("shutting down")
	rs.shutdown()
	return nil
}

// running is a simulator with its listeners bound and serving.
type running struct {
	sim         *simulator
	ep          endpoints
	servers     []*http.Server
	dnsServers  []*dns.Server
	dnsAddrs    []string // host:port of each DNS resolver address, in scenario order
	regionAddrs []string // host:port of the HTTP and HTTPS listeners on the region addresses
	h3          []*http3Listener
}

// bindAttempts bounds the retries of a set of listeners sharing a kernel-picked port.
const bindAttempts = 5

// bindSamePort runs bind(i, port) for i = 0..n-1, the first with port and the rest with the
// port the first got, so that a set of addresses shares one port. When port is 0 and a later
// bind fails (the kernel's pick for the first address is taken on another), undo releases
// what was bound and the whole set is tried again.
func bindSamePort(port, n int, bind func(i, port int) (int, error), undo func()) (int, error) {
	var err error
	for attempt := 1; ; attempt++ {
		err = nil
		p := port
		for i := 0; i < n && err == nil; i++ {
			var got int
			if got, err = bind(i, p); i == 0 {
				p = got
			}
		}
		if err == nil {
			return p, nil
		}
		undo()
		if port != 0 {
			return 0, err
		}
		if attempt == bindAttempts {
			return 0, fmt.Errorf("no port free on all %d addresses in %d attempts, the last: %w", n, bindAttempts, err)
		}
	}
}

// listenTCPSet binds addr and, with the same port, every extra address the first listener
// does not already cover (a wildcard host covers them all).
func listenTCPSet(addr string, extra []netip.Addr) ([]net.Listener, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	port, err := net.LookupPort("tcp", portStr) // a number, or a service name such as http
	if err != nil {
		return nil, err
	}
	hosts := []string{host}
	mainAddr, perr := netip.ParseAddr(host)
	if host != "" && (perr != nil || !mainAddr.IsUnspecified()) {
		for _, a := range extra {
			if a != mainAddr.Unmap() {
				hosts = append(hosts, a.String())
			}
		}
	}
	var lns []net.Listener
	undo := func() {
		for _, ln := range lns {
			ln.Close()
		}
		lns = nil
	}
	_, err = bindSamePort(port, len(hosts), func(i, p int) (int, error) {
		ln, err := net.Listen("tcp", net.JoinHostPort(hosts[i], strconv.Itoa(p)))
		if err != nil {
			return 0, err
		}
		lns = append(lns, ln)
		return ln.Addr().(*net.TCPAddr).Port, nil
	}, undo)
	return lns, err
}

// startServers binds the listeners (writing the CA file for HTTPS) and starts serving. With a
// dns section, HTTP and HTTPS are served on every region address too, with the main
// listeners' ports, and DNS on every resolver address (UDP and TCP) with one port.
func startServers(sc *Scenario, opts options, caFile string, logger *slog.Logger) (*running, error) {
	if opts.httpAddr == "" && opts.httpsAddr == "" {
		return nil, fmt.Errorf("both listeners are disabled")
	}
	rs := &running{sim: newSimulator(sc, opts.seed, time.Now, logger), ep: endpoints{caFile: caFile}}
	var regions []netip.Addr
	if sc.DNS != nil {
		for _, code := range sc.DNS.regionCodes {
			regions = append(regions, sc.DNS.regionAddr[code])
		}
	}
	type serving struct {
		srv *http.Server
		ln  net.Listener
	}
	var all []serving
	fail := func(err error) (*running, error) {
		for _, s := range all {
			s.ln.Close()
		}
		for _, l := range rs.h3 {
			l.close()
		}
		closeDNS(rs.dnsServers)
		return nil, err
	}
	// bound records the listeners of one scheme; the first is the main one.
	bound := func(srv *http.Server, lns []net.Listener, wrap func(net.Listener) net.Listener) string {
		rs.servers = append(rs.servers, srv)
		for i, ln := range lns {
			if i > 0 {
				rs.regionAddrs = append(rs.regionAddrs, ln.Addr().String())
			}
			all = append(all, serving{srv, wrap(ln)})
		}
		return lns[0].Addr().String()
	}
	if opts.httpAddr != "" {
		lns, err := listenTCPSet(opts.httpAddr, regions)
		if err != nil {
			return fail(fmt.Errorf("listening for HTTP: %w", err))
		}
		rs.ep.httpAddr = bound(newHTTPServer(rs.sim, nil, logger), lns, func(ln net.Listener) net.Listener { return ln })
	}
	if opts.httpsAddr != "" {
		host, _, _ := net.SplitHostPort(opts.httpsAddr)
		hosts := []string{host, opts.configHost}
		if sc.DNS != nil {
			hosts = append(hosts, certNames(sc)...)
		}
		ca, err := newCertAuthority(time.Now(), hosts...)
		if err == nil {
			err = ca.writeCAFile(caFile)
		}
		if err == nil {
			err = rs.sim.issueTargetCerts(ca)
		}
		if err != nil {
			return fail(err)
		}
		lns, err := listenTCPSet(opts.httpsAddr, regions)
		if err != nil {
			return fail(fmt.Errorf("listening for HTTPS: %w", err))
		}
		srv := newHTTPServer(rs.sim, edgeTLSConfig(ca.tlsConfig(rs.sim.getCertificate), sc.Vantages), logger)
		rs.ep.httpsAddr = bound(srv, lns, func(ln net.Listener) net.Listener { return tls.NewListener(ln, srv.TLSConfig) })
		if opts.http3 {
			for _, ln := range lns {
				l, err := listenHTTP3(ln.Addr().String(), rs.sim, ca.tlsConfig(rs.sim.getCertificate), sc.Vantages, logger)
				if err != nil {
					return fail(fmt.Errorf("listening for HTTP/3: %w", err))
				}
				rs.h3 = append(rs.h3, l)
			}
			rs.sim.http3 = true
		}
	}
	if sc.DNS != nil {
		port, err := rs.bindDNS(sc, opts.dnsPort, logger)
		if err != nil {
			return fail(fmt.Errorf("listening for DNS: %w", err))
		}
		rs.ep.dnsPort = port
		rs.sim.dnsPort = port
		for _, r := range sc.DNS.Resolvers {
			rs.dnsAddrs = append(rs.dnsAddrs, netip.AddrPortFrom(r.addr, uint16(port)).String())
		}
	}
	for _, s := range all {
		go serve(s.srv, s.ln, logger)
	}
	for i, srv := range rs.dnsServers {
		if err := startDNS(srv); err != nil {
			unstarted := rs.dnsServers[i:]
			rs.dnsServers = rs.dnsServers[:i]
			rs.shutdown()
			closeDNS(unstarted)
			return nil, fmt.Errorf("serving DNS: %w", err)
		}
	}
	return rs, nil
}

// bindDNS binds UDP and TCP on every resolver address with one port (port, or one the kernel
// picks for all of them when 0) and prepares a server for each; they start in startServers.
func (rs *running) bindDNS(sc *Scenario, port int, logger *slog.Logger) (int, error) {
	d := newDNSServer(sc, logger)
	resolvers := sc.DNS.Resolvers
	undo := func() {
		closeDNS(rs.dnsServers)
		rs.dnsServers = nil
	}
	return bindSamePort(port, 2*len(resolvers), func(i, p int) (int, error) {
		r := resolvers[i/2]
		addr := netip.AddrPortFrom(r.addr, uint16(p)).String()
		h := d.handler(i / 2)
		if i%2 == 0 {
			pc, err := net.ListenPacket("udp", addr)
			if err != nil {
				return 0, err
			}
			rs.dnsServers = append(rs.dnsServers, &dns.Server{PacketConn: pc, Handler: h})
			return pc.LocalAddr().(*net.UDPAddr).Port, nil
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return 0, err
		}
		rs.dnsServers = append(rs.dnsServers, &dns.Server{Listener: ln, Handler: h})
		return ln.Addr().(*net.TCPAddr).Port, nil
	}, undo)
}

// closeDNS releases the sockets of DNS servers that were bound but never started.
func closeDNS(servers []*dns.Server) {
	for _, srv := range servers {
		if srv.PacketConn != nil {
			srv.PacketConn.Close()
		} else {
			srv.Listener.Close()
		}
	}
}

// shutdown releases held requests, then stops the servers gracefully (5 s at most).
func (rs *running) shutdown() {
	rs.sim.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range rs.servers {
		if err := srv.Shutdown(ctx); err != nil {
			srv.Close()
		}
	}
	for _, srv := range rs.dnsServers {
		srv.ShutdownContext(ctx)
	}
	for _, l := range rs.h3 {
		l.close()
	}
}
