package prober

import (
	"crypto/tls"
	"net/http/httptrace"
	"net/netip"
	"sync"
	"time"
)

// phaseTrace adds up request phases from httptrace hooks. Hooks of one request can run on
// different goroutines (the dialer's), hence the mutex.
type phaseTrace struct {
	mu                               sync.Mutex
	dnsStart, connectStart, tlsStart time.Time
	wroteRequest, firstByte          time.Time
	phases                           [NumPhases]time.Duration
	happened                         [NumPhases]bool
	remote                           netip.Addr // remote end of the latest connection used
}

func (p *phaseTrace) add(phase Phase, since time.Time) {
	if !since.IsZero() {
		p.phases[phase] += time.Since(since)
		p.happened[phase] = true
	}
}

func (p *phaseTrace) clientTrace() *httptrace.ClientTrace {
	lock := func(f func()) { p.mu.Lock(); f(); p.mu.Unlock() }
	return &httptrace.ClientTrace{
		DNSStart:          func(httptrace.DNSStartInfo) { lock(func() { p.dnsStart = time.Now() }) },
		DNSDone:           func(httptrace.DNSDoneInfo) { lock(func() { p.add(PhaseDNS, p.dnsStart) }) },
		ConnectStart:      func(string, string) { lock(func() { p.connectStart = time.Now() }) },
		ConnectDone:       func(string, string, error) { lock(func() { p.add(PhaseConnect, p.connectStart) }) },
		TLSHandshakeStart: func() { lock(func() { p.tlsStart = time.Now() }) },
		TLSHandshakeDone:  func(tls.ConnectionState, error) { lock(func() { p.add(PhaseTLS, p.tlsStart) }) },
		GotConn: func(info httptrace.GotConnInfo) {
			if info.Conn == nil {
				return
			}
			ap, err := netip.ParseAddrPort(info.Conn.RemoteAddr().String())
			lock(func() {
				if err == nil {
					p.remote = ap.Addr().Unmap()
				} else {
					p.remote = netip.Addr{}
				}
			})
		},
		WroteRequest: func(httptrace.WroteRequestInfo) { lock(func() { p.wroteRequest = time.Now() }) },
		GotFirstResponseByte: func() {
			lock(func() {
				p.add(PhaseProcessing, p.wroteRequest)
				p.firstByte = time.Now()
			})
		},
	}
}
