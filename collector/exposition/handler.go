package exposition

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// HandlerOpts configure a Handler.
type HandlerOpts struct {
	Logger log.Logger // nil logs nothing
	// MaxRequestsInFlight bounds the scrapes served at once; more are answered 503 at once,
	// without rendering anything. <= 0 means no bound.
	MaxRequestsInFlight int
}

// Handler serves /metrics: the families of reg (the exporter's own, Go and process metrics,
// build info) and those of st. It negotiates the format like promhttp: the text format and
// OpenMetrics are written by the store directly (fast even with thousands of targets); the
// protobuf format, which carries native histograms, goes through Gather. Neither holds the
// store's lock while writing to the client.
func Handler(reg prometheus.Gatherer, st *Store, opts HandlerOpts) http.Handler {
	logger := opts.Logger
	if logger == nil {
		logger = log.NewNopLogger()
	}
	h := serve(reg, st, logger)
	if opts.MaxRequestsInFlight <= 0 {
		return h
	}
	// Each scrape in flight holds a snapshot of every series and costs CPU that the probes
	// share; a client that stops reading holds its slot until the server's write timeout.
	inFlight := make(chan struct{}, opts.MaxRequestsInFlight)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case inFlight <- struct{}{}:
			defer func() { <-inFlight }()
			h.ServeHTTP(w, r)
		default:
			level.Debug(logger).Log("msg", "scrape refused: too many in flight", "limit", opts.MaxRequestsInFlight, "remote", r.RemoteAddr)
			w.Header().Set("Retry-After", "1")
			http.Error(w, fmt.Sprintf("Too many concurrent scrapes (limit %d); try again.", opts.MaxRequestsInFlight),
				http.StatusServiceUnavailable)
		}
	})
}

func serve(reg prometheus.Gatherer, st *Store, logger log.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		format := expfmt.NegotiateAccept(r.Header, expfmt.DefaultOpenMetricsAcceptedFormats()...)
		ft := format.FormatType()
		fast := ft == expfmt.TypeTextPlain || ft == expfmt.TypeOpenMetrics
		mfs, err := reg.Gather()
		if err == nil && !fast {
			var probeFamilies []*dto.MetricFamily
			probeFamilies, err = st.Gather()
			mfs = append(mfs, probeFamilies...)
		}
		if err != nil {
			level.Error(logger).Log("msg", "gathering metrics", "err", err)
			http.Error(w, "error gathering metrics: "+err.Error(), http.StatusInternalServerError)
			return
		}

		w.Header().Set("Content-Type", string(format))
		var out io.Writer = w
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			w.Header().Set("Content-Encoding", "gzip")
			gz := gzipWriters.Get().(*gzip.Writer)
			gz.Reset(w)
			defer func() {
				gz.Close()
				gz.Reset(io.Discard) // let go of the response
				gzipWriters.Put(gz)
			}()
			out = gz
		}
		bw := bufWriters.Get().(*bufio.Writer)
		bw.Reset(out)
		defer func() {
			bw.Flush()
			bw.Reset(io.Discard)
			bufWriters.Put(bw)
		}()
		enc := expfmt.NewEncoder(bw, format)
		for _, mf := range mfs {
			if err := enc.Encode(mf); err != nil {
				level.Error(logger).Log("msg", "encoding metrics", "err", err)
				return
			}
		}
		if fast {
			if err := st.Write(bw, ft == expfmt.TypeOpenMetrics); err != nil {
				level.Debug(logger).Log("msg", "writing metrics", "err", err)
				return
			}
		}
		if closer, ok := enc.(expfmt.Closer); ok {
			if err := closer.Close(); err != nil { // OpenMetrics' final "# EOF"
				level.Debug(logger).Log("msg", "closing metrics encoder", "err", err)
			}
		}
	})
}

// acceptsGzip reads an Accept-Encoding header: gzip, unless its quality is 0.
func acceptsGzip(acceptEncoding string) bool {
	for _, part := range strings.Split(acceptEncoding, ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			continue
		}
		q, found := strings.CutPrefix(strings.TrimSpace(params), "q=")
		if v, err := strconv.ParseFloat(q, 64); found && err == nil && v == 0 {
			return false
		}
		return true
	}
	return false
}

// A scrape's compressor (about a megabyte of window and tables) and output buffer are kept for
// the next scrape rather than made afresh for each.
var (
	gzipWriters = sync.Pool{New: func() any {
		// BestSpeed: a 10,000-target page is ~28 MB of text; default compression would take
		// longer than rendering it.
		gz, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
		return gz
	}}
	bufWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(io.Discard, 64<<10) }}
)
