package main

import (
	"net/http"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// --web.config.file goes through exporter-toolkit: here, basic auth on every endpoint of the
// main listener, and the health listener answering probes without credentials.
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

	addr, healthAddr := freeAddr(t), freeAddr(t)
	logs := &syncBuffer{}
	stop := startDaemonAt(t, addr, logs, "--config.file="+cfgFile, "--web.config.file="+webFile,
		"--web.health-listen-address="+healthAddr)
	defer stop()

	get := func(user, pass string) int { return getStatus(t, "http://"+addr+"/metrics", user, pass) }
	waitFor(t, func() bool { return get("prometheus", "s3cret") == http.StatusOK })
	if code := get("", ""); code != http.StatusUnauthorized {
		t.Errorf("no credentials: %d, want 401", code)
	}
	if code := get("prometheus", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("wrong password: %d, want 401", code)
	}

	// Kubernetes probes send no credentials: on the main port they get 401, on the health
	// listener the answer, and the health listener serves nothing else.
	for url, want := range map[string]int{
		"http://" + addr + "/-/ready":         http.StatusUnauthorized,
		"http://" + healthAddr + "/-/healthy": http.StatusOK,
		"http://" + healthAddr + "/-/ready":   http.StatusOK,
		"http://" + healthAddr + "/metrics":   http.StatusNotFound,
		"http://" + healthAddr + "/":          http.StatusNotFound,
	} {
		if code := getStatus(t, url, "", ""); code != want {
			t.Errorf("GET %s without credentials: %d, want %d", url, code, want)
		}
	}
}

// getStatus GETs url, with basic auth when user is set, and returns the status (0 when the
// server does not answer).
func getStatus(t *testing.T, url, user, pass string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
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
