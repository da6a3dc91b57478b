package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestLogLinesShareOneShape: the exporter's own lines and exporter-toolkit's ("Listening on",
// through the slog bridge) have the same keys and time format, in logfmt and in JSON, so one
// log pipeline parses them all: ts in RFC 3339 UTC, never slog's "time".
func TestLogLinesShareOneShape(t *testing.T) {
	srv := edgeServer(t)
	cfgFile := filepath.Join(t.TempDir(), "pop.yml")
	writeFile(t, cfgFile, configYAML(map[string]string{"www": srv.URL}))
	logfmtLine := regexp.MustCompile(`^level=(debug|info|warn|error) ts=(\S+) (caller=\S+ )?msg=`)
	for _, format := range []string{"logfmt", "json"} {
		t.Run(format, func(t *testing.T) {
			_, logs, stop := startDaemon(t, "--config.file="+cfgFile, "--log.format="+format)
			stop()
			seen := map[string]bool{}
			for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
				var ts, msg string
				if format == "json" {
					var m map[string]any
					if err := json.Unmarshal([]byte(line), &m); err != nil {
						t.Errorf("not a JSON line: %q", line)
						continue
					}
					if _, ok := m["time"]; ok {
						t.Errorf("line has slog's time key: %s", line)
					}
					ts, _ = m["ts"].(string)
					msg, _ = m["msg"].(string)
					if _, ok := m["level"]; !ok {
						t.Errorf("line without level: %s", line)
					}
				} else {
					m := logfmtLine.FindStringSubmatch(line)
					if m == nil {
						t.Errorf("line not of the shape level=… ts=… [caller=…] msg=…: %q", line)
						continue
					}
					ts = m[2]
					msg = line
				}
				if p, err := time.Parse(time.RFC3339Nano, ts); err != nil || p.Location() != time.UTC {
					t.Errorf("ts %q is not RFC 3339 UTC: %s", ts, line)
				}
				for _, want := range []string{"starting pop_exporter", "Listening on"} {
					if strings.Contains(msg, want) {
						seen[want] = true
					}
				}
			}
			for _, want := range []string{"starting pop_exporter", "Listening on"} {
				if !seen[want] {
					t.Errorf("no %q line in:\n%s", want, logs)
				}
			}
		})
	}
}
