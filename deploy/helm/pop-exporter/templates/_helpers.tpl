{{/* The chart's name, or nameOverride. */}}
{{- define "pop-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The name of every object: release-chart, or the release name when it contains the chart's. */}}
{{- define "pop-exporter.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The labels that select the pods: never change them, a selector is immutable. */}}
{{- define "pop-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pop-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The labels of every object. */}}
{{- define "pop-exporter.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "pop-exporter.selectorLabels" . }}
app.kubernetes.io/component: exporter
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The number of replicas, refusing what cannot be sharded. */}}
{{- define "pop-exporter.shards" -}}
{{- $shards := int .Values.shards }}
{{- if or (lt $shards 1) (gt $shards 1000) (ne (toString $shards) (toString .Values.shards)) }}
{{- fail (printf "shards must be a whole number from 1 to 1000, not %v" .Values.shards) }}
{{- end }}
{{- $shards }}
{{- end }}

{{/* The exporter's configuration file: .Values.config with the vantage from .Values.vantage. */}}
{{- define "pop-exporter.config" -}}
{{- $vantage := dict "name" .Values.vantage.name }}
{{- range $key := list "location" "latitude" "longitude" }}
{{- $v := index $.Values.vantage $key }}
{{- if or $v (eq (toString $v) "0") }}
{{- $_ := set $vantage $key $v }}
{{- end }}
{{- end }}
{{- toYaml (dict "vantage" $vantage) }}
{{ toYaml (omit .Values.config "vantage") }}
{{- end }}

{{/*
The monitoring mixin's rendering that the PrometheusRule and the dashboards come from: files/
(links to the repository's rule file and dashboards, the mixin's defaults) or, with
mixin.multiCluster, files/multi-cluster/ (rendered with multiCluster: true by
`go generate ./dashboards/mixin/`).
*/}}
{{- define "pop-exporter.mixinDir" -}}
{{- $multi := .Values.mixin.multiCluster }}
{{- if not (kindIs "bool" $multi) }}
{{- fail (printf "mixin.multiCluster must be true or false, not %v" $multi) }}
{{- end }}
{{- ternary "files/multi-cluster" "files" $multi }}
{{- end }}

{{/*
The cluster label of mixin.multiCluster: a label name, refused otherwise. The multi-cluster
rendering has __CLUSTER_LABEL__ where the mixin puts the label, and the mixin inserts it by
replacing that string last, so replacing it here gives the mixin's own rendering.
*/}}
{{- define "pop-exporter.mixinClusterLabel" -}}
{{- $label := .Values.mixin.clusterLabel }}
{{- if or (not (kindIs "string" $label)) (not (regexMatch `^[a-zA-Z_][a-zA-Z0-9_]*$` $label)) (hasPrefix "__" $label) }}
{{- fail (printf "mixin.clusterLabel must be a Prometheus label name (letters, digits and _, not starting with a digit or __), not %q" (toString $label)) }}
{{- end }}
{{- $label }}
{{- end }}

{{/*
The selector of the exporters' scrape target that the rules and dashboards use (in up{...}):
mixin.selector, or job="<serviceMonitor.job>" when it is empty. Refused unless it is a list of
label matchers. The renderings have the default job="pop_exporter" there, and the mixin
inserts its selector by replacing that string last, so replacing it here gives the mixin's own
rendering.
*/}}
{{- define "pop-exporter.mixinSelector" -}}
{{- if not (or .Values.mixin.selector .Values.serviceMonitor.job) }}
{{- fail "mixin.selector or serviceMonitor.job must say how the rules and dashboards select the exporters" }}
{{- end }}
{{- $selector := .Values.mixin.selector | default (printf "job=\"%s\"" .Values.serviceMonitor.job) }}
{{- $matcher := `[a-zA-Z_][a-zA-Z0-9_]*\s*(=|!=|=~|!~)\s*"([^"\\]|\\.)*"` }}
{{- if not (regexMatch (printf `^\s*%s(\s*,\s*%s)*\s*$` $matcher $matcher) $selector) }}
{{- fail (printf "mixin.selector must be label matchers such as job=\"pop_exporter\" or job=~\"pop.*\", env=\"prod\" (without braces), not %s" $selector) }}
{{- end }}
{{- $selector }}
{{- end }}
