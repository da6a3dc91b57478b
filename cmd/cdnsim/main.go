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
// anycast or DNS steering sends different networks to different PoPs. Time counts from
// cdnsim's start. Every draw comes from a generator seeded by
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
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
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
}

func main() {
	var opts options
	app := kingpin.New("cdnsim", "Simulated CDN edges on loopback for pop_exporter tests, demos and benchmarks.")
	app.HelpFlag.Short('h')
	app.Flag("scenario.file", "Scenario YAML file (default: the embedded default scenario).").StringVar(&opts.scenarioFile)
	app.Flag("seed", "Seed of every random draw; a run is reproducible for a seed and request sequence.").Default("1").Int64Var(&opts.seed)
	app.Flag("http.listen-address", "Address of the HTTP listener (empty disables it; port 0 picks a free port).").Default("127.0.0.1:8081").StringVar(&opts.httpAddr)
	app.Flag("https.listen-address", "Address of the HTTPS listener (empty disables it; port 0 picks a free port).").Default("127.0.0.1:8443").StringVar(&opts.httpsAddr)
	app.Flag("tls.ca-file", "Where to write the PEM of the generated CA the exporter must trust.").Default("./cdnsim-ca.pem").StringVar(&opts.caFile)
	app.Flag("print-config", "Print a pop_exporter config for the scenario and the listen addresses, then exit.").BoolVar(&opts.printConfig)
	app.Flag("print-config.interval", "Probe interval in the printed or written exporter config.").Default("5s").DurationVar(&opts.configInterval)
	app.Flag("print-config.host", "Host in the URLs of the exporter config instead of the listen host (e.g. a compose service name); also put in the certificate.").StringVar(&opts.configHost)
	app.Flag("print-config.vantage", "Print or write the config of this scenario vantage: its name, location and source address.").StringVar(&opts.configVantage)
	app.Flag("config.out", "Once listening, write the pop_exporter config (with the bound addresses) to this file; with {vantage} in the path, one file per scenario vantage.").StringVar(&opts.configOut)
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
		v, err := vantageIndex(sc, opts.configVantage)
		if err != nil {
			return err
		}
		ep := endpoints{httpAddr: opts.httpAddr, httpsAddr: opts.httpsAddr, caFile: caFile}
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
	logger.Info("listening", "http", rs.ep.httpAddr, "https", rs.ep.httpsAddr, "ca_file", caFile,
		"targets", len(sc.Targets), "seed", opts.seed)
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
	sim     *simulator
	ep      endpoints
	servers []*http.Server
}

// startServers binds the listeners (writing the CA file for HTTPS) and starts serving.
func startServers(sc *Scenario, opts options, caFile string, logger *slog.Logger) (*running, error) {
	if opts.httpAddr == "" && opts.httpsAddr == "" {
		return nil, fmt.Errorf("both listeners are disabled")
	}
	rs := &running{sim: newSimulator(sc, opts.seed, time.Now, logger), ep: endpoints{caFile: caFile}}
	var lns []net.Listener
	if opts.httpAddr != "" {
		ln, err := net.Listen("tcp", opts.httpAddr)
		if err != nil {
			return nil, fmt.Errorf("listening for HTTP: %w", err)
		}
		rs.ep.httpAddr = ln.Addr().String()
		rs.servers = append(rs.servers, newHTTPServer(rs.sim, nil, logger))
		lns = append(lns, ln)
	}
	if opts.httpsAddr != "" {
		host, _, _ := net.SplitHostPort(opts.httpsAddr)
		ca, err := newCertAuthority(time.Now(), host, opts.configHost)
		if err == nil {
			err = ca.writeCAFile(caFile)
		}
		var ln net.Listener
		if err == nil {
			ln, err = net.Listen("tcp", opts.httpsAddr)
			if err != nil {
				err = fmt.Errorf("listening for HTTPS: %w", err)
			}
		}
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, err
		}
		rs.ep.httpsAddr = ln.Addr().String()
		srv := newHTTPServer(rs.sim, ca.tlsConfig(), logger)
		rs.servers = append(rs.servers, srv)
		lns = append(lns, tls.NewListener(ln, srv.TLSConfig))
	}
	for i, srv := range rs.servers {
		go serve(srv, lns[i], logger)
	}
	return rs, nil
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
}
