package prober

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/popexporter/pop_exporter/collector/internal/testhelp"
)

// BenchmarkRun is the cost of one probe around the HTTP exchange: a fresh connection to a
// loopback edge that answers as Cloudflare, headers identified, body read. Profile it with
//
//	go test -run XXX -bench 'Run$' -benchmem -cpuprofile cpu.out ./collector/prober/
func BenchmarkRun(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Server", "cloudflare")
		w.Header().Set("CF-RAY", "9da906681ad80c13-AMS")
		w.Header().Set("CF-Cache-Status", "HIT")
		w.Header().Set("Age", "12")
		io.WriteString(w, "ok\n")
	}))
	defer srv.Close()
	s := testSpec(b, testhelp.Target(b, "bench", srv.URL+"/"))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if res := s.Run(ctx); !res.Success {
			b.Fatalf("probe failed: %s %v", res.FailureReason, res.Err)
		}
	}
}
