package config

import (
	"bytes"
	"fmt"

	"gopkg.in/yaml.v3"
)

// Marshal writes cfg as a configuration file: keys in schema order, two-space indentation,
// keys whose value is zero or empty left out, File and Compiled not written. Parse reads it
// back to the same Vantage, Targets and Rules, given the same directory for relative
// tls.ca_file paths. Programs that generate configs (cdnsim) build a Config and write it here,
// so that they cannot drift from the schema.
func Marshal(cfg *Config) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(cfg); err != nil {
		return nil, fmt.Errorf("encoding config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encoding config: %w", err)
	}
	return b.Bytes(), nil
}
