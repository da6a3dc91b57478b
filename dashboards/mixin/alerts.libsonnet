// Alerts of pop_exporter, rendered into deploy/prometheus/rules/pop_exporter.rules.yml after the
// recording rules of rules.libsonnet. Thresholds are the pop_alert:*:threshold records,
// `for:` times and the runbook links come from _config (config.libsonnet).
{
  local c = $._config,

  // during is how long an alert's condition must hold (its `for:`), in words, for the
  // descriptions that say so: "5m" is "5 minutes", "1h" "1 hour"; a duration of several
  // units ("1h30m") stays as it is written.
  local during(alert) =
    local d = c['for'][alert];
    local unit = std.substr(d, std.length(d) - 1, 1);
    local count = std.substr(d, 0, std.length(d) - 1);
    local words = { s: 'second', m: 'minute', h: 'hour', d: 'day' };
    if std.length(count) > 0 && std.all([std.member('0123456789', ch) for ch in std.stringChars(count)]) && std.objectHas(words, unit) then
      local n = std.parseInt(count);
      '%d %s%s' % [n, words[unit], if n == 1 then '' else 's']
    else d,
  local runbook(anchor) = c.runbookURLPattern % {
    base: '{{ with query "pop_alert:links:info" }}{{ . | first | label "runbook_url" }}{{ end }}',
    anchor: anchor,
  },

  sourceAlerts+:: {
    groups+: [
    // Every minute: each of these holds for 2 minutes (PopFlapping) or 5 (the shifts) before it
    // fires, so a one-minute step delays a page by a minute at most. PopShiftedFar and
    // PopShiftedFarCDNWide read the same shift distances in the same evaluation (the CDN-wide
    // alert counts the vantages itself rather than reading a record of another group's
    // schedule), so they go pending together, and the CDN-wide alert holds back the per-vantage
    // pages in Alertmanager before they are sent. Both take the PoP answering now from
    // pop_probe_edge_info, and only the baseline PoP from the edge record.
    {
      name: "pop_exporter.alerts.shifts",
      interval: "1m",
      rules: [
        // Traffic for a target moved from its usual PoP to one far away: users near this vantage
        // now cross a continent or an ocean. The value is the shift distance in km.
        // The baseline is the most frequent PoP over the exporter's baseline_window (default
        // 30m): once the new PoP has answered for about half of that window it becomes the
        // baseline and this alert resolves, so `for` must stay well below baseline_window / 2.
        // A lasting condition is what max_distance_km (PopBeyondMaxDistance) and expected_pops
        // (PopUnexpected) are for.
        {
          alert: "PopShiftedFar",
          expr: |||
            (
              pop_probe_shift_distance_meters
                > on() group_left() pop_alert:shift_distance_meters:threshold
            )
            * on(job, instance, vantage, target, ip_version, resolver, protocol) group_left(cdn, pop, city, country)
              pop_probe_edge_info
            * on(job, instance, vantage, target, ip_version, resolver, protocol) group_left(baseline_pop)
              vantage_target:pop_probe_edge_baseline:info
            / 1000
          |||,
          'for': c['for'].PopShiftedFar,
          labels: {"severity": "critical"},
          annotations: {
            runbook_url: runbook('popshiftedfar'),
            dashboard_url: "{{ with query \"pop_alert:links:info\" }}{{ . | first | label \"grafana_url\" }}{{ end }}/d/pop-shifts/pop-shifts?viewPanel=5{{ with $labels.vantage }}&var-vantage={{ . | urlquery }}{{ end }}{{ with $labels.target }}&var-target={{ . | urlquery }}{{ end }}{{ with $labels.ip_version }}&var-ip_version={{ . | urlquery }}{{ end }}{{ with $labels.resolver }}&var-resolver={{ . | urlquery }}{{ end }}{{ with $labels.protocol }}&var-protocol={{ . | urlquery }}{{ end }}",
            summary: "{{ $labels.target }} from {{ $labels.vantage }} moved from PoP {{ $labels.baseline_pop }} to {{ $labels.pop }}, {{ $value | printf \"%.0f\" }} km away{{ with printf \"target:pop_probe_vantages_shifted_far:count{target=%q,ip_version=%q}\" $labels.target $labels.ip_version | query }}{{ $moved := . | first | value }}{{ with printf \"target:pop_probe_vantages:count{target=%q,ip_version=%q}\" $labels.target $labels.ip_version | query }}{{ $all := . | first | value }}; seen from {{ $moved | printf \"%.0f\" }} of {{ $all | printf \"%.0f\" }} {{ if eq $all 1.0 }}vantage{{ else }}vantages{{ end }}{{ end }}{{ end }}",
            description: "Target {{ $labels.target }} (IPv{{ $labels.ip_version }}{{ with $labels.resolver }}, resolver {{ . }}{{ end }}) probed from vantage {{ $labels.vantage }} has been answered for " + during('PopShiftedFar') + " by {{ $labels.cdn }} PoP {{ $labels.pop }} ({{ $labels.city }}, {{ $labels.country }}) instead of its baseline PoP {{ $labels.baseline_pop }}. The new PoP is {{ $value | printf \"%.0f\" }} km from the baseline one{{ with printf \"pop_probe_distance_meters{instance=%q,vantage=%q,target=%q,ip_version=%q,resolver=%q,protocol=%q} / 1000\" $labels.instance $labels.vantage $labels.target $labels.ip_version $labels.resolver $labels.protocol | query }} and {{ . | first | value | printf \"%.0f\" }} km from the vantage{{ end }}.{{ with printf \"target:pop_probe_vantages_shifted_far:count{target=%q,ip_version=%q}\" $labels.target $labels.ip_version | query }}{{ $moved := . | first | value }}{{ with printf \"target:pop_probe_vantages:count{target=%q,ip_version=%q}\" $labels.target $labels.ip_version | query }}{{ $all := . | first | value }} Scope: {{ $labels.target }} is served far from its baseline PoP at {{ $moved | printf \"%.0f\" }} of {{ $all | printf \"%.0f\" }} {{ if eq $all 1.0 }}vantage{{ else }}vantages{{ end }} probing it{{ with printf \"target:pop_probe_vantages:count{target=%q,ip_version=%q} - on(target, ip_version) target:pop_probe_vantages_reporting:count > 0\" $labels.target $labels.ip_version | query }} ({{ . | first | value | printf \"%.0f\" }} of them not reporting now){{ end }}{{ if eq $all 1.0 }}; no other vantage probes it, so a local shift cannot be told from a CDN-wide one{{ else if printf \"target:pop_probe_vantages_shifted_far:ratio{target=%q,ip_version=%q} >= on() group_left() pop_alert:shift_wide_ratio:threshold and on(target, ip_version) target:pop_probe_vantages_shifted_far:count >= on() group_left() pop_alert:shift_wide_vantages:threshold\" $labels.target $labels.ip_version | query }}: a CDN-wide shift (see PopShiftedFarCDNWide){{ else }}: local to this vantage (its ISP, VPN or resolver){{ end }}.{{ end }}{{ end }}",
          },
        },
        // Most vantages probing a target moved far from their baseline PoP at once: the CDN (or
        // the target's own DNS or anycast setup) moved everyone, not one site's network. It fires
        // once per target and IP family however many vantages moved, and needs at least
        // pop_alert:shift_wide_vantages:threshold of them, so a lone exporter never calls a shift
        // CDN-wide. While it fires, Alertmanager (deploy/alertmanager/alertmanager.yml) holds back
        // the per-vantage pages of the same target. The value is the share of vantages that moved.
        {
          alert: "PopShiftedFarCDNWide",
          // The vantages moved far (as target:pop_probe_vantages_shifted_far:count counts them),
          // at least the threshold's number of them, over the vantages expected.
          expr: |||
            (
              (
                count by (target, ip_version) (
                  count by (vantage, target, ip_version) (
                    pop_probe_shift_distance_meters > on() group_left() pop_alert:shift_distance_meters:threshold
                  )
                )
                  >= on() group_left() pop_alert:shift_wide_vantages:threshold
              )
              / on(target, ip_version) target:pop_probe_vantages:count
            )
              >= on() group_left() pop_alert:shift_wide_ratio:threshold
          |||,
          'for': c['for'].PopShiftedFarCDNWide,
          labels: {"severity": "critical"},
          annotations: {
            runbook_url: runbook('popshiftedfarcdnwide'),
            dashboard_url: "{{ with query \"pop_alert:links:info\" }}{{ . | first | label \"grafana_url\" }}{{ end }}/d/pop-fleet/pop-fleet?viewPanel=11{{ with $labels.target }}&var-target={{ . | urlquery }}{{ end }}{{ with $labels.ip_version }}&var-ip_version={{ . | urlquery }}{{ end }}",
            summary: "{{ $labels.target }} moved to a distant PoP from {{ with printf \"target:pop_probe_vantages_shifted_far:count{target=%q,ip_version=%q}\" $labels.target $labels.ip_version | query }}{{ . | first | value | printf \"%.0f\" }}{{ end }} of {{ with printf \"target:pop_probe_vantages:count{target=%q,ip_version=%q}\" $labels.target $labels.ip_version | query }}{{ . | first | value | printf \"%.0f\" }}{{ end }} vantages at once: a CDN-wide shift",
            description: "For " + during('PopShiftedFarCDNWide') + " {{ $value | humanizePercentage }} of the vantages probing target {{ $labels.target }} (IPv{{ $labels.ip_version }}{{ with $labels.resolver }}, resolver {{ . }}{{ end }}) have been answered by a PoP more than {{ with query \"pop_alert:shift_distance_meters:threshold / 1000\" }}{{ . | first | value | printf \"%.0f\" }}{{ end }} km from their baseline PoP: {{ range $i, $s := printf \"vantage_target:pop_probe_edge_baseline:info{target=%q,ip_version=%q} and on(job, instance, vantage, target, ip_version, resolver, protocol) (pop_probe_shift_distance_meters > on() group_left() pop_alert:shift_distance_meters:threshold)\" $labels.target $labels.ip_version | query | sortByLabel \"vantage\" }}{{ if $i }}, {{ end }}{{ $s.Labels.vantage }}{{ with $s.Labels.resolver }}{{ if ne . \"system\" }} (resolver {{ . }}){{ end }}{{ end }} {{ $s.Labels.baseline_pop }} to {{ $s.Labels.cdn }} {{ $s.Labels.pop }}{{ end }}. What moved them is shared: the CDN's steering (its status page, maintenance, an anycast or DNS change) or the target's own DNS, not one site's network.",
          },
        },
        // The answering PoP keeps changing: anycast or DNS steering is unstable, and each change
        // means cold caches and new TCP paths. One probe answered elsewhere and back is two
        // changes and stays below the threshold. The value is the number of changes in 15m.
        // The current PoP is not an alert label: it changes with every flap and would restart
        // the alert each time. The description names it.
        {
          alert: "PopFlapping",
          expr: |||
            increase(pop_probe_pop_changes_total[15m])
              >= on() group_left() pop_alert:pop_changes_15m:threshold
          |||,
          'for': c['for'].PopFlapping,
          labels: {"severity": "warning"},
          annotations: {
            runbook_url: runbook('popflapping'),
            dashboard_url: "{{ with query \"pop_alert:links:info\" }}{{ . | first | label \"grafana_url\" }}{{ end }}/d/pop-shifts/pop-shifts?viewPanel=6{{ with $labels.vantage }}&var-vantage={{ . | urlquery }}{{ end }}{{ with $labels.target }}&var-target={{ . | urlquery }}{{ end }}{{ with $labels.ip_version }}&var-ip_version={{ . | urlquery }}{{ end }}{{ with $labels.resolver }}&var-resolver={{ . | urlquery }}{{ end }}{{ with $labels.protocol }}&var-protocol={{ . | urlquery }}{{ end }}",
            summary: "{{ $labels.target }} from {{ $labels.vantage }} changed PoP {{ $value | printf \"%.0f\" }} times in 15 minutes",
            description: "Target {{ $labels.target }} (IPv{{ $labels.ip_version }}{{ with $labels.resolver }}, resolver {{ . }}{{ end }}) probed from vantage {{ $labels.vantage }} changed its answering PoP {{ $value | printf \"%.0f\" }} times in the last 15 minutes.{{ with printf \"pop_probe_edge_info{instance=%q,vantage=%q,target=%q,ip_version=%q,resolver=%q,protocol=%q}\" $labels.instance $labels.vantage $labels.target $labels.ip_version $labels.resolver $labels.protocol | query }}{{ with . | first }} It is answered by {{ .Labels.cdn }} PoP {{ .Labels.pop }}{{ if .Labels.city }} ({{ .Labels.city }}, {{ .Labels.country }}){{ end }}.{{ end }}{{ end }}{{ with printf \"pop_probe_baseline_info{instance=%q,vantage=%q,target=%q,ip_version=%q,resolver=%q,protocol=%q}\" $labels.instance $labels.vantage $labels.target $labels.ip_version $labels.resolver $labels.protocol | query }}{{ with . | first }} Its baseline PoP is {{ .Labels.pop }}.{{ end }}{{ end }}{{ with printf \"pop_probe_shift_distance_meters{instance=%q,vantage=%q,target=%q,ip_version=%q,resolver=%q,protocol=%q} / 1000\" $labels.instance $labels.vantage $labels.target $labels.ip_version $labels.resolver $labels.protocol | query }}{{ with . | first }} The PoP is {{ value . | printf \"%.0f\" }} km from the baseline PoP.{{ end }}{{ end }}",
          },
        },
      ],
    },
    // Every 2 minutes: every alert here holds for 10 minutes (_config['for']) before it fires,
    // and reads the probes' current series, so a 2-minute step fires it 2 minutes late at most
    // and cannot miss a condition that lasts long enough to page.
    {
      name: "pop_exporter.alerts.placement",
      interval: "2m",
      rules: [
        // DNS-steered CDNs answer by the resolver that asks (or the client subnet it sends): from
        // the same vantage, one resolver's answer lands on a PoP far beyond the one the nearest
        // resolver's answer lands on. The value is how much farther, in km. A target asked
        // through one resolver never fires.
        {
          alert: "PopResolverFar",
          expr: |||
            (
              (
                pop_probe_distance_meters
                  - on(job, instance, vantage, target, ip_version, protocol) group_left()
                    min by (job, instance, vantage, target, ip_version, protocol) (pop_probe_distance_meters)
              )
                > on() group_left() pop_alert:resolver_spread:threshold
            )
            * on(job, instance, vantage, target, ip_version, resolver, protocol) group_left(cdn, pop, city, country)
              pop_probe_edge_info
            / 1000
          |||,
          'for': c['for'].PopResolverFar,
          labels: {"severity": "warning"},
          annotations: {
            runbook_url: runbook('popresolverfar'),
            dashboard_url: "{{ with query \"pop_alert:links:info\" }}{{ . | first | label \"grafana_url\" }}{{ end }}/d/pop-shifts/pop-shifts?viewPanel=8{{ with $labels.vantage }}&var-vantage={{ . | urlquery }}{{ end }}{{ with $labels.target }}&var-target={{ . | urlquery }}{{ end }}{{ with $labels.ip_version }}&var-ip_version={{ . | urlquery }}{{ end }}{{ with $labels.resolver }}&var-resolver={{ . | urlquery }}{{ end }}{{ with $labels.protocol }}&var-protocol={{ . | urlquery }}{{ end }}",
            summary: "{{ $labels.target }} from {{ $labels.vantage }} through resolver {{ $labels.resolver }} is served by PoP {{ $labels.pop }}, {{ $value | printf \"%.0f\" }} km farther than through the nearest resolver",
            description: "For " + during('PopResolverFar') + " resolver {{ $labels.resolver }} has sent target {{ $labels.target }} (IPv{{ $labels.ip_version }}) probed from vantage {{ $labels.vantage }} to {{ $labels.cdn }} PoP {{ $labels.pop }} ({{ $labels.city }}, {{ $labels.country }}){{ with printf \"pop_probe_distance_meters{instance=%q,vantage=%q,target=%q,ip_version=%q,resolver=%q,protocol=%q} / 1000\" $labels.instance $labels.vantage $labels.target $labels.ip_version $labels.resolver $labels.protocol | query }}, {{ . | first | value | printf \"%.0f\" }} km from the vantage{{ end }}{{ with printf \"bottomk(1, pop_probe_distance_meters{instance=%q,vantage=%q,target=%q,ip_version=%q,protocol=%q}) / 1000\" $labels.instance $labels.vantage $labels.target $labels.ip_version $labels.protocol | query }}{{ with . | first }}, while resolver {{ .Labels.resolver }} gets a PoP {{ value . | printf \"%.0f\" }} km away{{ end }}{{ end }}.{{ with printf \"pop_probe_dns_answer_info{instance=%q,vantage=%q,target=%q,ip_version=%q,resolver=%q,protocol=%q}\" $labels.instance $labels.vantage $labels.target $labels.ip_version $labels.resolver $labels.protocol | query }}{{ with . | first }} Its last answer: {{ .Labels.address }} ({{ .Labels.rcode }}{{ with .Labels.ecs_scope }}, client subnet scope /{{ . }}{{ else }}, no client subnet scope{{ end }}).{{ end }}{{ end }} DNS steering placed this resolver far away: check where that resolver is, whether it sends EDNS Client Subnet, and split-horizon DNS.",
          },
        },
        // Protocol split: for 10 minutes, one protocol of a target (HTTP/3 over QUIC, say) is
        // served by a PoP farther from the vantage than the PoP another protocol of the same
        // target, vantage, IP family and resolver gets, by more than the threshold: the QUIC
        // and TCP flows (or the edges DNS gave each) land on sites far apart. The value is how
        // much farther, in km. A target probed over one protocol, or whose other protocols get
        // no response, never fires.
        {
          alert: "PopProtocolSplit",
          // For each probe that got a response: how much farther from the vantage its PoP is
          // than the nearest PoP among the protocols of the same vantage, target, IP family and
          // resolver (0 for the nearest). The difference of the two distances from the vantage
          // is a lower bound of how far apart the two PoPs are (the triangle inequality), so a
          // large value always means PoPs far apart. A probe without a response (status code
          // 0) takes no part: its last PoP is not where it is served now.
          expr: |||
            (
              (
                (
                  pop_probe_distance_meters
                    and on(job, instance, vantage, target, ip_version, resolver, protocol) (pop_probe_http_status_code > 0)
                )
                - on(job, instance, vantage, target, ip_version, resolver) group_left()
                  min by (job, instance, vantage, target, ip_version, resolver) (
                    pop_probe_distance_meters
                      and on(job, instance, vantage, target, ip_version, resolver, protocol) (pop_probe_http_status_code > 0)
                  )
              )
                > on() group_left() pop_alert:protocol_split:threshold
            )
            * on(job, instance, vantage, target, ip_version, resolver, protocol) group_left(cdn, pop, city, country)
              pop_probe_edge_info
            / 1000
          |||,
          'for': c['for'].PopProtocolSplit,
          labels: {"severity": "warning"},
          annotations: {
            runbook_url: runbook('popprotocolsplit'),
            dashboard_url: "{{ with query \"pop_alert:links:info\" }}{{ . | first | label \"grafana_url\" }}{{ end }}/d/pop-shifts/pop-shifts?viewPanel=10{{ with $labels.vantage }}&var-vantage={{ . | urlquery }}{{ end }}{{ with $labels.target }}&var-target={{ . | urlquery }}{{ end }}{{ with $labels.ip_version }}&var-ip_version={{ . | urlquery }}{{ end }}{{ with $labels.resolver }}&var-resolver={{ . | urlquery }}{{ end }}{{ with $labels.protocol }}&var-protocol={{ . | urlquery }}{{ end }}",
            summary: "{{ $labels.target }} from {{ $labels.vantage }} over {{ $labels.protocol }} is served by PoP {{ $labels.pop }}, {{ $value | printf \"%.0f\" }} km farther than over another protocol",
            description: "For " + during('PopProtocolSplit') + " target {{ $labels.target }} (IPv{{ $labels.ip_version }}, resolver {{ $labels.resolver }}) probed from vantage {{ $labels.vantage }} over {{ $labels.protocol }} has been answered by {{ $labels.cdn }} PoP {{ $labels.pop }} ({{ $labels.city }}, {{ $labels.country }}){{ with printf \"bottomk(1, pop_probe_distance_meters{instance=%q,vantage=%q,target=%q,ip_version=%q,resolver=%q} and on(job, instance, vantage, target, ip_version, resolver, protocol) pop_probe_http_status_code > 0) / 1000\" $labels.instance $labels.vantage $labels.target $labels.ip_version $labels.resolver | query }}{{ with . | first }}, while {{ .Labels.protocol }} is served by a PoP {{ value . | printf \"%.0f\" }} km from the vantage{{ end }}{{ end }}.{{ with printf \"pop_probe_dns_answer_info{instance=%q,vantage=%q,target=%q,ip_version=%q,resolver=%q,protocol=%q}\" $labels.instance $labels.vantage $labels.target $labels.ip_version $labels.resolver $labels.protocol | query }}{{ with . | first }} It dialled {{ .Labels.address }}: the same address over the other protocol means the network routes the QUIC and TCP flows apart, another one that DNS sent them to different edges.{{ end }}{{ end }}",
          },
        },
        // The PoP is farther from the vantage than max_distance_km set for this target.
        {
          alert: "PopBeyondMaxDistance",
          expr: |||
            (
              pop_probe_distance_meters
                > on(job, instance, vantage, target, ip_version, resolver, protocol) pop_probe_max_distance_meters
            )
            * on(job, instance, vantage, target, ip_version, resolver, protocol) group_left(cdn, pop, city, country)
              pop_probe_edge_info
            * on(job, instance, vantage, target, ip_version, resolver, protocol) group_left(baseline_pop)
              vantage_target:pop_probe_edge_baseline:info
            / 1000
          |||,
          'for': c['for'].PopBeyondMaxDistance,
          labels: {"severity": "critical"},
          annotations: {
            runbook_url: runbook('popbeyondmaxdistance'),
            dashboard_url: "{{ with query \"pop_alert:links:info\" }}{{ . | first | label \"grafana_url\" }}{{ end }}/d/pop-shifts/pop-shifts?viewPanel=9{{ with $labels.vantage }}&var-vantage={{ . | urlquery }}{{ end }}{{ with $labels.target }}&var-target={{ . | urlquery }}{{ end }}{{ with $labels.ip_version }}&var-ip_version={{ . | urlquery }}{{ end }}{{ with $labels.resolver }}&var-resolver={{ . | urlquery }}{{ end }}{{ with $labels.protocol }}&var-protocol={{ . | urlquery }}{{ end }}",
            summary: "{{ $labels.target }} from {{ $labels.vantage }} is served by PoP {{ $labels.pop }}, {{ $value | printf \"%.0f\" }} km away, beyond its maximum distance",
            description: "Target {{ $labels.target }} (IPv{{ $labels.ip_version }}{{ with $labels.resolver }}, resolver {{ . }}{{ end }}) probed from vantage {{ $labels.vantage }} has been answered for " + during('PopBeyondMaxDistance') + " by {{ $labels.cdn }} PoP {{ $labels.pop }} ({{ $labels.city }}, {{ $labels.country }}), {{ $value | printf \"%.0f\" }} km from the vantage{{ with printf \"pop_probe_max_distance_meters{instance=%q,vantage=%q,target=%q,ip_version=%q,resolver=%q,protocol=%q} / 1000\" $labels.instance $labels.vantage $labels.target $labels.ip_version $labels.resolver $labels.protocol | query }}; max_distance_km is {{ . | first | value | printf \"%.0f\" }}{{ end }}. Its baseline PoP is {{ $labels.baseline_pop }}.",
          },
        },
        // The PoP is not in the target's expected_pops list.
        {
          alert: "PopUnexpected",
          expr: |||
            (pop_probe_expected_pop == 0)
            * on(job, instance, vantage, target, ip_version, resolver, protocol) group_left(cdn, pop, city, country)
              pop_probe_edge_info
            * on(job, instance, vantage, target, ip_version, resolver, protocol) group_left(baseline_pop)
              vantage_target:pop_probe_edge_baseline:info
          |||,
          'for': c['for'].PopUnexpected,
          labels: {"severity": "warning"},
          annotations: {
            runbook_url: runbook('popunexpected'),
            dashboard_url: "{{ with query \"pop_alert:links:info\" }}{{ . | first | label \"grafana_url\" }}{{ end }}/d/pop-shifts/pop-shifts?viewPanel=7{{ with $labels.vantage }}&var-vantage={{ . | urlquery }}{{ end }}{{ with $labels.target }}&var-target={{ . | urlquery }}{{ end }}{{ with $labels.ip_version }}&var-ip_version={{ . | urlquery }}{{ end }}{{ with $labels.resolver }}&var-resolver={{ . | urlquery }}{{ end }}{{ with $labels.protocol }}&var-protocol={{ . | urlquery }}{{ end }}",
            summary: "{{ $labels.target }} from {{ $labels.vantage }} is served by unexpected PoP {{ $labels.pop }}",
            description: "Target {{ $labels.target }} (IPv{{ $labels.ip_version }}{{ with $labels.resolver }}, resolver {{ . }}{{ end }}) probed from vantage {{ $labels.vantage }} has been answered for " + during('PopUnexpected') + " by {{ $labels.cdn }} PoP {{ $labels.pop }} ({{ $labels.city }}, {{ $labels.country }}), which is not in its expected_pops; its baseline PoP is {{ $labels.baseline_pop }}{{ with printf \"pop_probe_distance_meters{instance=%q,vantage=%q,target=%q,ip_version=%q,resolver=%q,protocol=%q} / 1000\" $labels.instance $labels.vantage $labels.target $labels.ip_version $labels.resolver $labels.protocol | query }} and the PoP is {{ . | first | value | printf \"%.0f\" }} km from the vantage{{ end }}.",
          },
        },
      ],
    },
    // Every 2 minutes: PopProbeFailing holds for 5 minutes, PopTTFBHigh for 10 and
    // PopCacheHitRatioDrop for 15, over means and ratios recorded every 2 minutes; a 2-minute
    // step fires them 2 minutes late at most. PopProbeFailing and PopTTFBHigh, which it
    // inhibits for the same probe, are evaluated together.
    {
      name: "pop_exporter.alerts.probes",
      interval: "2m",
      rules: [
        // Every probe of the target has failed for 5 minutes (a single success resets it).
        {
          alert: "PopProbeFailing",
          expr: "pop_probe_success == 0",
          'for': c['for'].PopProbeFailing,
          labels: {"severity": "warning"},
          annotations: {
            runbook_url: runbook('popprobefailing'),
            dashboard_url: "{{ with query \"pop_alert:links:info\" }}{{ . | first | label \"grafana_url\" }}{{ end }}/d/pop-overview/pop-overview?viewPanel=11{{ with $labels.vantage }}&var-vantage={{ . | urlquery }}{{ end }}{{ with $labels.target }}&var-target={{ . | urlquery }}{{ end }}{{ with $labels.ip_version }}&var-ip_version={{ . | urlquery }}{{ end }}{{ with $labels.resolver }}&var-resolver={{ . | urlquery }}{{ end }}{{ with $labels.protocol }}&var-protocol={{ . | urlquery }}{{ end }}",
            summary: "Probes of {{ $labels.target }} from {{ $labels.vantage }} are failing",
            description: "Every probe of target {{ $labels.target }} (IPv{{ $labels.ip_version }}{{ with $labels.resolver }}, resolver {{ . }}{{ end }}) from vantage {{ $labels.vantage }} has failed for " + during('PopProbeFailing') + ".{{ with printf \"topk(1, increase(pop_probe_failures_total{instance=%q,vantage=%q,target=%q,ip_version=%q,resolver=%q,protocol=%q}[10m]))\" $labels.instance $labels.vantage $labels.target $labels.ip_version $labels.resolver $labels.protocol | query }}{{ with . | first }} Most failures are of reason {{ .Labels.reason }}.{{ end }}{{ end }}{{ with printf \"pop_probe_edge_info{instance=%q,vantage=%q,target=%q,ip_version=%q,resolver=%q,protocol=%q}\" $labels.instance $labels.vantage $labels.target $labels.ip_version $labels.resolver $labels.protocol | query }}{{ with . | first }} Its last response came from {{ .Labels.cdn }} PoP {{ .Labels.pop }}{{ if .Labels.city }} ({{ .Labels.city }}, {{ .Labels.country }}){{ end }}.{{ end }}{{ end }}{{ with printf \"pop_probe_baseline_info{instance=%q,vantage=%q,target=%q,ip_version=%q,resolver=%q,protocol=%q}\" $labels.instance $labels.vantage $labels.target $labels.ip_version $labels.resolver $labels.protocol | query }}{{ with . | first }} Its baseline PoP is {{ .Labels.pop }}.{{ end }}{{ end }}",
          },
        },
        // Time to first byte is high for this target: its mean over 5 minutes (exact, from the
        // histogram's sum and count) above the threshold. A mean, not a p95: a probe every 60 s
        // gives 5 TTFBs per 5 minutes, too few for a 95th percentile to be more than the slowest
        // one, and a histogram_quantile over the basic set's 4 buckets would be a bucket artefact.
        // The description adds the median and the slowest of the last probes' TTFBs.
        // Like the other per-target alerts it does not carry the PoP as a label, so a PoP change
        // does not restart it; the description names the PoP.
        {
          alert: "PopTTFBHigh",
          expr: |||
            vantage_target:pop_probe_ttfb_seconds:mean5m
              > on() group_left() pop_alert:ttfb_mean_seconds:threshold
          |||,
          'for': c['for'].PopTTFBHigh,
          labels: {"severity": "warning"},
          annotations: {
            runbook_url: runbook('popttfbhigh'),
            dashboard_url: "{{ with query \"pop_alert:links:info\" }}{{ . | first | label \"grafana_url\" }}{{ end }}/d/pop-latency/pop-latency?viewPanel=4{{ with $labels.vantage }}&var-vantage={{ . | urlquery }}{{ end }}{{ with $labels.target }}&var-target={{ . | urlquery }}{{ end }}{{ with $labels.ip_version }}&var-ip_version={{ . | urlquery }}{{ end }}{{ with $labels.resolver }}&var-resolver={{ . | urlquery }}{{ end }}{{ with $labels.protocol }}&var-protocol={{ . | urlquery }}{{ end }}",
            summary: "TTFB of {{ $labels.target }} from {{ $labels.vantage }} averages {{ $value | humanizeDuration }} over 5 minutes",
            description: "The mean time to first byte of target {{ $labels.target }} (IPv{{ $labels.ip_version }}{{ with $labels.resolver }}, resolver {{ . }}{{ end }}) from vantage {{ $labels.vantage }} has been above the threshold for " + during('PopTTFBHigh') + " and is now {{ $value | humanizeDuration }} over 5 minutes{{ with printf \"quantile_over_time(0.5, vantage_target:pop_probe_ttfb_seconds:last{instance=%q,vantage=%q,target=%q,ip_version=%q,resolver=%q,protocol=%q}[5m])\" $labels.instance $labels.vantage $labels.target $labels.ip_version $labels.resolver $labels.protocol | query }}{{ with . | first }} (median of the last probes {{ value . | humanizeDuration }}{{ end }}{{ end }}{{ with printf \"max_over_time(vantage_target:pop_probe_ttfb_seconds:last{instance=%q,vantage=%q,target=%q,ip_version=%q,resolver=%q,protocol=%q}[5m])\" $labels.instance $labels.vantage $labels.target $labels.ip_version $labels.resolver $labels.protocol | query }}{{ with . | first }}, slowest {{ value . | humanizeDuration }}){{ end }}{{ end }}.{{ with printf \"pop_probe_edge_info{instance=%q,vantage=%q,target=%q,ip_version=%q,resolver=%q,protocol=%q}\" $labels.instance $labels.vantage $labels.target $labels.ip_version $labels.resolver $labels.protocol | query }}{{ with . | first }} It is answered by {{ .Labels.cdn }} PoP {{ .Labels.pop }}{{ if .Labels.city }} ({{ .Labels.city }}, {{ .Labels.country }}){{ end }}.{{ end }}{{ end }}{{ with printf \"pop_probe_baseline_info{instance=%q,vantage=%q,target=%q,ip_version=%q,resolver=%q,protocol=%q}\" $labels.instance $labels.vantage $labels.target $labels.ip_version $labels.resolver $labels.protocol | query }}{{ with . | first }} Its baseline PoP is {{ .Labels.pop }}.{{ end }}{{ end }}{{ with printf \"pop_probe_distance_meters{instance=%q,vantage=%q,target=%q,ip_version=%q,resolver=%q,protocol=%q} / 1000\" $labels.instance $labels.vantage $labels.target $labels.ip_version $labels.resolver $labels.protocol | query }}{{ with . | first }} The PoP is {{ value . | printf \"%.0f\" }} km from the vantage.{{ end }}{{ end }}",
          },
        },
        // The share of responses served from cache fell well below its level of the last 6 hours:
        // a PoP change to a cold cache, a purge, or a cache-control change at the origin.
        {
          alert: "PopCacheHitRatioDrop",
          expr: |||
            vantage_target:pop_probe_cache_hit_ratio:rate15m
              < on(job, instance, vantage, target, ip_version, resolver, protocol)
                (
                  vantage_target:pop_probe_cache_hit_ratio:rate6h
                    - on() group_left() pop_alert:cache_hit_ratio_drop:threshold
                )
          |||,
          'for': c['for'].PopCacheHitRatioDrop,
          labels: {"severity": "warning"},
          annotations: {
            runbook_url: runbook('popcachehitratiodrop'),
            dashboard_url: "{{ with query \"pop_alert:links:info\" }}{{ . | first | label \"grafana_url\" }}{{ end }}/d/pop-cache/pop-cache?viewPanel=7{{ with $labels.vantage }}&var-vantage={{ . | urlquery }}{{ end }}{{ with $labels.target }}&var-target={{ . | urlquery }}{{ end }}{{ with $labels.ip_version }}&var-ip_version={{ . | urlquery }}{{ end }}{{ with $labels.resolver }}&var-resolver={{ . | urlquery }}{{ end }}{{ with $labels.protocol }}&var-protocol={{ . | urlquery }}{{ end }}",
            summary: "Cache hit ratio of {{ $labels.target }} from {{ $labels.vantage }} dropped to {{ $value | humanizePercentage }}",
            description: "Over the last 15 minutes {{ $value | humanizePercentage }} of responses for target {{ $labels.target }} (IPv{{ $labels.ip_version }}{{ with $labels.resolver }}, resolver {{ . }}{{ end }}) from vantage {{ $labels.vantage }} were served from cache{{ with printf \"vantage_target:pop_probe_cache_hit_ratio:rate6h{instance=%q,vantage=%q,target=%q,ip_version=%q,resolver=%q,protocol=%q}\" $labels.instance $labels.vantage $labels.target $labels.ip_version $labels.resolver $labels.protocol | query }}{{ with . | first }}, against {{ value . | humanizePercentage }} over 6 hours{{ end }}{{ end }}.{{ with printf \"pop_probe_edge_info{instance=%q,vantage=%q,target=%q,ip_version=%q,resolver=%q,protocol=%q}\" $labels.instance $labels.vantage $labels.target $labels.ip_version $labels.resolver $labels.protocol | query }}{{ with . | first }} It is answered by {{ .Labels.cdn }} PoP {{ .Labels.pop }}{{ if .Labels.city }} ({{ .Labels.city }}, {{ .Labels.country }}){{ end }}.{{ end }}{{ end }}{{ with printf \"pop_probe_baseline_info{instance=%q,vantage=%q,target=%q,ip_version=%q,resolver=%q,protocol=%q}\" $labels.instance $labels.vantage $labels.target $labels.ip_version $labels.resolver $labels.protocol | query }}{{ with . | first }} Its baseline PoP is {{ .Labels.pop }}.{{ end }}{{ end }}",
          },
        },
      ],
    },
    // Every 2 minutes, like the counts they read: certificates change over days, and a content
    // version counts only once it has been served for its propagation window.
    {
      name: "pop_exporter.alerts.certs_content",
      interval: "2m",
      rules: [
        // The earliest certificate of the chain a probe is served expires within the threshold
        // (or has expired: then the value is negative).
        {
          alert: "PopCertExpiringSoon",
          expr: |||
            (pop_probe_tls_earliest_cert_expiry_timestamp_seconds - time())
              < on() group_left() pop_alert:cert_expiry_seconds:threshold
          |||,
          'for': c['for'].PopCertExpiringSoon,
          labels: {"severity": "warning"},
          annotations: {
            runbook_url: runbook('popcertexpiringsoon'),
            dashboard_url: "{{ with query \"pop_alert:links:info\" }}{{ . | first | label \"grafana_url\" }}{{ end }}/d/pop-overview/pop-overview?viewPanel=41{{ with $labels.vantage }}&var-vantage={{ . | urlquery }}{{ end }}{{ with $labels.target }}&var-target={{ . | urlquery }}{{ end }}{{ with $labels.ip_version }}&var-ip_version={{ . | urlquery }}{{ end }}{{ with $labels.resolver }}&var-resolver={{ . | urlquery }}{{ end }}{{ with $labels.protocol }}&var-protocol={{ . | urlquery }}{{ end }}",
            summary: "{{ if lt $value 0.0 }}The certificate of {{ $labels.target }} served to {{ $labels.vantage }} has expired{{ else }}The certificate of {{ $labels.target }} served to {{ $labels.vantage }} expires in {{ $value | humanizeDuration }}{{ end }}",
            description: "Target {{ $labels.target }} (IPv{{ $labels.ip_version }}{{ with $labels.resolver }}, resolver {{ . }}{{ end }}) probed from vantage {{ $labels.vantage }} is served a certificate chain whose earliest certificate {{ if lt $value 0.0 }}expired{{ with printf \"time() - pop_probe_tls_earliest_cert_expiry_timestamp_seconds{instance=%q,vantage=%q,target=%q,ip_version=%q,resolver=%q,protocol=%q}\" $labels.instance $labels.vantage $labels.target $labels.ip_version $labels.resolver $labels.protocol | query }} {{ . | first | value | humanizeDuration }} ago{{ end }}{{ else }}expires in {{ $value | humanizeDuration }}{{ end }}{{ with query \"pop_alert:cert_expiry_seconds:threshold / 86400\" }} (threshold: {{ . | first | value | printf \"%.0f\" }} days){{ end }}.{{ with printf \"pop_probe_tls_leaf_cert_expiry_timestamp_seconds{instance=%q,vantage=%q,target=%q,ip_version=%q,resolver=%q,protocol=%q} * on(job, instance, vantage, target, ip_version, resolver, protocol) group_left(cdn, pop) pop_probe_edge_info{instance=%q,vantage=%q,target=%q,ip_version=%q,resolver=%q,protocol=%q}\" $labels.instance $labels.vantage $labels.target $labels.ip_version $labels.resolver $labels.protocol $labels.instance $labels.vantage $labels.target $labels.ip_version $labels.resolver $labels.protocol | query }}{{ with . | first }} Leaf certificate {{ .Labels.fingerprint }} (serial {{ .Labels.serial }}), served by {{ .Labels.cdn }} PoP {{ .Labels.pop }}.{{ end }}{{ end }}",
          },
        },
        // One CDN serves a target more than one leaf certificate across the vantages: a
        // certificate rollout stuck at some PoPs, or a PoP serving another customer's.
        {
          alert: "PopCertMismatch",
          expr: "target_cdn:pop_probe_tls_leaf_certs:count > 1",
          'for': c['for'].PopCertMismatch,
          labels: {"severity": "warning"},
          annotations: {
            runbook_url: runbook('popcertmismatch'),
            dashboard_url: "{{ with query \"pop_alert:links:info\" }}{{ . | first | label \"grafana_url\" }}{{ end }}/d/pop-overview/pop-overview?viewPanel=41{{ with $labels.target }}&var-target={{ . | urlquery }}{{ end }}{{ with $labels.cdn }}&var-cdn={{ . | urlquery }}{{ end }}",
            summary: "{{ $labels.target }} is served {{ $value | printf \"%.0f\" }} different certificates by {{ $labels.cdn }}",
            description: "For " + during('PopCertMismatch') + " the probes of target {{ $labels.target }} have been served {{ $value | printf \"%.0f\" }} different leaf certificates by {{ $labels.cdn }}: {{ range $i, $s := printf \"count by (vantage, fingerprint, serial, pop) (pop_probe_tls_leaf_cert_expiry_timestamp_seconds{target=%q} * on(job, instance, vantage, target, ip_version, resolver, protocol) group_left(pop) pop_probe_edge_info{target=%q,cdn=%q})\" $labels.target $labels.target $labels.cdn | query | sortByLabel \"vantage\" | sortByLabel \"fingerprint\" }}{{ if $i }}; {{ end }}{{ $s.Labels.fingerprint }} (serial {{ $s.Labels.serial }}) by PoP {{ $s.Labels.pop }} to {{ $s.Labels.vantage }}{{ end }}.",
          },
        },
        // A target is served in more than one version, each for longer than its propagation
        // window: a purge or deploy that did not reach every PoP.
        {
          alert: "PopContentInconsistent",
          expr: "target:pop_probe_content_versions_established:count > 1",
          'for': c['for'].PopContentInconsistent,
          labels: {"severity": "warning"},
          annotations: {
            runbook_url: runbook('popcontentinconsistent'),
            dashboard_url: "{{ with query \"pop_alert:links:info\" }}{{ . | first | label \"grafana_url\" }}{{ end }}/d/pop-overview/pop-overview?viewPanel=42{{ with $labels.target }}&var-target={{ . | urlquery }}{{ end }}",
            summary: "{{ $labels.target }} is served in {{ $value | printf \"%.0f\" }} different versions",
            description: "Target {{ $labels.target }} has been served in {{ $value | printf \"%.0f\" }} different versions for longer than its propagation window{{ with printf \"max(pop_probe_content_propagation_window_seconds{target=%q})\" $labels.target | query }} ({{ . | first | value | humanizeDuration }}){{ end }}: {{ range $i, $s := printf \"count by (vantage, version, pop) ((pop_probe_content_version_since_timestamp_seconds{target=%q} * on(job, instance, vantage, target, ip_version, resolver, protocol) group_left(pop) pop_probe_edge_info{target=%q}) and on(job, instance, vantage, target, ip_version, resolver, protocol) pop_probe_http_status_code{target=%q} > 0)\" $labels.target $labels.target $labels.target | query | sortByLabel \"vantage\" | sortByLabel \"version\" }}{{ if $i }}; {{ end }}version {{ $s.Labels.version }} by PoP {{ $s.Labels.pop }} to {{ $s.Labels.vantage }}{{ end }}.",
          },
        },
      ],
    },
    {
      name: "pop_exporter.alerts.exporter",
      rules: [
        // The exporter rejected its configuration file on reload and keeps running the previous one.
        {
          alert: "PopExporterConfigReloadFailed",
          expr: |||
            (pop_exporter_config_last_reload_successful == 0)
              * on(job, instance) group_left(vantage) pop_vantage_info
            or on(job, instance)
            pop_exporter_config_last_reload_successful == 0
          |||,
          'for': c['for'].PopExporterConfigReloadFailed,
          labels: {"severity": "warning"},
          annotations: {
            runbook_url: runbook('popexporterconfigreloadfailed'),
            dashboard_url: "{{ with query \"pop_alert:links:info\" }}{{ . | first | label \"grafana_url\" }}{{ end }}/d/pop-overview/pop-overview?viewPanel=12{{ with $labels.vantage }}&var-vantage={{ . | urlquery }}{{ end }}",
            summary: "pop_exporter {{ $labels.instance }} failed to reload its configuration",
            description: "The last configuration reload of pop_exporter {{ $labels.instance }} (vantage {{ with $labels.vantage }}{{ . }}{{ else }}unknown{{ end }}) failed; it keeps probing with the previous configuration. Its log names the file, line and field.",
          },
        },
        // A target file (target_files:) could not be used; the exporter keeps probing its previous
        // targets (none, if no version of it was ever used). One alert per file.
        {
          alert: "PopExporterTargetFileFailed",
          expr: |||
            (pop_exporter_target_file_last_load_successful == 0)
              * on(job, instance) group_left(vantage) pop_vantage_info
            or on(job, instance, file)
            pop_exporter_target_file_last_load_successful == 0
          |||,
          'for': c['for'].PopExporterTargetFileFailed,
          labels: {"severity": "warning"},
          annotations: {
            runbook_url: runbook('popexportertargetfilefailed'),
            dashboard_url: "{{ with query \"pop_alert:links:info\" }}{{ . | first | label \"grafana_url\" }}{{ end }}/d/pop-overview/pop-overview?viewPanel=12{{ with $labels.vantage }}&var-vantage={{ . | urlquery }}{{ end }}",
            summary: "pop_exporter {{ $labels.instance }} cannot use target file {{ $labels.file }}",
            description: "The last version of target file {{ $labels.file }} of pop_exporter {{ $labels.instance }} (vantage {{ with $labels.vantage }}{{ . }}{{ else }}unknown{{ end }}) could not be used; it keeps probing the file's previous targets. Its log names the file, line and field.",
          },
        },
        // This vantage point is blind: Prometheus cannot scrape the exporter (up is 0), or the
        // samples of the Prometheus agent that scrapes it stopped arriving (its `up` was last
        // seen more than silentAfterSeconds ago, within the last hour: in a fleet of agents
        // remote-writing to one store, nobody writes up=0 for a vantage whose agent is down).
        {
          alert: "PopExporterDown",
          expr: |||
            up{job="pop_exporter"} == 0
            or
            0 * (time() - timestamp(up{job="pop_exporter"}) > %(silentAfterSeconds)d)
            or
            0 * (last_over_time(up{job="pop_exporter"}[1h]) unless up{job="pop_exporter"})
          ||| % c,
          'for': c['for'].PopExporterDown,
          labels: {"severity": "critical"},
          annotations: {
            runbook_url: runbook('popexporterdown'),
            dashboard_url: "{{ with query \"pop_alert:links:info\" }}{{ . | first | label \"grafana_url\" }}{{ end }}/d/pop-overview/pop-overview?viewPanel=12{{ with printf \"last_over_time(pop_vantage_info{job=%q,instance=%q}[1d])\" $labels.job $labels.instance | query }}&var-vantage={{ . | first | label \"vantage\" | urlquery }}{{ end }}",
            summary: "pop_exporter {{ $labels.instance }} is down",
            description: "Prometheus has failed to scrape pop_exporter {{ $labels.instance }} (job {{ $labels.job }}{{ with printf \"last_over_time(pop_vantage_info{job=%q,instance=%q}[1d])\" $labels.job $labels.instance | query }}, vantage {{ . | first | label \"vantage\" }}{{ end }}), or its samples stopped arriving, for " + during('PopExporterDown') + ": no probe results from this vantage point reach Prometheus.",
          },
        },
      ],
    },
    ],
  },
}
