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
