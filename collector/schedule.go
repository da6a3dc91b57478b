package collector

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// The schedule is one goroutine with a heap of the runners' next due times, and a fixed pool
// of workers (MaxConcurrency of them) that run the probes. A goroutine and a timer per probe
// would cost a stack each, grown to what a TLS exchange needs and kept between probes: with
// 10,000 targets that was most of the exporter's memory, and every due probe woke its own
// goroutine. Here the stacks are the workers' only, and one timer wakes the scheduler for
// every probe due at once.

// The idle workers wait on a stack, and a due runner goes to the one that went idle last. A
// worker's stack grows to what a TLS handshake needs (ML-KEM key generation alone wants tens
// of kilobytes), and the garbage collector shrinks the stack of every goroutine that waits
// with little of it in use. Handed out in turn, as a channel's waiting receivers are, the
// work reached each of 256 workers once every few seconds, after a collection had shrunk its
// stack: every probe grew its stack again, and copying stacks took 7.5% of the CPU of HTTPS
// probes (make loadtest PROTOCOL=http1.1 PROFILE=dir: runtime.newstack under
// net.SplitHostPort and mlkem.kemKeyGen). Taken last-in first-out, the few workers that a
// probe rate keeps busy run probe after probe on stacks that are already grown.

// dispatchTick is how often, at most, the scheduler wakes to start probes: every probe due
// since the last tick starts at the next one, together (at most this late, which the
// schedule-delay histogram shows). A wake-up per probe (333 a second at 10,000 targets every
// 30 s) woke an idle processor for each, and the runtime's handing of the worker to another
// one cost more CPU than the probe's own user-space work: with 10,000 targets at 30 s
// (make loadtest), 0.55–0.60 ms of CPU per probe without the tick and 0.47 ms with it. Probes
// started in the same tick run side by side, as they would with a few more targets; the
// tick is short next to the TTFB of a PoP next door.
const dispatchTick = 10 * time.Millisecond

// schedule dispatches due runners to the workers. Its lock guards the heap and each runner's
// next and stopped fields.
type schedule struct {
	mu   sync.Mutex
	base time.Time // due times are kept as nanoseconds since base (monotonic)
	due  dueHeap
	wake chan struct{}  // a runner was added: the earliest due time may have changed
	done sync.WaitGroup // the scheduler

	// The hand-over to the workers, under its own lock: idle workers' channels (the last one
	// to go idle on top), due runners no worker was free for (oldest first), and whether the
	// workers are being stopped.
	workMu  sync.Mutex
	idle    []chan *runner
	queue   []*runner
	closing bool
}

// newSchedule makes an empty schedule.
func newSchedule() *schedule {
	return &schedule{base: time.Now(), wake: make(chan struct{}, 1)}
}

// dispatch hands r to the worker that went idle last, or queues it until a worker is free.
func (s *schedule) dispatch(r *runner) {
	s.workMu.Lock()
	if s.closing {
		s.workMu.Unlock()
		return
	}
	if n := len(s.idle); n > 0 {
		c := s.idle[n-1]
		s.idle[n-1] = nil
		s.idle = s.idle[:n-1]
		s.workMu.Unlock()
		c <- r // the channel holds one runner and c's worker waits for just one
		return
	}
	s.queue = append(s.queue, r)
	s.workMu.Unlock()
}

// next is a worker's next runner: the oldest queued one, or else the one handed to c after
// the worker goes idle. ok is false once the workers are stopped.
func (s *schedule) next(c chan *runner) (r *runner, ok bool) {
	s.workMu.Lock()
	if s.closing {
		s.workMu.Unlock()
		return nil, false
	}
	if len(s.queue) > 0 {
		r = s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		s.workMu.Unlock()
		return r, true
	}
	s.idle = append(s.idle, c)
	s.workMu.Unlock()
	r, ok = <-c
	return r, ok
}

