package shard

import (
	"fmt"
	"strings"
	"testing"
)

// names are target names as users write them: similar, numbered.
func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("www-%d", i)
	}
	return out
}

// Every target is probed by exactly one replica, whatever the fleet size, and each replica
// gets about its share.
func TestEveryNameOwnedExactlyOnce(t *testing.T) {
	all := names(10_000)
	for total := 1; total <= 8; total++ {
		perShard := make([]int, total)
		for _, name := range all {
			owners := 0
			for i := range total {
				if (Shard{Index: i, Total: total}).Owns(name) {
					owners++
					perShard[i]++
				}
			}
			if owners != 1 {
				t.Fatalf("total %d: %q is owned by %d replicas, want exactly 1", total, name, owners)
			}
		}
		want := len(all) / total
		for i, got := range perShard {
			if got < want*85/100 || got > want*115/100 {
				t.Errorf("total %d: replica %d owns %d names, want %d ± 15%% (all: %v)", total, i, got, want, perShard)
			}
		}
	}
}

// Growing a fleet moves only the targets the new replica wins, about 1/(n+1) of them.
func TestGrowingMovesOnlyToNewReplica(t *testing.T) {
	all := names(10_000)
	for total := 1; total <= 7; total++ {
		moved := 0
		for _, name := range all {
			before, after := Owner(name, total), Owner(name, total+1)
			if before == after {
				continue
			}
			moved++
			if after != total {
				t.Fatalf("%d → %d replicas: %q moved from %d to %d, not to the new replica %d", total, total+1, name, before, after, total)
			}
		}
		share := float64(moved) / float64(len(all))
		if total == 3 && share > 0.30 {
			t.Errorf("3 → 4 replicas moved %.1f%% of the targets, want ≤ 30%% (ideal 25%%)", 100*share)
		}
		t.Logf("%d → %d replicas: %.1f%% moved (ideal %.1f%%)", total, total+1, 100*share, 100/float64(total+1))
	}
}

// The owner of a name must not change between versions: during a rolling update replicas of
// two versions run side by side, and a changed hash would probe some targets twice and some
// never.
func TestOwnerStable(t *testing.T) {
	for _, c := range []struct {
		name  string
		total int
		owner int
	}{
		{"cloudflare", 3, 1}, {"cloudfront", 3, 0}, {"fastly", 3, 1}, {"akamai", 3, 0},
		{"www-1", 8, 3}, {"www-2", 8, 4}, {"", 5, 2},
	} {
		if got := Owner(c.name, c.total); got != c.owner {
			t.Errorf("Owner(%q, %d) = %d, want %d", c.name, c.total, got, c.owner)
		}
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]Shard{"0/1": {0, 1}, "2/3": {2, 3}, "0/3": {0, 3}, "999/1000": {999, 1000}} {
		got, err := Parse(in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %v, %v; want %v", in, got, err, want)
		}
		if got.String() != in {
			t.Errorf("Parse(%q).String() = %q", in, got.String())
		}
	}
	for in, msg := range map[string]string{
		"0/0":                    "TOTAL must be from 1 to 1000",
		"1/0":                    "TOTAL must be from 1 to 1000",
		"0/1001":                 "TOTAL must be from 1 to 1000",
		"3/3":                    "INDEX must be from 0 to 2",
		"2/1":                    "INDEX must be 0, the only replica of 1",
		"-1/2":                   "INDEX must be from 0 to 1",
		"1/-2":                   "TOTAL must be from 1",
		"a/b":                    "want INDEX/TOTAL",
		"00/2":                   "INDEX and TOTAL are written without leading zeros (0/2)",
		"1/02":                   "INDEX and TOTAL are written without leading zeros (1/2)",
		"1":                      "want INDEX/TOTAL",
		"1/2/3":                  "want INDEX/TOTAL",
		" 1/2":                   "want INDEX/TOTAL",
		"+1/2":                   "want INDEX/TOTAL",
		"":                       "want INDEX/TOTAL",
		"/3":                     "INDEX is empty",
		"99999999999999999999/3": "small integers",
	} {
		_, err := Parse(in)
		if err == nil || !strings.Contains(err.Error(), msg) || !strings.Contains(err.Error(), fmt.Sprintf("%q", in)) {
			t.Errorf("Parse(%q) error %v, want one quoting the value and saying %q", in, err, msg)
		}
	}
}

func TestZeroValueOwnsAll(t *testing.T) {
	var s Shard
	if !s.Owns("anything") || s.String() != "0/1" {
		t.Errorf("zero Shard: Owns = %v, String = %q; want true, 0/1", s.Owns("anything"), s.String())
	}
}
