// Package shard splits a target list across the replicas of one vantage: replica INDEX of
// TOTAL probes exactly the targets whose name it wins by rendezvous (highest-random-weight)
// hashing. Every replica computes the same answer from the name alone, so replicas need no
// coordination; and when TOTAL grows by one, only the targets the new replica wins move (about
// 1/(TOTAL+1) of them), every other target stays where it was.
//
// The weight function is part of the exporter's behaviour across versions: replicas of
// different versions during a rolling update must agree on owners, so TestOwnerStable pins it.
//
// It is a leaf: it imports no package of this project, so that the collector (which filters
// targets) and cmd/pop_exporter (which parses --shard) can both use it.
package shard

import (
	"fmt"
	"hash/fnv"
	"regexp"
	"strconv"
	"strings"
)

// MaxTotal bounds the number of replicas: finding an owner costs one hash per replica.
const MaxTotal = 1000

// Shard is one replica's place in a fleet: Index from 0 to Total-1. The zero value, like
// {0, 1}, is a single replica that owns every target.
type Shard struct {
	Index, Total int
}

// All is the single replica of an unsharded exporter.
var All = Shard{Index: 0, Total: 1}

var syntax = regexp.MustCompile(`^(-?[0-9]+)/(-?[0-9]+)$`)

// Parse reads INDEX/TOTAL, such as 0/3, and refuses a shard that cannot exist.
func Parse(s string) (Shard, error) {
	m := syntax.FindStringSubmatch(s)
	if m == nil {
		if len(s) > 0 && s[0] == '/' {
			// What a Kubernetes $(VAR) reference leaves when the variable is empty.
			return Shard{}, fmt.Errorf("shard %q: INDEX is empty (in a StatefulSet it comes from the pod label apps.kubernetes.io/pod-index, which Kubernetes sets from 1.28)", s)
		}
		return Shard{}, fmt.Errorf("shard %q: want INDEX/TOTAL, two integers such as 0/3", s)
	}
	for _, n := range m[1:] {
		if digits := strings.TrimPrefix(n, "-"); len(digits) > 1 && digits[0] == '0' {
			// 00/2 would be the same replica as 0/2 under another name: the flag is written
			// as the shard_info labels and the logs show it.
			return Shard{}, fmt.Errorf("shard %q: INDEX and TOTAL are written without leading zeros (%s)", s, strconv.Itoa(atoi(m[1]))+"/"+strconv.Itoa(atoi(m[2])))
		}
	}
	index, err1 := strconv.Atoi(m[1])
	total, err2 := strconv.Atoi(m[2])
	switch {
	case err1 != nil || err2 != nil:
		return Shard{}, fmt.Errorf("shard %q: INDEX and TOTAL must be small integers", s)
	case total < 1 || total > MaxTotal:
		return Shard{}, fmt.Errorf("shard %q: TOTAL must be from 1 to %d replicas", s, MaxTotal)
	case total == 1 && index != 0:
		return Shard{}, fmt.Errorf("shard %q: INDEX must be 0, the only replica of 1", s)
	case index < 0 || index >= total:
		return Shard{}, fmt.Errorf("shard %q: INDEX must be from 0 to %d (counted from 0: the %d replicas are 0/%d to %d/%d)",
			s, total-1, total, total, total-1, total)
	}
	return Shard{Index: index, Total: total}, nil
}

// String returns INDEX/TOTAL.
func (s Shard) String() string {
	if s.Total == 0 {
		s = All
	}
	return strconv.Itoa(s.Index) + "/" + strconv.Itoa(s.Total)
}

// Set parses INDEX/TOTAL into s, so that a *Shard is a command-line flag value.
func (s *Shard) Set(v string) error {
	p, err := Parse(v)
	if err != nil {
		return err
	}
	*s = p
	return nil
}

// Owns says whether this replica probes the target called name.
func (s Shard) Owns(name string) bool {
	if s.Total <= 1 {
		return true
	}
	return Owner(name, s.Total) == s.Index
}

// Owner returns the index, from 0 to total-1, of the replica that probes the target called
// name: the one whose weight for the name is highest (ties, which need a 64-bit collision, go
// to the lower index).
func Owner(name string, total int) int {
	h := fnv.New64a()
	h.Write([]byte(name))
	key := h.Sum64()
	best, bestWeight := 0, uint64(0)
	for i := range total {
		if w := weight(key, i); i == 0 || w > bestWeight {
			best, bestWeight = i, w
		}
	}
	return best
}

// weight mixes the name's hash with the replica index through the SplitMix64 finaliser, so the
// weights of one name for different replicas look unrelated, and so do those of names that
// differ in one character (www1, www2), whose FNV hashes differ in few bits.
func weight(key uint64, index int) uint64 {
	x := key ^ mix(uint64(index)+0x9e3779b97f4a7c15)
	return mix(x)
}

func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// atoi is strconv.Atoi for digits syntax matched, 0 when out of range.
func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
