package prober

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/popexporter/pop_exporter/collector/internal/testhelp"
)

// writeCounter is the client's TCP connection, counting the writes that reach the socket.
type writeCounter struct {
	net.Conn
	mu     sync.Mutex
	writes int
}

func (c *writeCounter) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes++
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *writeCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes
}

// The client's last handshake flight goes out with the request when nothing answers it (TLS
// 1.3's Finished), and at once when the client waits for an answer (TLS 1.2's Finished, a
// second ClientHello after a HelloRetryRequest): the exchange completes in each case, with
// one write to the socket fewer than the handshake and the request would take apart over TLS
// 1.3. A handshake the client refuses still tells the server why.
func TestCorkedHandshakeFlights(t *testing.T) {
	for _, tc := range []struct {
		name   string
		server *tls.Config
		writes int // ClientHello(s), then flights, the request last
	}{
		{"TLS 1.3: Finished with the request", &tls.Config{MinVersion: tls.VersionTLS13}, 2},
		{"TLS 1.2: Finished before the server's", &tls.Config{MaxVersion: tls.VersionTLS12}, 3},
		// The probe offers X25519MLKEM768 and X25519 key shares: a server that only takes P-256
		// asks for another ClientHello.
		{"HelloRetryRequest", &tls.Config{MinVersion: tls.VersionTLS13, CurvePreferences: []tls.CurveID{tls.CurveP256}}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "served over "+r.Proto)
			}))
			srv.TLS = tc.server
			srv.StartTLS()
			defer srv.Close()
			pool := x509.NewCertPool()
			pool.AddCert(srv.Certificate())
			s, ctx, rq := corkSpec(t, srv, pool)

			raw, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			conn := &writeCounter{Conn: raw}
			var res Result
			tconn, ck, err := s.handshakeTLS(ctx, conn, rq, "127.0.0.1", &res)
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			defer tconn.Close()
			if _, err := io.WriteString(tconn, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			if err := ck.uncork(); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(tconn), nil)
			if err != nil {
				t.Fatalf("reading the response: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			if string(body) != "served over HTTP/1.1" {
				t.Errorf("body %q", body)
			}
			if got := conn.count(); got != tc.writes {
				t.Errorf("%d writes to the socket up to the request, want %d", got, tc.writes)
			}
		})
	}

	t.Run("refused certificate", func(t *testing.T) {
		var logged bytes.Buffer
		var mu sync.Mutex
		srv := httptest.NewUnstartedServer(http.NotFoundHandler())
		srv.Config.ErrorLog = log.New(writerFunc(func(p []byte) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			return logged.Write(p)
		}), "", 0)
		srv.StartTLS()
		defer srv.Close()
		// The client trusts another CA, not the one of this server's certificate.
		other := newTestChain(t, time.Now().Add(time.Hour), time.Now().Add(time.Hour), 2)
		s, ctx, rq := corkSpec(t, srv, other.pool)
		raw, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		var res Result
		if _, _, err := s.handshakeTLS(ctx, raw, rq, "127.0.0.1", &res); err == nil {
			t.Fatal("handshake with an untrusted certificate succeeded")
		}
		raw.Close() // as a failed probe closes its connection: the socket, not the TLS on it
		deadline := time.Now().Add(5 * time.Second)
		for {
			mu.Lock()
			text := logged.String()
			mu.Unlock()
			if strings.Contains(text, "bad certificate") || strings.Contains(text, "unknown certificate authority") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the server never heard why the client refused its certificate; it logged %q", text)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// corkSpec is a probe of srv's root that trusts roots.
func corkSpec(t *testing.T, srv *httptest.Server, roots *x509.CertPool) (*Spec, context.Context, request) {
	t.Helper()
	target := testhelp.Target(t, "cork", srv.URL+"/")
	c := testhelp.Compiled(target)
	c.RootCAs = roots
	s := testSpecCompiled(t, target, c)
	u, err := url.Parse(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return s, ctx, request{url: u, method: http.MethodGet, own: true}
}
