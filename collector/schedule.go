package collector

import (
	"container/heap"
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

// schedule dispatches due runners to the workers. Its lock guards the heap and each runner's
// next, index and stopped fields.
type schedule struct {
	mu   sync.Mutex
	due  runnerHeap
	wake chan struct{} // a runner was added: the earliest due time may have changed
	work chan *runner
	done sync.WaitGroup // the scheduler and the workers
}

// newSchedule makes a schedule for this many workers: as many due runners wait in the work
// queue without holding the scheduler up.
func newSchedule(workers int) *schedule {
	return &schedule{wake: make(chan struct{}, 1), work: make(chan *runner, workers)}
}

// add schedules a new runner at a random offset within its first interval, so that probes
// configured together spread out instead of running in bursts.
func (s *schedule) add(r *runner) {
	s.mu.Lock()
	r.next = time.Now().Add(rand.N(r.interval))
	heap.Push(&s.due, r)
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
// Manager.stopRunners).
func (s *schedule) remove(r *runner) {
	s.mu.Lock()
	r.stopped = true
	if r.index >= 0 {
		heap.Remove(&s.due, r.index)
	}
	s.mu.Unlock()
}

// requeue puts r back on the schedule after a probe, at its next due time after now; due
// times that already passed are skipped and returned as missed, so that a probe slower than
// its interval neither overlaps itself nor runs back to back to catch up.
func (s *schedule) requeue(r *runner, now time.Time) (missed int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() {
		if r.index == 0 { // due before everything else: the scheduler may be sleeping past it
			s.poke()
		}
	}()
	r.next = r.next.Add(r.interval)
	if !r.next.After(now) {
		n := now.Sub(r.next)/r.interval + 1
		r.next = r.next.Add(n * r.interval)
		missed = int64(n)
	}
	if !r.stopped {
		heap.Push(&s.due, r)
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
		now := time.Now()
		for len(s.due) > 0 && !s.due[0].next.After(now) {
			ready = append(ready, heap.Pop(&s.due).(*runner))
		}
		wait := time.Hour
		if len(s.due) > 0 {
			wait = s.due[0].next.Sub(now)
		}
		s.mu.Unlock()

		for _, r := range ready {
			select {
			case s.work <- r:
			case <-ctx.Done():
				return
			}
		}
		if len(ready) > 0 { // handing them out took time: look at the heap again before sleeping
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

// runnerHeap orders runners by next due time.
type runnerHeap []*runner

func (h runnerHeap) Len() int           { return len(h) }
func (h runnerHeap) Less(i, j int) bool { return h[i].next.Before(h[j].next) }
func (h runnerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *runnerHeap) Push(x any) {
	r := x.(*runner)
	r.index = len(*h)
	*h = append(*h, r)
}
func (h *runnerHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	r.index = -1
	return r
}
