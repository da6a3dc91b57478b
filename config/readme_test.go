package config

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// The configuration reference (CONFIGURATION.md) is what users read: every top-level key has a section,
// every key of the schema has a row in its section's table, the defaults section lists exactly the Settings keys, and
// nothing is documented that the schema lacks.
func TestConfigurationReference(t *testing.T) {
	doc, err := os.ReadFile("../CONFIGURATION.md")
	if err != nil {
		t.Fatal(err)
	}
	_, ref, ok := strings.Cut(string(doc), "## Configuration reference")
	if !ok {
		t.Fatal("CONFIGURATION.md has no Configuration reference section")
	}
	ref, _, _ = strings.Cut(ref, "\n## ")
	// Every top-level key has its section, target_files (a list of patterns) included.
	for key := range yamlFields(reflect.TypeFor[Config]()) {
		if !strings.Contains(ref, "\n### `"+key+"`") {
			t.Errorf("CONFIGURATION.md has no ### `%s` section", key)
		}
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z_.]+)` \\|")
	for _, sec := range []struct {
		heading string
		typ     reflect.Type
	}{
		{"### `vantage`", reflect.TypeFor[Vantage]()},
		{"### `targets`", reflect.TypeFor[Target]()},
		{"### `rules`", reflect.TypeFor[Rule]()},
	} {
		_, body, ok := strings.Cut(ref, sec.heading)
		if !ok {
			t.Errorf("no %s section", sec.heading)
			continue
		}
		body, _, _ = strings.Cut(body, "\n### ")
		var documented []string
		for _, m := range row.FindAllStringSubmatch(body, -1) {
			documented = append(documented, m[1])
		}
		slices.Sort(documented)
		if keys := schemaKeys(sec.typ, ""); !slices.Equal(documented, keys) {
			t.Errorf("CONFIGURATION.md %s table documents %v; the schema has %v", sec.heading, documented, keys)
		}
	}

	// The entries of resolvers: have their own table in the targets section.
	_, targets, _ := strings.Cut(ref, "### `targets`")
	targets, _, _ = strings.Cut(targets, "\n### ")
	var resolverKeys []string
	for _, m := range regexp.MustCompile("(?m)^\\| `resolvers\\[\\]\\.([a-z_]+)` \\|").FindAllStringSubmatch(targets, -1) {
		resolverKeys = append(resolverKeys, m[1])
	}
	slices.Sort(resolverKeys)
	if want := schemaKeys(reflect.TypeFor[Resolver](), ""); !slices.Equal(resolverKeys, want) {
		t.Errorf("CONFIGURATION.md resolvers table documents %v; the schema has %v", resolverKeys, want)
	}

	_, defaults, _ := strings.Cut(ref, "### `defaults`")
	defaults, _, _ = strings.Cut(defaults, "\n### ")
	_, list, _ := strings.Cut(defaults, "Keys:")
	list, _, _ = strings.Cut(list, "(")
	listed := regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(list, -1)
	var keys []string
	for _, m := range listed {
		keys = append(keys, m[1])
	}
	slices.Sort(keys)
	if want := schemaKeys(reflect.TypeFor[Settings](), ""); !slices.Equal(keys, want) {
		t.Errorf("CONFIGURATION.md defaults section lists %v; Settings has %v", keys, want)
	}
}

// schemaKeys lists the yaml keys of a schema struct, sorted, with nested structs' keys as
// "tls.ca_file".
func schemaKeys(typ reflect.Type, prefix string) []string {
	var keys []string
	for key, idx := range yamlFields(typ) {
		f := typ.FieldByIndex(idx)
		ft := f.Type
		if ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct { // an optional section (content:)
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft.PkgPath() == typ.PkgPath() && ft.Name() != "Duration" {
			keys = append(keys, schemaKeys(ft, prefix+key+".")...)
			continue
		}
		keys = append(keys, prefix+key)
	}
	slices.Sort(keys)
	return keys
}

// The worked example of the README's "Resolvers and client subnets" section is a valid
// configuration that makes the probes it says it makes.
func TestREADMEResolversExample(t *testing.T) {
	cfg := readmeExample(t, "Resolvers and client subnets")
	var got []string
	for i, tg := range cfg.Targets {
		for _, r := range cfg.Compiled.Targets[i].Resolvers {
			got = append(got, tg.Name+"/"+r.Name)
		}
	}
	if want := []string{"www/os", "www/isp", "www/public-ecs", "www/doh", "api/isp"}; !slices.Equal(got, want) {
		t.Errorf("the example's probes are %v, want %v as the section says", got, want)
	}
}

// TestCheckingExamples: every mistake shown in CONFIGURATION.md's "Checking a configuration"
// (a yaml block, then a text block) gives exactly the message shown, checked as pop.yml, and
// the README's Configuration section shows what the checker says of its example file.
func TestCheckingExamples(t *testing.T) {
	doc, err := os.ReadFile("../CONFIGURATION.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(doc), "\n## Checking a configuration\n")
	if !ok {
		t.Fatal("CONFIGURATION.md has no Checking a configuration section")
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	pairs := regexp.MustCompile("(?s)```yaml\n(.*?)```\n```text\n(.*?)\n```").FindAllStringSubmatch(sec, -1)
	if len(pairs) < 8 {
		t.Fatalf("%d examples in the section, want at least 8", len(pairs))
	}
	for _, p := range pairs {
		_, err := Parse([]byte(p[1]), "pop.yml")
		if err == nil {
			t.Errorf("the example\n%s\nis valid; the section says:\n%s", p[1], p[2])
			continue
		}
		if err.Error() != p[2] {
			t.Errorf("the example\n%s\ngives\n%s\nthe section says\n%s", p[1], err, p[2])
		}
	}

	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, conf, ok := strings.Cut(string(readme), "\n## Configuration\n")
	if !ok {
		t.Fatal("README.md has no Configuration section")
	}
	conf, _, _ = strings.Cut(conf, "\n## ")
	var shown []string
	for _, line := range strings.Split(conf, "\n") {
		if l, ok := strings.CutPrefix(line, "    pop.yml:"); ok {
			shown = append(shown, "pop.yml:"+l)
		}
	}
	data, err := os.ReadFile("testdata/invalid-several.yml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(data, "pop.yml"); err == nil || strings.Join(shown, "\n") != err.Error() {
		t.Errorf("README's Configuration section shows\n%s\nthe checker says of testdata/invalid-several.yml\n%v", strings.Join(shown, "\n"), err)
	}
}

// TestExampleConfig: example.yml, which the README and CONFIGURATION.md point to, is valid and
// uses every top-level section.
func TestExampleConfig(t *testing.T) {
	data, err := os.ReadFile("../example.yml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(data, "example.yml"); err != nil {
		t.Fatal(err)
	}
	for key := range yamlFields(reflect.TypeFor[Config]()) {
		if !regexp.MustCompile(`(?m)^` + key + `:`).Match(data) {
			t.Errorf("example.yml has no %s section", key)
		}
	}
}

// The example of the README's "Certificates and content versions" section is a valid
// configuration, with the content settings and body checks it says.
func TestREADMEContentExample(t *testing.T) {
	cfg := readmeExample(t, "Certificates and content versions")
	js := cfg.Targets[0].Content
	if js == nil || !slices.Equal(js.VersionFrom, []string{VersionETag, VersionBody}) || js.PropagationWindow != Duration(15*time.Minute) {
		t.Errorf("app-js content = %+v", js)
	}
	c := cfg.Compiled.Targets[1]
	if cfg.Targets[1].Content != nil || len(c.FailIfBodyNotMatches) != 1 || len(c.FailIfBodyMatches) != 1 ||
		!c.FailIfBodyNotMatches[0].MatchString(`{"status": "ok"}`) || !c.FailIfBodyMatches[0].MatchString("Under MAINTENANCE") {
		t.Errorf("status: content %+v, body checks %v / %v", cfg.Targets[1].Content, c.FailIfBodyMatches, c.FailIfBodyNotMatches)
	}
}

// content: {} turns content versions on with every part and the default window.
func TestContentDefaults(t *testing.T) {
	cfg, err := Parse([]byte("targets:\n  - name: a\n    url: https://a.example/\n    content: {}\n  - name: b\n    url: https://b.example/\n    content:\n"), "t.yml")
	if err != nil {
		t.Fatal(err)
	}
	if c := cfg.Targets[0].Content; c == nil || !slices.Equal(c.VersionFrom, VersionParts) || c.PropagationWindow != DefaultPropagationWindow {
		t.Errorf("content: {} = %+v", c)
	}
	if c := cfg.Targets[1].Content; c != nil {
		t.Errorf("an empty content: turned content on: %+v", c)
	}
}

// readmeExample parses the first yaml example of the README section titled section.
func readmeExample(t *testing.T, section string) *Config {
	t.Helper()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(readme), "\n## "+section+"\n")
	if !ok {
		t.Fatalf("README.md has no %s section", section)
	}
	_, example, ok := strings.Cut(sec, "```yaml\n")
	example, _, _ = strings.Cut(example, "```")
	if !ok {
		t.Fatalf("the %s section has no yaml example", section)
	}
	cfg, err := Parse([]byte(example), "README.md")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
