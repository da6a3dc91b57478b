package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// UnmarshalYAML reads a duration written Prometheus-style ("15s", "1m30s", "1h", "500ms",
// "1d") or Go-style ("1.5s", "-5s"). Go-style is accepted so that values copied from Go
// programs work; negative and zero durations parse here and are rejected by validation,
// which knows the field and can say why.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("invalid duration: want a string such as 15s, got a %s", kindName(n))
	}
	s := strings.TrimSpace(n.Value)
	if md, err := model.ParseDuration(s); err == nil {
		*d = Duration(md)
		return nil
	}
	if td, err := time.ParseDuration(s); err == nil {
		*d = Duration(td)
		return nil
	}
	// Neither parser's error adds anything beyond "not a duration"; say what is accepted.
	return fmt.Errorf("invalid duration %q: want a number and a unit such as 500ms, 15s, 1m30s or 1h", n.Value)
}

// MarshalYAML writes the duration the way Prometheus does ("1m30s", "500ms").
func (d Duration) MarshalYAML() (any, error) {
	return d.String(), nil
}

// String formats the duration Prometheus-style ("1m30s", "500ms"). Negative durations, which
// only exist before validation, and those that are not whole milliseconds ("1ns", "1.5ms"),
// which Prometheus's format would round ("0s"), use Go's format.
func (d Duration) String() string {
	if d < 0 || time.Duration(d)%time.Millisecond != 0 {
		return time.Duration(d).String()
	}
	return model.Duration(d).String()
}

// Byte size units. "KB" is 1000 bytes and "KiB" 1024, as the IEC and SI prefixes say; a bare
// "K" is ambiguous and therefore not accepted.
var byteUnits = map[string]int64{
	"":    1,
	"B":   1,
	"KB":  1000,
	"MB":  1000 * 1000,
	"GB":  1000 * 1000 * 1000,
	"KIB": 1 << 10,
	"MIB": 1 << 20,
	"GIB": 1 << 30,
}

// parseByteSize parses a size such as "64KiB", "1MiB", "65536", "64KB" (64000) or "2 MB".
// Units are case-insensitive; the number is a non-negative integer.
func parseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("invalid size %q: want an integer and an optional unit such as 64KiB, 1MiB or 65536", s)
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: %w", s, err)
	}
	unit, ok := byteUnits[strings.ToUpper(strings.TrimSpace(t[i:]))]
	if !ok {
		return 0, fmt.Errorf("invalid size %q: unknown unit %q (want B, KB, MB, GB, KiB, MiB or GiB)", s, strings.TrimSpace(t[i:]))
	}
	if n > math.MaxInt64/unit {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	return ByteSize(n * unit), nil
}

// UnmarshalYAML reads a size written as "64KiB", "1MiB", "65536" or "64KB".
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("invalid size: want a string such as 64KiB, got a %s", kindName(n))
	}
	v, err := parseByteSize(n.Value)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// MarshalYAML writes the size in the largest binary unit that divides it exactly.
func (b ByteSize) MarshalYAML() (any, error) {
	return b.String(), nil
}

// String formats the size in the largest binary unit that divides it exactly ("64KiB"),
// so that a marshalled config reads like a hand-written one and parses back to the same value.
func (b ByteSize) String() string {
	switch {
	case b == 0:
		return "0"
	case b%(1<<30) == 0:
		return strconv.FormatInt(int64(b>>30), 10) + "GiB"
	case b%(1<<20) == 0:
		return strconv.FormatInt(int64(b>>20), 10) + "MiB"
	case b%(1<<10) == 0:
		return strconv.FormatInt(int64(b>>10), 10) + "KiB"
	}
	return strconv.FormatInt(int64(b), 10)
}

// kindName names a YAML node's kind the way a user would, for error messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "alias"
	case yaml.DocumentNode:
		return "document"
	}
	if n.ShortTag() == "!!null" {
		return "null"
	}
	return "scalar"
}
