package main

import (
	"github.com/popexporter/pop_exporter/collector/geoip"
)

// geoipFile is the --geoip.database flag: the file is read at start-up and again on every
// reload, and the database read last is the one the collector uses.
type geoipFile struct {
	path string // "" without the flag
	cur  geoip.Current
}

// read opens the file; without the flag it reads nothing and returns nil.
func (g *geoipFile) read() (*geoip.Database, error) {
	if g.path == "" {
		return nil, nil
	}
	return geoip.Open(g.path)
}

// use makes db the database in use; nil (no flag) changes nothing.
func (g *geoipFile) use(db *geoip.Database) {
	if db != nil {
		g.cur.Swap(db)
	}
}
