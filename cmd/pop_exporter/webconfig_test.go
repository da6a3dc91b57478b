package main

import (
	"net/http"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// --web.config.file goes through exporter-toolkit: here, basic auth on every endpoint.
func TestWebConfigBasicAuth(t *testing.T) {
	srv := edgeServer(t)
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "pop.yml")
	writeFile(t, cfgFile, configYAML(map[string]string{"www": srv.URL}))
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webFile := filepath.Join(dir, "web.yml")
	writeFile(t, webFile, "basic_auth_users:\n  prometheus: "+string(hash)+"\n")

	addr := freeAddr(t)
	logs := &syncBuffer{}
	stop := startDaemonAt(t, addr, logs, "--config.file="+cfgFile, "--web.config.file="+webFile)
	defer stop()

	get := func(user, pass string) int {
		req, _ := http.NewRequest("GET", "http://"+addr+"/metrics", nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0 // not listening yet
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	waitFor(t, func() bool { return get("prometheus", "s3cret") == http.StatusOK })
	if code := get("", ""); code != http.StatusUnauthorized {
		t.Errorf("no credentials: %d, want 401", code)
	}
	if code := get("prometheus", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("wrong password: %d, want 401", code)
	}
}
