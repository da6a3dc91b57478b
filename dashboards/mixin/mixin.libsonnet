// The pop_exporter monitoring mixin: Grafana dashboards, recording rules and alerts from one
// source and one _config (config.libsonnet), as the community mixins (node-mixin,
// kubernetes-mixin) are built:
//
//   prometheusRules    recording rules (rules.libsonnet), adapted to _config
//   prometheusAlerts   alerts (alerts.libsonnet), adapted to _config
//   grafanaDashboards  the dashboards, by file name (dashboards/*.json in this folder)
//
// `go generate ./dashboards/mixin/` renders the defaults into dashboards/*.json and
// deploy/prometheus/rules/pop_exporter.rules.yml; `go run ./dashboards/mixin/render` renders
// your own _config (README, Monitoring mixin).
//
// The expressions are written once, for one Prometheus; the functions below adapt every one
// of them (rules, alert annotations' lookups and dashboard queries alike) to _config.
(import 'config.libsonnet') +
(import 'rules.libsonnet') +
(import 'alerts.libsonnet') +
{
  local c = $._config,

  // The adaptations below insert the cluster label as clusterLabelPlaceholder and end by
  // replacing it with clusterLabel and the default selector with _config.selector, in that
  // order (finish): so a rendering for any clusterLabel and selector is the rendering for the
  // placeholder and the default selector with those two strings replaced, whatever they
  // contain. The Helm chart relies on this: it ships the placeholder rendering and replaces
  // the two strings with its values (mixin_test.go holds both to it).
  local cl = $.clusterLabelPlaceholder,
  local finish(s) = std.strReplace(std.strReplace(s, cl, c.clusterLabel), $.defaultSelector, c.selector),

  // clusterJoins keeps the cluster label in every join and grouping that names job and
  // instance or the vantage (two clusters may share both an instance string and a vantage
  // name), with multiCluster.
  local clusterJoins(e) =
    if !c.multiCluster then e else
      std.foldl(function(s, r) std.strReplace(s, r[0], r[1]), [
        ['(job, instance', '(%s, job, instance' % cl],
        ['by (vantage', 'by (%s, vantage' % cl],
        ['on(vantage', 'on(%s, vantage' % cl],
        // The Alerts panel's rows: one per alert and exporter.
        [', at, instance', ', at, %s, instance' % cl],
      ], e),

  // expr adapts one PromQL expression: the exporter selector and the cluster joins.
  local expr(e) = finish(clusterJoins(e)),

  // template adapts an alert annotation: its look-ups of one probe's series name the
  // probe's cluster as well as its instance, and the text names the cluster wherever it names
  // an exporter by its instance or lists vantages (both may repeat across clusters).
  local template(t) =
    if !c.multiCluster then expr(t) else
      finish(std.foldl(function(s, r) std.strReplace(s, r[0], r[1]), [
        ['instance=%q', '%s=%%q,instance=%%q' % cl],
        ['$labels.instance $labels', '$labels.%s $labels.instance $labels' % cl],
        ['$labels.job $labels.instance', '$labels.job $labels.%s $labels.instance' % cl],
        ['pop_exporter {{ $labels.instance }}', 'pop_exporter {{ $labels.instance }} ({{ index $labels "%s" }})' % cl],
        ['{{ $s.Labels.vantage }}', '{{ $s.Labels.vantage }} ({{ index $s.Labels "%s" }})' % cl],
      ], clusterJoins(t))),

  local adaptGroups(groups) = [
    g {
      rules: [
        r {
          expr: expr(super.expr),
          [if std.objectHas(r, 'annotations') then 'annotations']: {
            [k]: template(r.annotations[k])
            for k in std.objectFields(r.annotations)
          },
        }
        for r in super.rules
      ],
    }
    for g in groups
  ],

  // The rule groups as Prometheus loads them (mixtool and jsonnet-bundler setups read
  // prometheusRules and prometheusAlerts): rules.libsonnet's and alerts.libsonnet's groups,
  // adapted; renderedRules is both, as the rule file holds them.
  prometheusRules+:: { groups+: adaptGroups($.sourceRules.groups) },
  prometheusAlerts+:: { groups+: adaptGroups($.sourceAlerts.groups) },
  renderedRules:: { groups: $.prometheusRules.groups + $.prometheusAlerts.groups },

  // Dashboards: the panel, annotation and variable queries adapted like the rules, and with
  // multiCluster a cluster variable before the others that filters every query.
  local clusterVariable = {
    name: 'cluster',
    label: 'Cluster',
    type: 'query',
    datasource: { type: 'prometheus', uid: '${datasource}' },
    definition: 'label_values(pop_vantage_info, %s)' % c.clusterLabel,
    query: {
      query: 'label_values(pop_vantage_info, %s)' % c.clusterLabel,
      refId: 'PrometheusVariableQueryEditor-VariableQuery',
      qryType: 1,
    },
    refresh: 2,
    sort: 1,
    multi: true,
    includeAll: true,
    allValue: '.*',
    current: { selected: true, text: ['All'], value: ['$__all'] },
    hide: 0,
    options: [],
    skipUrlSync: false,
  },
  local filterCluster(e) =
    if !c.multiCluster then e else
      std.foldl(function(s, r) std.strReplace(s, r[0], r[1]), [
        ['{vantage=~"$vantage"', '{%s=~"$cluster", vantage=~"$vantage"' % cl],
        // Selectors first: the next line writes one, which this one would filter twice.
        ['(pop_vantage_info{', '(pop_vantage_info{%s=~"$cluster", ' % cl],
        ['(pop_vantage_info, vantage)', '(pop_vantage_info{%s=~"$cluster"}, vantage)' % cl],
      ], e),
  local adaptQueries(x, key='') =
    if std.isString(x) then
      (if std.member(['expr', 'query', 'definition'], key) then finish(filterCluster(clusterJoins(x)))
       // The Alerts panel's rows name the cluster: exporter alerts (PopExporterDown) of two
       // clusters have the same instance and no vantage.
       else if key == 'legendFormat' && c.multiCluster then finish(std.strReplace(x, '{{at}} {{instance}}', '{{at}} {{%s}} {{instance}}' % cl))
       else x)
    else if std.isArray(x) then [adaptQueries(v, key) for v in x]
    else if std.isObject(x) then { [k]: adaptQueries(x[k], k) for k in std.objectFields(x) }
    else x,
  local dashboard(d) =
    local adapted = adaptQueries(d);
    if !c.multiCluster then adapted else adapted {
      templating+: {
        list: [super.list[0], clusterVariable] + super.list[1:],
      },
    },

  // The selector the sources are written with, and the label name that stands for
  // clusterLabel until finish replaces it: no source contains it (mixin_test.go checks).
  defaultSelector:: 'job="pop_exporter"',
  clusterLabelPlaceholder:: '__CLUSTER_LABEL__',

  // The Prometheus Operator's objects of the kustomize component deploy/kubernetes/monitoring:
  // a ServiceMonitor that scrapes the exporter's Service as jobName, and the rendered rules as
  // a PrometheusRule.
  operatorObjects:: {
    'servicemonitor.yaml': {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: {
        name: 'pop-exporter',
        labels: { 'app.kubernetes.io/name': 'pop_exporter', 'app.kubernetes.io/component': 'exporter' },
      },
      spec: {
        selector: { matchLabels: { 'app.kubernetes.io/name': 'pop_exporter' } },
        endpoints: [{
          port: 'http-metrics',
          interval: '30s',
          // The operator would name the job after the Service ("pop-exporter").
          relabelings: [{ targetLabel: 'job', replacement: c.jobName }],
        }],
      },
    },
    'prometheusrule.yaml': {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: {
        name: 'pop-exporter',
        labels: { 'app.kubernetes.io/name': 'pop_exporter', 'app.kubernetes.io/component': 'exporter' },
      },
      spec: $.renderedRules,
    },
  },

  grafanaDashboards+:: {
    [name]: dashboard($.dashboardSources[name])
    for name in std.objectFields($.dashboardSources)
  },

  // The dashboards' JSON structure, as Grafana stores it: panels, layout, text and queries
  // written for one Prometheus and job="pop_exporter"; dashboard() above adapts the queries.
  dashboardSources:: {
    'cache.json': import 'dashboards/cache.json',
    'fleet.json': import 'dashboards/fleet.json',
    'latency.json': import 'dashboards/latency.json',
    'pop-overview.json': import 'dashboards/pop-overview.json',
    'pop-shifts.json': import 'dashboards/pop-shifts.json',
  },
}
