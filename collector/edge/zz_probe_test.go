package edge

import (
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"
)

func threadCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(1, &ru) // RUSAGE_THREAD
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestZZCPUPerOp(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	mix := benchmarkMix()
	id := NewIdentifier(nil)
	const n = 300000
	for i := range 10000 {
		_ = id.Identify(mix[i%len(mix)])
	}
	start, wall := threadCPU(), time.Now()
	for i := range n {
		_ = id.Identify(mix[i%len(mix)])
	}
	cpu := threadCPU() - start
	fmt.Printf("mix: cpu %v/op wall %v/op\n", cpu/n, time.Since(wall)/n)
	for i, r := range mix {
		start := threadCPU()
		for range 20000 {
			_ = id.Identify(r)
		}
		fmt.Printf("%02d %-10s cpu %v/op\n", i, id.Identify(r).CDN, (threadCPU()-start)/20000)
	}
}

func BenchmarkProbeEach(b *testing.B) {
	for i, r := range benchmarkMix() {
		res := NewIdentifier(nil).Identify(r)
		b.Run(fmt.Sprintf("%02d-%s", i, res.CDN), func(b *testing.B) {
			for b.Loop() {
				_ = identifyBuiltin(r)
			}
		})
	}
}
