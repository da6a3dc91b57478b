// Recording rules of pop_exporter, rendered into deploy/prometheus/rules/pop_exporter.rules.yml
// (with the alerts of alerts.libsonnet) by `go generate ./dashboards/mixin/`.
//
// Label conventions: every per-probe series carries vantage, target, ip_version, resolver
// (one probe per DNS resolver of the target; "system" unless the target configures resolvers)
// and protocol (one probe per HTTP version; "http1.1" unless the target configures protocols),
// and Prometheus adds job and instance. Joins match on all seven so that two exporters that
// share a vantage name (an HA pair), or two resolvers or protocols of one target, never
// collide. The vantage_target:* records keep resolver and protocol too: each is a probe of its
// own. The scope rules count vantages, whatever their resolvers and protocols.
//
// The dashboards in dashboards/ read the recording rules below: load this file into the
// Prometheus that Grafana queries.
//
// Thresholds and links
// --------------------
// Global alert thresholds are the recording rules of the first group below, set from
// _config.thresholds: change the number there and every alert (and the threshold lines on
// the dashboards) follows. Per-target
// thresholds live in the exporter's own configuration, where the target is defined:
//   max_distance_km -> pop_probe_max_distance_meters  (PopBeyondMaxDistance)
//   expected_pops   -> pop_probe_expected_pop         (PopUnexpected)
// How long a condition must hold before an alert fires is each alert's `for:`
// (_config['for']).
//
//   recording rule                              default  alert
//   pop_alert:shift_distance_meters:threshold   2000 km  PopShiftedFar
//   pop_alert:pop_changes_15m:threshold         4        PopFlapping (PoP changes in 15m)
//   pop_alert:ttfb_mean_seconds:threshold       1 s      PopTTFBHigh (TTFB mean over 5m)
//   pop_alert:cache_hit_ratio_drop:threshold    0.3      PopCacheHitRatioDrop (15m ratio below
//                                                        the 6h ratio minus this)
//   pop_alert:shift_wide_ratio:threshold        0.5      PopShiftedFarCDNWide (share of a target's
//                                                        vantages served far from their baseline)
//   pop_alert:shift_wide_vantages:threshold     2        PopShiftedFarCDNWide (and at least this
//                                                        many vantages: one alone is never "wide")
//   pop_alert:protocol_split:threshold          1000 km  PopProtocolSplit (a protocol's PoP farther
//                                                        from the vantage than the nearest
//                                                        protocol's PoP by more than this)
//   pop_alert:cert_expiry_seconds:threshold     14 days  PopCertExpiringSoon (earliest certificate
//                                                        expiry closer than this)
//   pop_alert:resolver_spread:threshold         2000 km  PopResolverFar (a resolver's PoP farther
//                                                        from the vantage than the nearest
//                                                        resolver's PoP by more than this)
//
// The same group holds pop_alert:links:info: the Grafana and runbook bases of every alert's
// dashboard_url and runbook_url annotations (_config.grafanaURL, _config.runbookBase).
//
// Fleets: one exporter runs per vantage (office, region, cluster), all scraped by this
// Prometheus, or scraped by a Prometheus agent per cluster that remote-writes here (then
// render with _config.multiCluster, so that exporters sharing an instance string in
// different clusters stay apart). A shift seen from one vantage is local (that site's ISP, VPN or resolver); a shift
// seen from most of them is the CDN's. The target: and cdn: rules count vantages for that.
//
// Histograms: pop_probe_ttfb_seconds and (with --metrics.detail=full) pop_probe_phase_duration_seconds
// are exposed with classic and native buckets. Prometheus ingests the classic *_bucket series by default and
// only the native histogram with native histograms enabled, so every rule that reads a
// histogram has a classic and a native form joined by `or`: whichever exists answers.
//
// "Served from cache" means cache_status hit or stale: the edge answered without asking the
// origin. revalidated, miss, expired, bypass and dynamic all went to the origin.
//
// In this source, thresholds, `for:` times and link bases come from _config
// (config.libsonnet); mixin.libsonnet adds the cluster label and the selector to every
// expression for _config.multiCluster and _config.selector.
{
  local c = $._config,

  sourceRules+:: {
    groups+: [
    {
      name: "pop_exporter.thresholds",
      rules: [
        {
          record: "pop_alert:shift_distance_meters:threshold",
          expr: 'vector(%de3)' % c.thresholds.shiftDistanceKm,
        },
        {
          record: "pop_alert:pop_changes_15m:threshold",
          expr: 'vector(%g)' % c.thresholds.popChanges15m,
        },
        {
          record: "pop_alert:ttfb_mean_seconds:threshold",
          expr: 'vector(%g)' % c.thresholds.ttfbMeanSeconds,
        },
        {
          record: "pop_alert:cache_hit_ratio_drop:threshold",
          expr: 'vector(%g)' % c.thresholds.cacheHitRatioDrop,
        },
        {
          record: "pop_alert:shift_wide_ratio:threshold",
          expr: 'vector(%g)' % c.thresholds.shiftWideRatio,
        },
        {
          record: "pop_alert:shift_wide_vantages:threshold",
          expr: 'vector(%g)' % c.thresholds.shiftWideVantages,
        },
        {
          record: "pop_alert:resolver_spread:threshold",
          expr: 'vector(%de3)' % c.thresholds.resolverSpreadKm,
        },
        {
          record: "pop_alert:protocol_split:threshold",
          expr: 'vector(%de3)' % c.thresholds.protocolSplitKm,
        },
        {
          record: "pop_alert:cert_expiry_seconds:threshold",
          expr: 'vector(%d * 86400)' % c.thresholds.certExpiryDays,
        },
        // Where the alerts link to: every alert's runbook_url is this README's Alerts table, at
        // the alert's own row (#alert-<name in lower case>), and its dashboard_url the Grafana
        // panel that shows the alert's signal, filtered to the alert's vantage, target, IP family
        // and resolver. Set grafana_url to your Grafana (the compose stack's is localhost:3000)
        // and runbook_url to where your team reads this README.
        {
          record: "pop_alert:links:info",
          expr: |||
            label_replace(
              label_replace(vector(1), "grafana_url", "%(grafanaURL)s", "", ""),
              "runbook_url", "%(runbookBase)s", "", ""
            )
          ||| % c,
        },
      ],
    },
    // Recording rules, one group per concern so that rulers that shard by group (Thanos, Mimir,
    // Cortex) can spread them, each evaluated as often as what reads it needs: what the paging
    // alerts read follows the global evaluation interval; means, ratios and counts over windows
    // of 15 minutes or more are evaluated every minute or two. Five series per probe are
    // recorded, whatever the probe (HTTPS, content, several protocols or resolvers): its edge
    // with its baseline, its TTFB mean and last TTFB, its cache-hit ratios over 15 minutes and
    // 6 hours. Everything else is counted per target or CDN, or computed by the alert or panel
    // that reads it (make rulebench measures what they cost: README, What the rules cost).
    {
      name: "pop_exporter.edge",
      interval: "1m",
      rules: [
        // The edge answering now, with the baseline (usual) PoP as baseline_pop/baseline_cdn, so
        // alerts and panels can name the old and the new PoP. Every minute: the alerts take
        // the PoP answering now from pop_probe_edge_info and only the baseline from here, and
        // a baseline is the most frequent PoP of the last baseline_window (30 minutes by
        // default), which a minute hardly moves. The exporter sets a probe's baseline in the
        // same step as its edge (the first response's PoP is its first baseline) and deletes
        // both together, so every pop_probe_edge_info has its pop_probe_baseline_info: one
        // join, no second selection for edges without a baseline.
        {
          record: "vantage_target:pop_probe_edge_baseline:info",
          expr: |||
            pop_probe_edge_info
              * on(job, instance, vantage, target, ip_version, resolver, protocol) group_left(baseline_pop, baseline_cdn)
                label_replace(
                  label_replace(pop_probe_baseline_info, "baseline_pop", "$1", "pop", "(.*)"),
                  "baseline_cdn", "$1", "cdn", "(.*)"
                )
          |||,
        },
      ],
    },
    {
      name: "pop_exporter.ttfb",
      // A mean over 5 minutes moves little in 2; PopTTFBHigh holds for 10 minutes.
      interval: "2m",
      rules: [
        // TTFB, from what the exporter measured, never from bucket boundaries. A probe's mean
        // over 5 minutes is exact: the histogram's sum of TTFBs over its count of responses
        // (classic _sum/_count, or histogram_sum/histogram_count of the native histogram: only
        // one of the two exists, depending on how Prometheus ingests histograms). The full set's
        // per-PoP histograms of one probe are added up first, so both sets give one mean per probe.
        // A quantile of a probe's TTFB is taken by the dashboards over the last TTFBs below, not
        // interpolated inside buckets: with the basic set's buckets (50 ms, 200 ms, 1 s, 2.5 s) a
        // constant 80 ms would read as a p50 of 125 ms. No probe answered in 5 minutes: no mean.
        {
          record: "vantage_target:pop_probe_ttfb_seconds:mean5m",
          expr: |||
            (
              sum by (job, instance, vantage, target, ip_version, resolver, protocol) (rate(pop_probe_ttfb_seconds_sum[5m]))
              /
              sum by (job, instance, vantage, target, ip_version, resolver, protocol) (rate(pop_probe_ttfb_seconds_count[5m]))
            ) >= 0
            or
            (
              histogram_sum(sum by (job, instance, vantage, target, ip_version, resolver, protocol) (rate(pop_probe_ttfb_seconds[5m])))
              /
              histogram_count(sum by (job, instance, vantage, target, ip_version, resolver, protocol) (rate(pop_probe_ttfb_seconds[5m])))
            ) >= 0
          |||,
        },
      ],
    },
    {
      name: "pop_exporter.ttfb_last",
      interval: "30s",
      rules: [
        // The TTFB of the last probe that got a response, while the last probe got one (an HTTP
        // status code): one series per probe, the samples that quantile_over_time, avg_over_time
        // and the per-PoP panels read. The exporter measures a responding probe's duration and
        // its transfer phase to the same end of the body read, so the duration less the
        // transfer is exactly start -> first byte of the final response (the TTFB the histogram
        // observes, redirects included): two series per probe read instead of the four phases
        // before the first byte. While a probe gets no response its duration is the failed
        // probe's and it has no last TTFB, rather than one of a response long gone.
        {
          record: "vantage_target:pop_probe_ttfb_seconds:last",
          expr: |||
            (pop_probe_duration_seconds - ignoring(phase) pop_probe_phase_seconds{phase="transfer"})
              and (pop_probe_http_status_code > 0)
          |||,
        },
      ],
    },
    // Cache: the share of responses served from cache per probe over 15 minutes and over 6 hours
    // (PopCacheHitRatioDrop compares the two). The hits fall back to 0 so that a target that
    // never hits has a ratio of 0, not no ratio. The dashboards' 5-minute shares and per-PoP
    // shares are taken from the counters by the panels themselves, for the probes shown.
    {
      name: "pop_exporter.cache",
      interval: "2m",
      rules: [
        {
          record: "vantage_target:pop_probe_cache_hit_ratio:rate15m",
          expr: |||
            (
              sum by (job, instance, vantage, target, ip_version, resolver, protocol) (
                rate(pop_probe_responses_total{cache_status=~"hit|stale"}[15m])
              )
              or
              0 * sum by (job, instance, vantage, target, ip_version, resolver, protocol) (rate(pop_probe_responses_total[15m]))
            )
            /
            sum by (job, instance, vantage, target, ip_version, resolver, protocol) (rate(pop_probe_responses_total[15m]))
          |||,
        },
        // The 6-hour ratio is the mean of the 15-minute ratios recorded over the last 6 hours
        // (right after this evaluation's): 180 samples per probe (one every 2 minutes) instead
        // of the 6 hours of raw samples of every PoP and cache status a probe has seen (1,440
        // per series at a 15 s scrape) that a rate over 6 h reads at every evaluation. Each
        // stretch of time weighs the same, as a probe run on a fixed interval weighs its
        // responses anyway. A probe younger than 6 hours has the mean of what exists.
        {
          record: "vantage_target:pop_probe_cache_hit_ratio:rate6h",
          expr: "avg_over_time(vantage_target:pop_probe_cache_hit_ratio:rate15m[6h])\n",
        },
      ],
    },
    // Shift scope, per target and IP family: how many vantages are expected to probe it
    // (reported a probe of it within the last hour), how many report now, how many of them are
    // served far from their baseline PoP now (beyond the PopShiftedFar distance), and the share
    // of the expected ones. A vantage counts once however many exporters (an HA pair) share its
    // name. A vantage whose exporter stops reporting stays expected for an hour: it never
    // counts as moved, and the share does not grow because the others went quiet (two of five
    // far with three exporters down is 40 %, not two of two). PopExporterDown covers the
    // vantage itself. The same per CDN: how many vantages it served within the last hour, and
    // how many of those are served far from their baseline by it now (a vantage counts as
    // moved for a CDN when any of its probes answered by that CDN moved far).
    //
    // The expected vantages change when an exporter comes or goes for an hour: every 2 minutes
    // is enough. The moved ones are read by the Fleet dashboard and by the shift alerts'
    // descriptions, which are written 5 minutes after a shift at the earliest: every 2 minutes
    // too. No alert condition reads them: PopShiftedFarCDNWide counts the moved vantages
    // itself, in the evaluation where PopShiftedFar reads the same distances, so that it never
    // fires after the per-vantage pages it holds back.
    {
      name: "pop_exporter.scope",
      interval: "2m",
      rules: [
        {
          record: "target:pop_probe_vantages:count",
          expr: |||
            count by (target, ip_version) (
              count by (vantage, target, ip_version) (last_over_time(pop_probe_success[1h]))
            )
          |||,
        },
        {
          record: "target:pop_probe_vantages_reporting:count",
          expr: |||
            count by (target, ip_version) (
              count by (vantage, target, ip_version) (pop_probe_success)
            )
          |||,
        },
        {
          record: "cdn:pop_probe_vantages:count",
          expr: "count by (cdn) (count by (vantage, cdn) (last_over_time(pop_probe_edge_info[1h])))\n",
        },
      ],
    },
    {
      name: "pop_exporter.scope_shifts",
      interval: "2m",
      rules: [
        {
          record: "target:pop_probe_vantages_shifted_far:count",
          expr: |||
            count by (target, ip_version) (
              count by (vantage, target, ip_version) (
                pop_probe_shift_distance_meters > on() group_left() pop_alert:shift_distance_meters:threshold
              )
            )
            or
            0 * target:pop_probe_vantages:count
          |||,
        },
        {
          record: "target:pop_probe_vantages_shifted_far:ratio",
          expr: |||
            target:pop_probe_vantages_shifted_far:count
            / on(target, ip_version)
            target:pop_probe_vantages:count
          |||,
        },
        {
          record: "cdn:pop_probe_vantages_shifted_far:count",
          expr: |||
            count by (cdn) (
              count by (vantage, cdn) (
                (pop_probe_shift_distance_meters > on() group_left() pop_alert:shift_distance_meters:threshold)
                * on(job, instance, vantage, target, ip_version, resolver, protocol) group_left(cdn)
                  pop_probe_edge_info
              )
            )
            or
            0 * cdn:pop_probe_vantages:count
          |||,
        },
        {
          record: "cdn:pop_probe_vantages_shifted_far:ratio",
          expr: |||
            cdn:pop_probe_vantages_shifted_far:count
            / on(cdn)
            cdn:pop_probe_vantages:count
          |||,
        },
      ],
    },
    // Certificates and content versions, per target: how many distinct leaf certificates a CDN
    // serves, and how many versions have been served longer than the target's propagation
    // window. Each is counted straight from the probes' series joined with the CDN that served
    // them; nothing is recorded per probe (the alerts' descriptions and the dashboard tables
    // look the CDN and PoP up for the probes they show). Certificates change over days, and
    // PopCertMismatch holds for 30 minutes; a version counts once it has been served for its
    // propagation window, which PopContentInconsistent then holds for 2 minutes: every 2
    // minutes is enough for both.
    {
      name: "pop_exporter.certs_content",
      interval: "2m",
      rules: [
        // Certificates a CDN serves for a target, across vantages, resolvers and protocols;
        // "other" (past the per-probe cap) is no certificate of its own.
        {
          record: "target_cdn:pop_probe_tls_leaf_certs:count",
          expr: |||
            count by (target, cdn) (
              count by (target, cdn, fingerprint) (
                pop_probe_tls_leaf_cert_expiry_timestamp_seconds{fingerprint!="other"}
                  * on(job, instance, vantage, target, ip_version, resolver, protocol) group_left(cdn)
                    pop_probe_edge_info
              )
            )
          |||,
        },
        // Versions of a target served for longer than its propagation window, by probes whose
        // last probe got a response: a new version still rolling out within the window does
        // not count.
        {
          record: "target:pop_probe_content_versions_established:count",
          expr: |||
            count by (target) (
              count by (target, version) (
                (
                  (time() - pop_probe_content_version_since_timestamp_seconds{version!="other"})
                    >= on(job, instance, vantage, target, ip_version, resolver, protocol) group_left()
                      pop_probe_content_propagation_window_seconds
                )
                and on(job, instance, vantage, target, ip_version, resolver, protocol) (pop_probe_http_status_code > 0)
              )
            )
          |||,
        },
      ],
    },
    // Alerts (alerts.libsonnet), grouped like the recording rules by concern: PoP shifts (every
    // minute: they page within minutes), where a probe is served against its configuration and
    // its resolvers, how probes fare, certificates and content (every 2 minutes: they hold for
    // 5 minutes or more, or read records made every 2 minutes), and the exporters themselves
    // (at Prometheus' global interval).

    ],
  },
}