// stopWorkers makes every worker's next call end: idle ones at once, busy ones after their
// probe. Queued runners are dropped; the caller has cancelled their probes anyway.
func (s *schedule) stopWorkers() {
	s.workMu.Lock()
	defer s.workMu.Unlock()
	s.closing = true
	for _, c := range s.idle {
		close(c)
	}
	s.idle, s.queue = nil, nil
}

// add schedules a new runner at a random offset within its first interval, so that probes
// configured together spread out instead of running in bursts.
func (s *schedule) add(r *runner) {
	s.mu.Lock()
	r.next = time.Now().Add(rand.N(r.interval))
	s.due.push(dueEntry{int64(r.next.Sub(s.base)), r})
	s.mu.Unlock()
	s.poke()
}

func (s *schedule) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// remove takes r off the schedule for good: it is not scheduled again, and a probe of it that
// is queued or running is not put back (the caller waits for a running one, see
// Manager.stopRunners). Its entry in the heap, if any, is dropped when it comes due.
func (s *schedule) remove(r *runner) {
	s.mu.Lock()
	r.stopped = true
	s.mu.Unlock()
}

// requeue puts r back on the schedule after a probe, at its next due time after now; due
// times that already passed are skipped and returned as missed, so that a probe slower than
// its interval neither overlaps itself nor runs back to back to catch up.
func (s *schedule) requeue(r *runner, now time.Time) (missed int64) {
	s.mu.Lock()
	r.next = r.next.Add(r.interval)
	if !r.next.After(now) {
		n := now.Sub(r.next)/r.interval + 1
		r.next = r.next.Add(n * r.interval)
		missed = int64(n)
	}
	first := false
	if !r.stopped {
		first = s.due.push(dueEntry{int64(r.next.Sub(s.base)), r}) == 0
	}
	s.mu.Unlock()
	if first { // due before everything else: the scheduler may be sleeping past it
		s.poke()
	}
	return missed
}

// run hands due runners to the workers until ctx ends. A runner is off the heap from the
// moment it is due until its probe has ended, so no probe overlaps itself.
func (s *schedule) run(ctx context.Context) {
	defer s.done.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var ready []*runner
	for {
		s.mu.Lock()
		now := int64(time.Since(s.base))
		for len(s.due) > 0 && s.due[0].at <= now {
			if e := s.due.pop(); !e.r.stopped {
				ready = append(ready, e.r)
			}
		}
		wait := time.Hour
		if len(s.due) > 0 {
			// Sleep until the first tick at or after the earliest due time (see dispatchTick).
			tick := int64(dispatchTick)
			wait = time.Duration((s.due[0].at+tick-1)/tick*tick - now)
		}
		s.mu.Unlock()

		for _, r := range ready {
			s.dispatch(r)
		}
		if len(ready) > 0 { // handing them out took time: look at the heap again before sleeping
			clear(ready)
			ready = ready[:0]
			continue
		}

		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-s.wake:
		case <-ctx.Done():
			return
		}
	}
}

// dueEntry is a runner and its next due time, in nanoseconds since schedule.base. The heap
// compares the entries' own copies of the due times: ordering it touches no runner.
type dueEntry struct {
	at int64
	r  *runner
}

// dueHeap is a binary min-heap of entries by due time.
type dueHeap []dueEntry

// push adds e and returns the index it settled at (0: it is the earliest).
func (h *dueHeap) push(e dueEntry) int {
	*h = append(*h, e)
	q := *h
	i := len(q) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if q[parent].at <= e.at {
			break
		}
		q[i] = q[parent]
		i = parent
	}
	q[i] = e
	return i
}

// pop removes and returns the earliest entry; the heap must not be empty.
func (h *dueHeap) pop() dueEntry {
	q := *h
	top := q[0]
	n := len(q) - 1
	last := q[n]
	q[n] = dueEntry{}
	q = q[:n]
	*h = q
	if n == 0 {
		return top
	}
	i := 0
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && q[c+1].at < q[c].at {
			c++
		}
		if last.at <= q[c].at {
			break
		}
		q[i] = q[c]
		i = c
	}
	q[i] = last
	return top
}
