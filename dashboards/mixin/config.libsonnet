// The mixin's settings. Override any of them with your own _config:
//
//   (import 'mixin.libsonnet') + { _config+:: { selector: 'job="cdn-probes"', multiCluster: true } }
//
// The defaults render the dashboards in dashboards/ and the rules in deploy/prometheus/rules/
// as committed: one Prometheus scraping every exporter under job="pop_exporter".
{
  _config+:: {
    // The job the exporters are scraped as (the kustomize component's ServiceMonitor sets it),
    // and the label matcher that selects them, used where a metric is not the exporter's own
    // (`up`). The pop_* metrics are selected by name.
    jobName: 'pop_exporter',
    selector: 'job="%s"' % self.jobName,

    // Fleets of Prometheus agents (or Grafana Alloy) remote-writing to one store tell their
    // vantages apart by an external label, and often share the exporter's instance string
    // (the same Kubernetes Service name in every cluster). With multiCluster, every join and
    // grouping on job and instance, and every grouping by vantage, keeps clusterLabel too;
    // alert descriptions look their probe up by it; and each dashboard gets a cluster
    // variable that filters every query.
    clusterLabel: 'cluster',
    multiCluster: false,

    // Global alert thresholds (recorded as pop_alert:*:threshold, which the dashboards draw).
    // Per-target thresholds are in the exporter's configuration (max_distance_km,
    // expected_pops).
    thresholds: {
      shiftDistanceKm: 2000,  // PopShiftedFar, and what counts as moved for PopShiftedFarCDNWide
      popChanges15m: 4,  // PopFlapping: PoP changes in 15 minutes
      ttfbMeanSeconds: 1,  // PopTTFBHigh: TTFB mean over 5 minutes
      cacheHitRatioDrop: 0.3,  // PopCacheHitRatioDrop: 15m ratio below the 6h ratio minus this
      shiftWideRatio: 0.5,  // PopShiftedFarCDNWide: share of a target's vantages moved far
      shiftWideVantages: 2,  // PopShiftedFarCDNWide: and at least this many vantages
      resolverSpreadKm: 2000,  // PopResolverFar
      protocolSplitKm: 1000,  // PopProtocolSplit
      certExpiryDays: 14,  // PopCertExpiringSoon: days before the earliest certificate expires
    },

    // How long each alert's condition must hold before it fires.
    'for': {
      PopShiftedFar: '5m',
      PopShiftedFarCDNWide: '5m',
      PopFlapping: '2m',
      PopResolverFar: '10m',
      PopProtocolSplit: '10m',
      PopBeyondMaxDistance: '10m',
      PopUnexpected: '10m',
      PopProbeFailing: '5m',
      PopTTFBHigh: '10m',
      PopCacheHitRatioDrop: '15m',
      PopCertExpiringSoon: '10m',
      PopCertMismatch: '30m',
      PopContentInconsistent: '2m',
      PopExporterConfigReloadFailed: '10m',
      PopExporterTargetFileFailed: '10m',
      PopExporterDown: '5m',
    },

    // Where alerts link to. Every alert's runbook_url is runbookURLPattern with %(base)s the
    // runbook base and %(anchor)s the alert's name in lower case; the bases are recorded as
    // pop_alert:links:info, so a change of Grafana or runbook host is one rule.
    grafanaURL: 'http://localhost:3000',
    runbookBase: 'https://github.com/popexporter/pop_exporter/blob/main/README.md',
    runbookURLPattern: '%(base)s#alert-%(anchor)s',

    // A vantage whose samples stopped arriving (its agent or remote_write is down) counts as
    // down after this long without a sample of `up`: in a fleet of agents, nobody writes up=0
    // for it.
    silentAfterSeconds: 120,
  },
}
