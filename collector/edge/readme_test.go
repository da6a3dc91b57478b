package edge

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the generated tables in README.md from the rule table")

const (
	readmeBegin = "<!-- BEGIN GENERATED: go test ./collector/edge/ -run TestREADME -update -->\n"
	readmeEnd   = "<!-- END GENERATED -->\n"
)

// supportTable renders the support table of README.md from the rule table, so that the two
// cannot disagree: every column is derived from fields of the rule row.
func supportTable() string {
	var b strings.Builder
	b.WriteString("| CDN | `cdn` label | detected by (any of) | PoP from | `pop` label | cache status from | extra |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for i := range builtin {
		r := &builtin[i]
		var detect []string
		for j := range r.detect {
			detect = append(detect, r.detect[j].describe())
		}
		pop := "—"
		if len(r.pop) > 0 {
			var srcs []string
			for _, p := range r.pop {
				s := "`" + p.header + "`"
				if p.pick == pickBody {
					s = "body of `…" + p.urlContains + "`"
				}
				if !slices.Contains(srcs, s) {
					srcs = append(srcs, s)
				}
			}
			pop = strings.Join(srcs, ", ")
		}
		cache := "— (always `unknown`)"
		if len(r.cache) > 0 {
			var srcs []string
			for _, c := range r.cache {
				if s := "`" + c.header + "`"; !slices.Contains(srcs, s) {
					srcs = append(srcs, s)
				}
			}
			cache = strings.Join(srcs, ", ")
		}
		var extra []string
		for _, p := range r.pop {
			if p.listUpstream || p.upstream != nil {
				extra = append(extra, "upstream PoP from `"+p.header+"`")
			}
		}
		for _, p := range r.upstream {
			extra = append(extra, "upstream PoP from `"+p.header+"`")
		}
		for _, ip := range r.edgeIP {
			extra = append(extra, "edge IP from `"+ip.header+"`")
		}
		if r.addsVia {
			extra = append(extra, "Via hop")
		}
		if r.ownsServer {
			extra = append(extra, "replaces `Server`")
		}
		for _, n := range r.cacheNames {
			extra = append(extra, "`Cache-Status` member `"+strings.TrimSpace(n)+" …`")
		}
		if r.anycast {
			extra = append(extra, "anycast")
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s | %s | %s |\n",
			r.name, r.cdn, cell(strings.Join(detect, ", ")), cell(pop), cell(r.popNote), cell(cache),
			cell(strings.Join(extra, ", ")))
	}
	b.WriteString("\nWhen stacking evidence (\"Via hop\", \"replaces `Server`\", `Cache-Status` members) leaves\n")
	b.WriteString("more than one candidate, the role decides, then table order:\n\n")
	for ro := roleSecurity; ro <= roleOrigin; ro++ {
		var names []string
		for i := range builtin {
			if builtin[i].role == ro {
				names = append(names, "`"+builtin[i].cdn+"`")
			}
		}
		fmt.Fprintf(&b, "%d. %s: %s\n", int(ro)+1, ro, strings.Join(names, ", "))
	}
	b.WriteString("\nA self-declared `X-CDN` / `CDN` value naming one of these CDNs (")
	names := make([]string, 0, len(selfDeclaredNames))
	for n := range selfDeclaredNames {
		names = append(names, n)
	}
	sort.Strings(names)
	b.WriteString("`" + strings.Join(names, "`, `") + "`")
	b.WriteString(", compared in lower case without punctuation) identifies it only when no vendor header does.\n")
	return b.String()
}

// cell escapes a table cell's pipes (regex alternations) for GitHub Markdown.
func cell(s string) string {
	if s == "" {
		return "—"
	}
	return strings.ReplaceAll(s, "|", `\|`)
}

func TestREADME(t *testing.T) {
	const path = "README.md"
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	begin := strings.Index(text, readmeBegin)
	end := strings.Index(text, readmeEnd)
	if begin < 0 || end < begin {
		t.Fatalf("%s lacks the generated-table markers", path)
	}
	begin += len(readmeBegin)
	want := supportTable()
	if text[begin:end] == want {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(text[:begin]+want+text[end:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md support table disagrees with the rule table; run go test ./collector/edge/ -run TestREADME -update\n got:\n%s\nwant:\n%s", text[begin:end], want)
}

// TestREADMEHasEveryCDN is a second, independent check that each rule row has its own README
// row, in case the generator itself is edited to skip one.
func TestREADMEHasEveryCDN(t *testing.T) {
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for i := range builtin {
		r := &builtin[i]
		row := ""
		for line := range strings.Lines(string(raw)) {
			if strings.HasPrefix(line, "| "+r.name+" | `"+r.cdn+"` |") {
				row = line
			}
		}
		if row == "" {
			t.Errorf("README.md has no row for %s", r.cdn)
			continue
		}
		cols := strings.Split(row, " | ")
		if hasPoP := cols[3] != "—"; hasPoP != (len(r.pop) > 0) {
			t.Errorf("%s: README PoP column %q, rule has %d PoP sources", r.cdn, cols[3], len(r.pop))
		}
		if hasCache := !strings.HasPrefix(cols[5], "—"); hasCache != (len(r.cache) > 0) {
			t.Errorf("%s: README cache column %q, rule has %d cache sources", r.cdn, cols[5], len(r.cache))
		}
		if hasIP := strings.Contains(cols[6], "edge IP"); hasIP != (len(r.edgeIP) > 0) {
			t.Errorf("%s: README extra column %q, rule has %d edge IP sources", r.cdn, cols[6], len(r.edgeIP))
		}
	}
}
