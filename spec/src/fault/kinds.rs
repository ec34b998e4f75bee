//! Every fault kind, declared once: what it does, who carries it out (`node`: the agent;
//! `pod`: the service through the Kubernetes API), what it may aim at, where Chaos Mesh
//! keeps it, and its fields: type, reader, default, docs, Chaos Mesh path. The native
//! decoder, the Chaos Mesh import, `docs/faults.md` and the JSON the agent takes all come
//! from here (`params.rs` and `declare.rs` say how).
//!
//! The order is the order messages list kinds in; a new kind goes where it reads best.

use super::decl::{ChaosMesh, Executor, Targets};
use super::declare::fault_kinds;
use super::disk::{AbsPath, DevNum, DeviceNumber, MAX_FILL};
use super::dns::{DnsAddrs, DnsAnswer, DnsGlobs, DnsType, DnsTypes, Flag};
use super::http::{
    HttpChanges, HttpDirection, HttpMatch, HttpTarget, MatchReader, Port, ReplaceReader,
    StatusCode, Text,
};
use super::http_tls::{HttpTls, TlsReader};
use super::node::{LabelKey, LabelValue, TaintEffect, ZoneLabel, ZoneLabelKey, ZoneName};
use super::scope::NetworkScope;
use super::values::{PauseMethod, Sig, Signal};
use crate::decode::cx::{Cx, Obj};
use crate::decode::value::{Dur, Int, Names, OneOf, Opt, Pct, Rate, SignedInt, Size};
use crate::units::{BitRate, Bytes, Duration, Percent};

/// Most stress workers per fault: more only measures the scheduler.
pub const MAX_WORKERS: i64 = 256;

fault_kinds! {
    /// CPU stress: `workers` busy processes in the target's cgroup, each duty-cycled to
    /// `load` percent of one core. The workers end with the fault, never before or after.
    node StressCpu "stressCpu" {
        targets: Targets::LocalOrPods,
        instant: false,
        chaos_mesh: Some(ChaosMesh::stress("cpu")),
        check: slice_in_range,
    } {
        /// Number of worker processes (1..=256).
        workers: u32 as Int<1, { MAX_WORKERS }>, required "a whole number from 1 to 256",
            chaos_mesh "stressors.cpu.workers";
        /// Percent of one core each worker keeps busy (0..=100).
        load: Percent as Pct, required "a percentage from 0 to 100",
            chaos_mesh "stressors.cpu.load";
        /// Duty-cycle period (1ms..=10s): each worker is busy `load` percent of every
        /// slice and sleeps the rest, so a longer slice gives the same mean in longer
        /// bursts. Default 10ms. Chaos Mesh: `options: ['--cpu-load-slice MS']`.
        #[serde(skip_serializing_if = "Option::is_none")]
        load_slice("loadSlice"): Option<Duration> as Opt<Dur> = default;
    }

    /// Memory stress: `workers` processes in the target's cgroup that together allocate
    /// and touch `size`. The workers end with the fault, never before or after.
    node StressMemory "stressMemory" {
        targets: Targets::LocalOrPods,
        instant: false,
        chaos_mesh: Some(ChaosMesh::stress("memory")),
        check: hang_above_zero,
    } {
        /// Number of worker processes (1..=256); each holds `size / workers`.
        workers: u32 as Int<1, { MAX_WORKERS }>, required "a whole number from 1 to 256",
            chaos_mesh "stressors.memory.workers";
        /// Total memory to allocate and keep resident, for all workers together (Chaos
        /// Mesh's memStress splits its `size` among its workers the same way).
        size: Bytes as Size, required "a size like `256MB`",
            chaos_mesh "stressors.memory.size";
        /// Hold the memory this long, then free it and allocate and touch it again, over
        /// and over (churn instead of a steady hold). Default: hold it for the whole fault.
        /// Chaos Mesh: `options: ['--vm-hang SECONDS']`.
        #[serde(skip_serializing_if = "Option::is_none")]
        hang: Option<Duration> as Opt<Dur> = default;
        /// The workers' `oom_score_adj` (-1000..=1000): -1000 makes the OOM killer spare
        /// them and pick the target's own processes (a pod OOM), 1000 makes them its first
        /// pick. Set on the worker processes only, never on the agent. Default: inherited
        /// from the agent. (Chaos Mesh's 0 means this default.)
        #[serde(skip_serializing_if = "Option::is_none")]
        oom_score_adj("oomScoreAdj"): Option<i32> as Opt<SignedInt<-1000, 1000>> = default,
            chaos_mesh "stressors.memory.oomScoreAdj";
    }

    /// netem delay on the target's interfaces.
    node NetworkDelay "networkDelay" {
        targets: Targets::LocalOrPods,
        instant: false,
        chaos_mesh: Some(ChaosMesh::network("delay")),
    } {
        /// Added latency.
        latency: Duration as Dur, required "a duration like `10ms`",
            chaos_mesh "delay.latency";
        /// Random variation around `latency`.
        jitter: Duration as Dur = default, chaos_mesh "delay.jitter";
        /// Correlation of each delay with the previous one, percent.
        correlation: Percent as Pct = default, chaos_mesh "delay.correlation";
        ..scope: NetworkScope
    }

    /// netem packet loss.
    node NetworkLoss "networkLoss" {
        targets: Targets::LocalOrPods,
        instant: false,
        chaos_mesh: Some(ChaosMesh::network("loss")),
    } {
        /// Share of packets dropped.
        loss: Percent as Pct, required "a percentage from 0 to 100", chaos_mesh "loss.loss";
        /// Correlation with the previous packet's fate, percent.
        correlation: Percent as Pct = default, chaos_mesh "loss.correlation";
        ..scope: NetworkScope
    }

    /// netem packet duplication.
    node NetworkDuplicate "networkDuplicate" {
        targets: Targets::LocalOrPods,
        instant: false,
        chaos_mesh: Some(ChaosMesh::network("duplicate")),
    } {
        /// Share of packets sent twice.
        duplicate: Percent as Pct, required "a percentage from 0 to 100",
            chaos_mesh "duplicate.duplicate";
        /// Correlation, percent.
        correlation: Percent as Pct = default, chaos_mesh "duplicate.correlation";
        ..scope: NetworkScope
    }

    /// netem packet corruption.
    node NetworkCorrupt "networkCorrupt" {
        targets: Targets::LocalOrPods,
        instant: false,
        chaos_mesh: Some(ChaosMesh::network("corrupt")),
    } {
        /// Share of packets with a flipped bit.
        corrupt: Percent as Pct, required "a percentage from 0 to 100",
            chaos_mesh "corrupt.corrupt";
        /// Correlation, percent.
        correlation: Percent as Pct = default, chaos_mesh "corrupt.correlation";
        ..scope: NetworkScope
    }

    /// netem reordering. The kernel reorders only delayed traffic, so a `latency` is part
    /// of it, as in Chaos Mesh's `delay.reorder`.
    node NetworkReorder "networkReorder" {
        targets: Targets::LocalOrPods,
        instant: false,
        chaos_mesh: Some(ChaosMesh::network("delay").when("delay.reorder")),
    } {
        /// Share of packets sent at once (out of order) instead of delayed.
        reorder: Percent as Pct, required "a percentage from 0 to 100",
            chaos_mesh "delay.reorder.reorder";
        /// Correlation, percent.
        correlation: Percent as Pct = default, chaos_mesh "delay.reorder.correlation";
        /// Reorder every `gap`-th packet (0 = netem's default).
        gap: u32 as Int<0, { u32::MAX as i64 }> = default, chaos_mesh "delay.reorder.gap";
        /// Delay the rest of the packets by this much.
        latency: Duration as Dur,
            required "a duration like `10ms` (netem reorders only delayed packets)",
            chaos_mesh "delay.latency";
        ..scope: NetworkScope
    }

    /// Several netem effects in ONE netem qdisc — delay, loss, duplicate, corrupt, reorder
    /// and netem's own rate limit — as Chaos Mesh's `action: netem` sets them. Separate
    /// netem kinds on one target would replace each other's qdisc; this one combines them.
    /// At least one effect must be set.
    #[derive(Default)]
    node NetworkNetem "networkNetem" {
        targets: Targets::LocalOrPods,
        instant: false,
        chaos_mesh: Some(ChaosMesh::network("netem")),
        check: netem_does_something,
    } {
        /// Added latency.
        latency: Duration as Dur = default, chaos_mesh "delay.latency";
        /// Random variation around `latency`.
        jitter: Duration as Dur = default, chaos_mesh "delay.jitter";
        /// Correlation of each delay with the previous one, percent.
        delay_correlation("delayCorrelation"): Percent as Pct = default,
            chaos_mesh "delay.correlation";
        /// Share of packets dropped.
        loss: Percent as Pct = default, chaos_mesh "loss.loss";
        /// Correlation with the previous packet's fate, percent.
        loss_correlation("lossCorrelation"): Percent as Pct = default,
            chaos_mesh "loss.correlation";
        /// Share of packets sent twice.
        duplicate: Percent as Pct = default, chaos_mesh "duplicate.duplicate";
        /// Duplicate correlation, percent.
        duplicate_correlation("duplicateCorrelation"): Percent as Pct = default,
            chaos_mesh "duplicate.correlation";
        /// Share of packets with a flipped bit.
        corrupt: Percent as Pct = default, chaos_mesh "corrupt.corrupt";
        /// Corrupt correlation, percent.
        corrupt_correlation("corruptCorrelation"): Percent as Pct = default,
            chaos_mesh "corrupt.correlation";
        /// Share of packets sent at once (out of order); needs a `latency`.
        reorder: Percent as Pct = default, chaos_mesh "delay.reorder.reorder";
        /// Reorder correlation, percent.
        reorder_correlation("reorderCorrelation"): Percent as Pct = default,
            chaos_mesh "delay.reorder.correlation";
        /// Reorder every `gap`-th packet (0 = netem's default).
        gap: u32 as Int<0, { u32::MAX as i64 }> = default, chaos_mesh "delay.reorder.gap";
        /// netem's own rate limit: each packet waits its serialisation time at this rate
        /// (unlike `networkBandwidth`'s tbf, it adds to `latency` instead of queueing).
        #[serde(skip_serializing_if = "Option::is_none")]
        rate: Option<BitRate> as Opt<Rate> = default, chaos_mesh "rate.rate";
        ..scope: NetworkScope
    }

    /// tbf bandwidth limit. With `peakrate` and `minburst` tbf's second bucket caps how
    /// fast the first drains, so even a full bucket leaves at most at `peakrate`.
    node NetworkBandwidth "networkBandwidth" {
        targets: Targets::LocalOrPods,
        instant: false,
        chaos_mesh: Some(ChaosMesh::network("bandwidth")),
        check: peak_has_its_bucket,
    } {
        /// Sustained rate.
        rate: BitRate as Rate, required "a rate like `8mbit` (bits) or `1mbps` (bytes)",
            chaos_mesh "bandwidth.rate";
        /// Bytes that may queue waiting for tokens.
        limit: Bytes as Size, required "bytes that may queue, like `20KB`",
            chaos_mesh "bandwidth.limit";
        /// Bucket size in bytes (the burst).
        buffer: Bytes as Size, required "the bucket size in bytes, like `10KB`",
            chaos_mesh "bandwidth.buffer";
        /// Peak rate: the fastest the bucket may drain (tbf `peakrate`). Above `rate`, and
        /// only with `minburst`. Chaos Mesh writes a bare number, which is bits per second
        /// as `tc` reads it (`1000000` is `1mbit`); 0 there means none.
        #[serde(skip_serializing_if = "Option::is_none")]
        peakrate: Option<BitRate> as Opt<Rate> = default, chaos_mesh "bandwidth.peakrate";
        /// Size of the peak-rate bucket in bytes (tbf `mtu`/`minburst`), needed with
        /// `peakrate`: the largest packet that may pass, so at least the interface's MTU
        /// (1500 on most); the kernel drops larger packets. 0 in Chaos Mesh means none.
        #[serde(skip_serializing_if = "Option::is_none")]
        minburst: Option<Bytes> as Opt<Size> = default, chaos_mesh "bandwidth.minburst";
        ..scope: NetworkScope
    }

    /// nftables drop rules between the target and `peers` (on `ports` if set), and with
    /// each of `peerPorts` on its port. `peers`, `peerPorts`, `hosts` or a `peerSelector`
    /// must not all be empty: a partition from everything is a different fault, use
    /// `networkLoss: { loss: 100 }`.
    node NetworkPartition "networkPartition" {
        targets: Targets::LocalOrPods,
        instant: false,
        chaos_mesh: Some(ChaosMesh::network("partition")),
        check: needs_peers,
    } {
        ..scope: NetworkScope
    }

    /// Answer DNS queries for names matching `patterns` with an error (NXDOMAIN,
    /// SERVFAIL, REFUSED) or not at all (`drop`). nftables in the target's network
    /// namespace redirects its UDP and TCP queries to port 53, whatever the resolver
    /// address, IPv4 or IPv6, to a resolver the agent runs in that namespace; queries that
    /// do not match (another name, another `queryTypes` type, or spared by `probability`)
    /// go on to the target's nameserver (its `resolv.conf`, IPv4 or IPv6) and its answers
    /// come back unchanged. No CoreDNS change and no `resolv.conf` edit. Recovery removes
    /// the tables and stops the resolver. Clients that cache answers (JVMs, nscd, systemd-resolved, a sidecar's
    /// cache) see the fault only once their cached answer expires, and keep a cached
    /// error past recovery for its TTL. NAT acts on new flows, so apply and recovery
    /// also delete the namespace's conntrack entries of port 53: a client that keeps one
    /// UDP source port meets the fault, and its end, at its next query.
    node DnsError "dnsError" {
        targets: Targets::LocalOrPods,
        instant: false,
        chaos_mesh: Some(ChaosMesh::dns("error")),
        check: dns_error_matches_something,
    } {
        /// Name globs whose queries get the error (`*.example.com`, `api-?.svc`): `*` is any
        /// run of characters (dots too), `?` one character, case-insensitive; at least one.
        patterns: Vec<String> as DnsGlobs,
            required "a non-empty list of name globs like `*.example.com`",
            chaos_mesh "patterns";
        /// The answer: `nxdomain` (default), `servfail`, `refused`, or `drop` (no answer;
        /// the client times out).
        answer: DnsAnswer as OneOf<DnsAnswer> = default;
        /// Only queries of these types (`A`, `AAAA`, ...); default every type.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        query_types("queryTypes"): Vec<DnsType> as DnsTypes = default;
        /// Share of matching queries that get the error (above 0, default 100); the
        /// others are forwarded.
        #[serde(skip_serializing_if = "Option::is_none")]
        probability: Option<Percent> as Opt<Pct> = default;
    }

    /// Answer DNS queries for names matching `patterns` late: the proxy `dnsError`
    /// describes holds each matching query for `latency` (plus up to `jitter`) before it
    /// forwards it, and relays the answer unchanged. Other queries go through at once.
    /// The same warning on client-side caching holds: a cached answer is not late.
    node DnsDelay "dnsDelay" {
        targets: Targets::LocalOrPods,
        instant: false,
        chaos_mesh: None,
        check: dns_delay_in_range,
    } {
        /// Name globs whose queries are delayed, as in `dnsError`; at least one.
        patterns: Vec<String> as DnsGlobs,
            required "a non-empty list of name globs like `*.example.com`";
        /// How long each matching query is held (above 0, at most 60s).
        latency: Duration as Dur, required "a duration like `500ms`";
        /// Up to this much more, drawn uniformly per query.
        jitter: Duration as Dur = default;
        /// Only queries of these types (`A`, `AAAA`, ...); default every type.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        query_types("queryTypes"): Vec<DnsType> as DnsTypes = default;
        /// Share of matching queries delayed (above 0, default 100).
        #[serde(skip_serializing_if = "Option::is_none")]
        probability: Option<Percent> as Opt<Pct> = default;
    }

    /// Answer DNS A and AAAA queries for names matching `patterns` with `addresses`
    /// (A with the IPv4 ones, AAAA with the IPv6 ones; none of that family is an empty
    /// NOERROR answer), or with a random address each (`random`, Chaos Mesh's `action:
    /// random`), through the proxy `dnsError` describes. Queries of other types,
    /// and other names, are forwarded unchanged. The same warning on client-side caching
    /// holds: a spoofed answer is cached for `ttl`.
    node DnsSpoof "dnsSpoof" {
        targets: Targets::LocalOrPods,
        instant: false,
        chaos_mesh: Some(ChaosMesh::dns("random")),
        check: dns_spoof_matches_something,
    } {
        /// Name globs whose A/AAAA queries are spoofed, as in `dnsError`; at least one.
        patterns: Vec<String> as DnsGlobs,
            required "a non-empty list of name globs like `*.example.com`",
            chaos_mesh "patterns";
        /// The addresses answered. Give `addresses` or `random`.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        addresses: Vec<std::net::IpAddr> as DnsAddrs = default;
        /// Answer each query with a random address of its family instead. Give
        /// `addresses` or `random`.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        random: bool as Flag = default;
        /// The answers' time to live (whole seconds, at most 1h); default 5s, short so
        /// caches let go of them soon after recovery.
        #[serde(skip_serializing_if = "Option::is_none")]
        ttl: Option<Duration> as Opt<Dur> = default;
        /// Only queries of these types, `A` or `AAAA`; default both.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        query_types("queryTypes"): Vec<DnsType> as DnsTypes = default;
        /// Share of matching queries spoofed (above 0, default 100).
        #[serde(skip_serializing_if = "Option::is_none")]
        probability: Option<Percent> as Opt<Pct> = default;
    }

    /// Delay HTTP requests (or their responses) on `port` of the target by `delay`.
    /// nftables in the target's network namespace (a `tproxy` rule and an `ip rule
    /// fwmark` to a local route) hands the port's TCP connections, inbound by default,
    /// to a transparent proxy the agent runs in that namespace (HTTP/1.1 and h2c); it
    /// holds each request `match` picks for `delay` before forwarding it (`target:
    /// request`) or holds the server's answer (`target: response`). Requests `match`
    /// does not pick go to the original destination untouched. Connections open at
    /// injection are cut so keep-alive clients reconnect through the proxy. With `tls`
    /// (the server's certificate and key) HTTPS is decrypted and faulted per request;
    /// without it TLS on `port` is not decoded: a TLS connection is faulted as a whole (held `delay`
    /// before it is passed on; `httpReset`: reset) when `match` names no method, path
    /// or header, and passed through untouched otherwise.
    /// How it works, step by step: `docs/http-faults.md`.
    node HttpDelay "httpDelay" {
        targets: Targets::LocalOrPods,
        instant: false,
        chaos_mesh: Some(ChaosMesh::http("delay")),
        check: http_delay_in_range,
    } {
        /// The TCP port the HTTP traffic uses (the target's own port for `inbound`, the
        /// server's for `outbound`).
        port: u16 as Port, required "a port like `8080`", chaos_mesh "port";
        /// `inbound` (requests the target serves, default) or `outbound` (requests it
        /// sends).
        direction: HttpDirection as OneOf<HttpDirection> = default;
        /// Which requests: `method`, `path` (a prefix, or a glob with `*`/`?`),
        /// `headers` (exact values), `probability`; default every request.
        #[serde(skip_serializing_if = "is_default")]
        matching("match"): HttpMatch as MatchReader = default;
        /// `request` (held before the server sees it, default) or `response` (held
        /// after the server answered).
        target: HttpTarget as OneOf<HttpTarget> = default, chaos_mesh "target";
        /// How long each picked request is held (above 0, at most 10m).
        delay: Duration as Dur, required "a duration like `500ms`", chaos_mesh "delay";
        /// HTTPS on `port`: `certFile` and `keyFile`, the server's certificate and key
        /// (PEM files on the node), with which the proxy terminates TLS so `match` and
        /// the action apply to the decrypted requests; it re-encrypts to the original
        /// destination, which must present that same certificate, or, with `caFile`,
        /// one chaining to that CA. Default none: TLS is faulted as a whole or passed
        /// through (above).
        #[serde(skip_serializing_if = "Option::is_none")]
        tls: Option<HttpTls> as Opt<TlsReader> = default;
    }

    /// Answer HTTP requests on `port` with status `code` (and `body`) instead of the
    /// server's answer, through the proxy `httpDelay` describes. With `target:
    /// request` (default) the server never sees the request; with `target: response` it
    /// does, and its answer is replaced. A gRPC request (`content-type:
    /// application/grpc`) gets HTTP 200 with a `grpc-status` trailer mapped from `code`
    /// as gRPC maps HTTP statuses (503 -> UNAVAILABLE).
    node HttpAbort "httpAbort" {
        targets: Targets::LocalOrPods,
        instant: false,
        chaos_mesh: Some(ChaosMesh::http("replace.code")),
        check: http_abort_sane,
    } {
        /// The TCP port, as in `httpDelay`.
        port: u16 as Port, required "a port like `8080`", chaos_mesh "port";
        /// `inbound` (default) or `outbound`, as in `httpDelay`.
        direction: HttpDirection as OneOf<HttpDirection> = default;
        /// Which requests, as in `httpDelay`; default every request.
        #[serde(skip_serializing_if = "is_default")]
        matching("match"): HttpMatch as MatchReader = default;
        /// `request` (answered in the server's place, default) or `response` (the
        /// server's answer replaced).
        target: HttpTarget as OneOf<HttpTarget> = default, chaos_mesh "target";
        /// The status answered (200..=599).
        code: u16 as StatusCode, required "an HTTP status like `503`", chaos_mesh "replace.code";
        /// The body answered; default none.
        #[serde(skip_serializing_if = "Option::is_none")]
        body: Option<String> as Opt<Text> = default;
        /// HTTPS termination with the server's `certFile` and `keyFile` (and an optional
        /// `caFile`), as in `httpDelay`.
        #[serde(skip_serializing_if = "Option::is_none")]
        tls: Option<HttpTls> as Opt<TlsReader> = default;
    }

    /// Reset HTTP connections on `port` (a TCP RST, `SO_LINGER 0`) when a picked
    /// request arrives (`target: request`, default: the server never sees it) or when
    /// its answer is ready (`target: response`), through the proxy `httpDelay`
    /// describes. Clients see a connection reset. Chaos Mesh's `abort: true`.
    node HttpReset "httpReset" {
        targets: Targets::LocalOrPods,
        instant: false,
        chaos_mesh: Some(ChaosMesh::http("abort: true")),
    } {
        /// The TCP port, as in `httpDelay`.
        port: u16 as Port, required "a port like `8080`", chaos_mesh "port";
        /// `inbound` (default) or `outbound`, as in `httpDelay`.
        direction: HttpDirection as OneOf<HttpDirection> = default;
        /// Which requests, as in `httpDelay`; default every request.
        #[serde(skip_serializing_if = "is_default")]
        matching("match"): HttpMatch as MatchReader = default;
        /// `request` (reset before the server sees it, default) or `response` (after).
        target: HttpTarget as OneOf<HttpTarget> = default, chaos_mesh "target";
        /// HTTPS termination with the server's `certFile` and `keyFile` (and an optional
        /// `caFile`), as in `httpDelay`.
        #[serde(skip_serializing_if = "Option::is_none")]
        tls: Option<HttpTls> as Opt<TlsReader> = default;
    }

    /// Change picked HTTP requests (`target: request`, default) or responses (`target:
    /// response`) on `port`: set `replace.headers`, swap the whole body for
    /// `replace.body`, or apply `replace.patch`, a JSON merge-patch (RFC 7396), to a
    /// JSON body, through the proxy `httpDelay` describes. `Content-Length` follows the
    /// new body. A body that is not JSON is passed on unpatched and not counted.
    node HttpReplace "httpReplace" {
        targets: Targets::LocalOrPods,
        instant: false,
        chaos_mesh: Some(ChaosMesh::http("replace` / `patch")),
        check: http_replace_changes_something,
    } {
        /// The TCP port, as in `httpDelay`.
        port: u16 as Port, required "a port like `8080`", chaos_mesh "port";
        /// `inbound` (default) or `outbound`, as in `httpDelay`.
        direction: HttpDirection as OneOf<HttpDirection> = default;
        /// Which requests, as in `httpDelay`; default every request.
        #[serde(skip_serializing_if = "is_default")]
        matching("match"): HttpMatch as MatchReader = default;
        /// `request` (default) or `response`: which one is changed.
        target: HttpTarget as OneOf<HttpTarget> = default, chaos_mesh "target";
        /// What changes: `headers` (set), `body` (the whole body), `patch` (a JSON
        /// merge-patch of a JSON body); `body` or `patch`, not both.
        replace: HttpChanges as ReplaceReader, required "a map with `headers`, `body` or `patch`";
        /// HTTPS termination with the server's `certFile` and `keyFile` (and an optional
        /// `caFile`), as in `httpDelay`.
        #[serde(skip_serializing_if = "Option::is_none")]
        tls: Option<HttpTls> as Opt<TlsReader> = default;
    }

    /// Signal the target processes (default SIGKILL).
    #[derive(Eq, Default)]
    node ProcessKill "processKill" {
        targets: Targets::LocalOrPods,
        instant: true,
        chaos_mesh: None,
    } {
        /// Signal name or number.
        signal: Signal as Sig = default;
    }

    /// Stop the target processes for the fault's duration.
    #[derive(Eq, Default)]
    node ProcessPause "processPause" {
        targets: Targets::LocalOrPods,
        instant: false,
        chaos_mesh: None,
    } {
        /// How: SIGSTOP/SIGCONT per process, or the cgroup freezer.
        method: PauseMethod as OneOf<PauseMethod> = default;
    }

    /// Delete the target pods (Kubernetes API, run by the service).
    #[derive(Eq, Default)]
    pod PodKill "podKill" {
        targets: Targets::Pods,
        instant: true,
        chaos_mesh: Some(ChaosMesh::pod("pod-kill")),
    } {
        /// Grace period for the delete; default: the pod's own. (Chaos Mesh writes it in
        /// whole seconds.)
        #[serde(skip_serializing_if = "Option::is_none")]
        grace_period("gracePeriod"): Option<Duration> as Opt<Dur> = default,
            chaos_mesh "gracePeriod";
    }

    /// Make the pods' containers fail by swapping their images to a pause image for the
    /// duration (Kubernetes API).
    #[derive(Eq, Default)]
    pod PodFailure "podFailure" {
        targets: Targets::Pods,
        instant: false,
        chaos_mesh: Some(ChaosMesh::pod("pod-failure")),
    } {
        /// Only these containers; default all.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        container_names("containerNames"): Vec<String> as Names = default,
            chaos_mesh "containerNames";
    }

    /// Kill named containers of the target pods (via the node agent).
    #[derive(Eq, Default)]
    node ContainerKill "containerKill" {
        targets: Targets::Pods,
        instant: true,
        chaos_mesh: Some(ChaosMesh::pod("container-kill")),
        check: names_a_container,
    } {
        /// Containers to kill; at least one.
        container_names("containerNames"): Vec<String> as Names,
            required "a non-empty list of container names", chaos_mesh "containerNames";
    }

    /// Fill the filesystem holding `path`, as the target sees it (in its mount
    /// namespace), to `fill` percent used or by `size` bytes: one file,
    /// `.faultline-fill-<fault id>` in `path`, allocated with `fallocate` (never written
    /// with zeroes, so a filesystem without fallocate is refused) and sized from `statvfs`.
    /// The fill never passes 99% of the filesystem (the node keeps the last 1%); a
    /// filesystem already at or above `fill` is refused. Recovery deletes the file, also
    /// after an agent crash (the journal names it).
    node DiskFill "diskFill" {
        targets: Targets::LocalOrPods,
        instant: false,
        chaos_mesh: None,
        check: fill_or_size,
    } {
        /// A directory on the filesystem to fill, as the target sees it (`/data`); the
        /// fill file is created in it.
        path: String as AbsPath, required "an absolute path like `/var/lib/app`";
        /// How full the filesystem is to be while the fault holds, in percent of its
        /// size as `df` counts it (used + available); above 0, at most 99. Give `fill` or
        /// `size`.
        #[serde(skip_serializing_if = "Option::is_none")]
        fill: Option<Percent> as Opt<Pct> = default;
        /// How much to allocate instead (`2GiB`), refused when it would leave less than
        /// 1% of the filesystem free. Give `fill` or `size`.
        #[serde(skip_serializing_if = "Option::is_none")]
        size: Option<Bytes> as Opt<Size> = default;
    }

    /// Throttle the target cgroup's block IO on one device: cgroup v2 `io.max`
    /// (`MAJ:MIN rbps=… wbps=… riops=… wiops=…`), or v1 `blkio.throttle.*_device`. The
    /// limits are read back after writing; recovery puts back the lines there were. cgroup
    /// v1 throttles direct IO and reads only (its writeback is not charged to the cgroup);
    /// v2 throttles buffered writes too.
    node IoThrottle "ioThrottle" {
        targets: Targets::LocalOrPods,
        instant: false,
        chaos_mesh: None,
        check: device_and_a_limit,
    } {
        /// The block device, `MAJOR:MINOR` as `lsblk` shows it (`8:0`). A whole disk: the
        /// kernel throttles disks, not partitions. Give `device` or `path`.
        #[serde(skip_serializing_if = "Option::is_none")]
        device: Option<DeviceNumber> as Opt<DevNum> = default;
        /// A path, as the target sees it; its filesystem's disk is throttled (a partition
        /// counts as its disk). Give `device` or `path`.
        #[serde(skip_serializing_if = "Option::is_none")]
        path: Option<String> as Opt<AbsPath> = default;
        /// Read limit, in bytes per second (`10MiB`: 10 MiB/s).
        #[serde(skip_serializing_if = "Option::is_none")]
        rbps: Option<Bytes> as Opt<Size> = default;
        /// Write limit, in bytes per second (`1MiB`: 1 MiB/s).
        #[serde(skip_serializing_if = "Option::is_none")]
        wbps: Option<Bytes> as Opt<Size> = default;
        /// Read limit, in IO operations per second.
        #[serde(skip_serializing_if = "Option::is_none")]
        riops: Option<u32> as Opt<Int<1, { u32::MAX as i64 }>> = default;
        /// Write limit, in IO operations per second.
        #[serde(skip_serializing_if = "Option::is_none")]
        wiops: Option<u32> as Opt<Int<1, { u32::MAX as i64 }>> = default;
    }

    /// Cordon nodes: `spec.unschedulable: true`, so no new pod is scheduled on them (the
    /// pods already there keep running). The node is annotated first
    /// (`faultline.dev/cordon`: the fault, its lease, whether it was cordoned already) and
    /// recovery restores exactly the state before, also after a timeout, a failed check or
    /// an abort; a service that died is stood in for by the leader's sweep once the lease
    /// lapses. The step's `target` names the nodes (`nodes`, `nodeSelectors`, `mode`).
    #[derive(Eq, Default)]
    pod NodeCordon "nodeCordon" {
        targets: Targets::Nodes,
        instant: false,
        chaos_mesh: None,
    } {
    }

    /// Taint nodes with `key=value:effect`, annotated like `nodeCordon`
    /// (`faultline.dev/taint`); recovery removes exactly that taint and keeps every other.
    /// `NoExecute` also evicts the running pods that do not tolerate it (they are not
    /// brought back). A taint with the same key and effect already on the node is refused:
    /// recovery could not tell it from ours.
    #[derive(Eq)]
    pod NodeTaint "nodeTaint" {
        targets: Targets::Nodes,
        instant: false,
        chaos_mesh: None,
    } {
        /// The taint's key, a label key (`chaos`, `faultline.dev/chaos`).
        key: String as LabelKey, required "a taint key like `faultline.dev/chaos`";
        /// The taint's value, a label value; may be empty.
        #[serde(skip_serializing_if = "String::is_empty")]
        value: String as LabelValue = default;
        /// What the taint does: `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
        effect: TaintEffect as OneOf<TaintEffect>,
            required "one of `NoSchedule`, `PreferNoSchedule`, `NoExecute`";
    }

    /// Drain nodes as `kubectl drain` does: cordon them (as `nodeCordon`), then evict every
    /// pod on them through the Eviction API (policy/v1), skipping DaemonSet and mirror
    /// pods. An eviction a PodDisruptionBudget refuses (429) is retried until
    /// `evictionTimeout` and then reported as blocked, with the budget when the API names
    /// it; nothing is ever forced. Recovery uncordons; the evicted pods are not brought
    /// back (their controllers schedule replacements elsewhere).
    #[derive(Eq, Default)]
    pod NodeDrain "nodeDrain" {
        targets: Targets::Nodes,
        instant: false,
        chaos_mesh: None,
        check: eviction_timeout_in_range,
    } {
        /// How long evictions a PodDisruptionBudget refuses are retried (1s..=10m);
        /// default 1m. The pods still refused then are reported as blocked.
        #[serde(skip_serializing_if = "Option::is_none")]
        eviction_timeout("evictionTimeout"): Option<Duration> as Opt<Dur> = default;
        /// Grace period of each eviction; default: each pod's own.
        #[serde(skip_serializing_if = "Option::is_none")]
        grace_period("gracePeriod"): Option<Duration> as Opt<Dur> = default;
    }

    /// A zone outage: every node whose `label` is `zone` is cut off (nftables drop rules,
    /// both directions, through each node's agent: a `networkPartition` of the node's
    /// own network namespace) from the addresses of every node of the other zones. Nodes
    /// without the label are left alone. It takes no `target`: the zone is the target.
    #[derive(Eq)]
    pod ZoneOutage "zoneOutage" {
        targets: Targets::Zone,
        instant: false,
        chaos_mesh: None,
    } {
        /// The zone cut off, the value of `label` on its nodes (`eu-west-1a`).
        zone: String as ZoneName, required "a zone like `eu-west-1a`";
        /// The node label that holds the zone.
        label: ZoneLabel as ZoneLabelKey = default;
    }
}

/// The shortest and longest CPU duty-cycle slice: below 1ms the clock reads dominate, and
/// above 10s a "load" is minutes of on/off.
pub const LOAD_SLICE: (Duration, Duration) = (Duration::from_millis(1), Duration::from_secs(10));

/// A CPU worker's slice within [`LOAD_SLICE`].
fn slice_in_range(cx: &mut Cx, o: &Obj<'_>, c: &StressCpu) -> bool {
    let Some(s) = c.load_slice else { return true };
    if s < LOAD_SLICE.0 || s > LOAD_SLICE.1 {
        cx.err(
            &o.at("loadSlice"),
            pos_of(o, "loadSlice"),
            format!("{s} is out of range; allowed 1ms to 10s"),
        );
        return false;
    }
    true
}

/// A hang of 0 would free and re-allocate without pause; holding is the default.
fn hang_above_zero(cx: &mut Cx, o: &Obj<'_>, m: &StressMemory) -> bool {
    if m.hang == Some(Duration::ZERO) {
        cx.err_hint(
            &o.at("hang"),
            pos_of(o, "hang"),
            "must be longer than 0s",
            "leave `hang` out to hold the memory for the whole fault",
        );
        return false;
    }
    true
}

/// A partition needs peers (addresses, peer-port pairs, names or a selector) to be a
/// partition. Its `ports` narrow those peers; with only `peerPorts` beside them they would
/// cut every peer on those ports, which is not what the list of pairs says.
fn needs_peers(cx: &mut Cx, o: &Obj<'_>, p: &NetworkPartition) -> bool {
    let s = &p.scope;
    let whole_peers = !s.peers.is_empty()
        || s.hosts.iter().any(|h| h.port.is_none())
        || s.peer_selector.is_some();
    if !whole_peers && s.peer_ports.is_empty() && s.hosts.is_empty() {
        cx.err_hint(
            &o.at("peers"),
            o.pos,
            "a partition needs non-empty `peers` (or `peerPorts` or a `peerSelector`)",
            "to drop all traffic use `networkLoss: { loss: 100 }`",
        );
        return false;
    }
    if !whole_peers && !s.ports.is_empty() {
        cx.err_hint(
            &o.at("ports"),
            pos_of(o, "ports"),
            "`ports` narrow `peers`, and this partition has none: it would cut every peer on these ports",
            "write each peer with its port under `peerPorts` (`10.0.0.1:80`), or add the `peers` the ports are of",
        );
        return false;
    }
    true
}

/// tbf's peak bucket needs both its rate and its size, and a peak at or below the rate is
/// refused by the kernel (`EINVAL`): said here, before a run, with the field.
pub(crate) fn peak_has_its_bucket(cx: &mut Cx, o: &Obj<'_>, b: &NetworkBandwidth) -> bool {
    match (b.peakrate, b.minburst) {
        (None, None) => true,
        (Some(_), None) => {
            cx.err_hint(
                &o.at("minburst"),
                o.pos,
                "`peakrate` needs a `minburst`: the kernel's tbf sizes the peak bucket with it",
                "set it to the interface's MTU, e.g. `minburst: 1500`",
            );
            false
        }
        (None, Some(_)) => {
            cx.err_hint(
                &o.at("minburst"),
                pos_of(o, "minburst"),
                "`minburst` sizes the peak-rate bucket and needs a `peakrate`",
                "set a `peakrate` above `rate`, or drop `minburst`",
            );
            false
        }
        (Some(peak), Some(_)) if peak.bytes_per_sec() <= b.rate.bytes_per_sec() => {
            cx.err_hint(
                &o.at("peakrate"),
                pos_of(o, "peakrate"),
                format!(
                    "`peakrate` {peak} must be above `rate` {}: the kernel refuses a peak at or below the rate",
                    b.rate
                ),
                "raise `peakrate`, or drop it and `minburst` for a plain rate limit",
            );
            false
        }
        _ => true,
    }
}

/// The position of `field` in `o`, else of `o` itself.
fn pos_of(o: &Obj<'_>, field: &str) -> crate::decode::tree::Pos {
    o.get(field).map_or(o.pos, |n| n.pos)
}

/// A netem with nothing set would be a fault that does nothing; reorder needs a delay
/// (the kernel reorders only delayed packets).
fn netem_does_something(cx: &mut Cx, o: &Obj<'_>, n: &NetworkNetem) -> bool {
    let zero = Percent::default();
    let effects = [n.loss, n.duplicate, n.corrupt, n.reorder];
    if n.latency == Duration::ZERO && n.rate.is_none() && effects.iter().all(|e| *e == zero) {
        cx.err_hint(
            &o.at("latency"),
            o.pos,
            "sets no effect: a netem fault needs a latency, loss, duplicate, corrupt, reorder or rate",
            "set at least one, e.g. `latency: 10ms`",
        );
        return false;
    }
    if n.params().reorders_without_delay() {
        cx.err_hint(
            &o.at("reorder"),
            o.pos,
            "netem reorders only delayed packets",
            "set a `latency` above 0",
        );
        return false;
    }
    true
}

/// The longest `nodeDrain.evictionTimeout`: a drain that cannot finish in ten minutes is
/// blocked, and the report says by what.
pub const MAX_EVICTION_TIMEOUT: Duration = Duration::from_secs(600);

/// A drain's retry bound within 1s..=10m.
fn eviction_timeout_in_range(cx: &mut Cx, o: &Obj<'_>, d: &NodeDrain) -> bool {
    let Some(t) = d.eviction_timeout else {
        return true;
    };
    if t < Duration::from_secs(1) || t > MAX_EVICTION_TIMEOUT {
        cx.err(
            &o.at("evictionTimeout"),
            pos_of(o, "evictionTimeout"),
            format!("{t} is out of range; allowed 1s to 10m"),
        );
        return false;
    }
    true
}

/// A container kill names at least one container.
fn names_a_container(cx: &mut Cx, o: &Obj<'_>, k: &ContainerKill) -> bool {
    if k.container_names.is_empty() {
        cx.err(
            &o.at("containerNames"),
            o.pos,
            "must name at least one container",
        );
        return false;
    }
    true
}

/// A fill names how full, by `fill` or by `size`, not both; a `fill` of 0 does nothing and
/// one above [`MAX_FILL`] would take the node's last free space.
fn fill_or_size(cx: &mut Cx, o: &Obj<'_>, f: &DiskFill) -> bool {
    match (f.fill, f.size) {
        (None, None) => {
            cx.err_hint(
                &o.at("fill"),
                o.pos,
                "a disk fill needs `fill` (how full, in percent) or `size` (how much to allocate)",
                "e.g. `fill: 90` for 90% used, or `size: 2GiB`",
            );
            false
        }
        (Some(_), Some(_)) => {
            cx.err_hint(
                &o.at("size"),
                pos_of(o, "size"),
                "`fill` and `size` both say how much to fill; give one",
                "keep `fill` for a share of the filesystem, `size` for a fixed amount",
            );
            false
        }
        (Some(p), None) if p.value() <= 0.0 || p.value() > MAX_FILL => {
            cx.err_hint(
                &o.at("fill"),
                pos_of(o, "fill"),
                format!("{p}% is out of range; allowed above 0 up to {MAX_FILL}"),
                "diskFill leaves the last 1% of a filesystem free for the node; a full disk is `fill: 99`",
            );
            false
        }
        _ => true,
    }
}

/// A throttle names its device once (`device` or `path`) and limits at least one of the
/// four rates: a throttle without a limit would be a fault that does nothing.
fn device_and_a_limit(cx: &mut Cx, o: &Obj<'_>, t: &IoThrottle) -> bool {
    let mut ok = true;
    match (&t.device, &t.path) {
        (None, None) => {
            cx.err_hint(
                &o.at("device"),
                o.pos,
                "an IO throttle needs the block device: `device` (`8:0`) or `path` (its filesystem's device)",
                "`lsblk` lists devices with their MAJ:MIN",
            );
            ok = false;
        }
        (Some(_), Some(_)) => {
            cx.err_hint(
                &o.at("path"),
                pos_of(o, "path"),
                "`device` and `path` both name the device; give one",
                "keep `device` for a disk by number, `path` for the disk a directory is on",
            );
            ok = false;
        }
        _ => {}
    }
    if t.rbps.is_none() && t.wbps.is_none() && t.riops.is_none() && t.wiops.is_none() {
        cx.err_hint(
            &o.at("rbps"),
            o.pos,
            "sets no limit: an IO throttle needs `rbps`, `wbps`, `riops` or `wiops`",
            "e.g. `wbps: 1MiB` for one MiB of writes per second",
        );
        ok = false;
    }
    ok
}

/// A DNS fault names at least one pattern, and a probability of 0 would never fire.
fn dns_error_matches_something(cx: &mut Cx, o: &Obj<'_>, d: &DnsError) -> bool {
    dns_matches_something(cx, o, &d.patterns, d.probability)
}

fn dns_matches_something(
    cx: &mut Cx,
    o: &Obj<'_>,
    patterns: &[String],
    probability: Option<Percent>,
) -> bool {
    let mut ok = true;
    if patterns.is_empty() {
        cx.err_hint(
            &o.at("patterns"),
            pos_of(o, "patterns"),
            "must name at least one name glob",
            "`*` matches every name, e.g. `patterns: ['*']`",
        );
        ok = false;
    }
    if probability.is_some_and(|p| p.value() <= 0.0) {
        cx.err_hint(
            &o.at("probability"),
            pos_of(o, "probability"),
            "0% never fires: the fault would do nothing",
            "leave `probability` out for every matching query",
        );
        ok = false;
    }
    ok
}

/// The longest `dnsDelay.latency` (and jitter): clients give up long before.
pub const MAX_DNS_DELAY: Duration = Duration::from_secs(60);

/// A delay matches something, holds a query above 0 and at most a minute.
fn dns_delay_in_range(cx: &mut Cx, o: &Obj<'_>, d: &DnsDelay) -> bool {
    let mut ok = dns_matches_something(cx, o, &d.patterns, d.probability);
    if d.latency == Duration::ZERO || d.latency > MAX_DNS_DELAY {
        cx.err(
            &o.at("latency"),
            pos_of(o, "latency"),
            format!("{} is out of range; allowed above 0s up to 1m", d.latency),
        );
        ok = false;
    }
    if d.jitter > MAX_DNS_DELAY {
        cx.err(
            &o.at("jitter"),
            pos_of(o, "jitter"),
            format!("{} is out of range; allowed up to 1m", d.jitter),
        );
        ok = false;
    }
    ok
}

/// The longest spoofed TTL.
pub const MAX_DNS_TTL: Duration = Duration::from_secs(3600);

/// A spoof matches something, has addresses, whole-second TTL within an hour, and asks
/// only A/AAAA (no other type has an address to spoof).
fn dns_spoof_matches_something(cx: &mut Cx, o: &Obj<'_>, d: &DnsSpoof) -> bool {
    let mut ok = dns_matches_something(cx, o, &d.patterns, d.probability);
    if d.addresses.is_empty() != d.random {
        cx.err_hint(
            &o.at("addresses"),
            pos_of(o, "addresses"),
            if d.random {
                "`addresses` and `random` both say what to answer; give one"
            } else {
                "a spoof needs `addresses` (a non-empty list) or `random: true`"
            },
            "e.g. `addresses: [192.0.2.10]`",
        );
        ok = false;
    }
    if let Some(t) = d.ttl
        && (t > MAX_DNS_TTL || t.std().subsec_nanos() != 0)
    {
        cx.err(
            &o.at("ttl"),
            pos_of(o, "ttl"),
            format!("{t} is out of range; allowed whole seconds up to 1h"),
        );
        ok = false;
    }
    if let Some(t) = d
        .query_types
        .iter()
        .find(|t| !matches!(t, DnsType::A | DnsType::Aaaa))
    {
        cx.err_hint(
            &o.at("queryTypes"),
            pos_of(o, "queryTypes"),
            format!(
                "`{}` has no address to spoof; dnsSpoof answers `A` and `AAAA` only",
                t.name()
            ),
            "use `dnsError` to fail other query types",
        );
        ok = false;
    }
    ok
}

/// True for a value equal to its type's default (kept out of the JSON).
fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// The longest `httpDelay.delay`: clients and proxies give up long before.
pub const MAX_HTTP_DELAY: Duration = Duration::from_secs(600);

/// A delay holds a request above 0 and at most 10 minutes.
fn http_delay_in_range(cx: &mut Cx, o: &Obj<'_>, d: &HttpDelay) -> bool {
    if d.delay == Duration::ZERO || d.delay > MAX_HTTP_DELAY {
        cx.err(
            &o.at("delay"),
            pos_of(o, "delay"),
            format!("{} is out of range; allowed above 0s up to 10m", d.delay),
        );
        return false;
    }
    true
}

/// An abort's body needs a status that may carry one (not 204 or 304).
fn http_abort_sane(cx: &mut Cx, o: &Obj<'_>, a: &HttpAbort) -> bool {
    if a.body.is_some() && matches!(a.code, 204 | 304) {
        cx.err_hint(
            &o.at("body"),
            pos_of(o, "body"),
            format!("status {} has no body (RFC 9110)", a.code),
            "leave `body` out, or answer another status",
        );
        return false;
    }
    true
}

/// A replace changes something, and says once what the body becomes.
fn http_replace_changes_something(cx: &mut Cx, o: &Obj<'_>, r: &HttpReplace) -> bool {
    let at = o.get("replace").map_or(o.pos, |n| n.pos);
    if r.replace.is_empty() {
        cx.err_hint(
            &o.at("replace"),
            at,
            "changes nothing: the fault would do nothing",
            "give `headers`, `body` or `patch`, e.g. `replace: {body: 'maintenance'}`",
        );
        return false;
    }
    if r.replace.body.is_some() && r.replace.patch.is_some() {
        cx.err_hint(
            &format!("{}.patch", o.at("replace")),
            at,
            "`body` and `patch` both say what the body becomes; give one",
            "`body` replaces all of it, `patch` merges into a JSON body",
        );
        return false;
    }
    true
}

impl FaultKind {
    /// The spec key of this kind, e.g. `networkDelay`; used in logs, metrics and reports.
    pub const fn name(&self) -> &'static str {
        self.decl().name
    }

    /// Where the fault is carried out.
    pub const fn executor(&self) -> Executor {
        self.decl().executor
    }

    /// True for faults that happen once (a kill) rather than holding for a duration.
    pub const fn is_instant(&self) -> bool {
        self.decl().instant
    }
}

impl NodeFault {
    /// The spec key of this kind, e.g. `networkDelay`; used in logs, metrics and reports.
    pub const fn name(&self) -> &'static str {
        self.decl().name
    }

    /// True for faults that happen once (a kill) rather than holding for a duration.
    pub const fn is_instant(&self) -> bool {
        self.decl().instant
    }
}

impl PodFault {
    /// The spec key of this kind, e.g. `podKill`.
    pub const fn name(&self) -> &'static str {
        self.decl().name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_round_trip_through_json_as_one_key_maps() {
        let json = r#"{"networkDelay":{"latency":"10ms","jitter":"0s","correlation":100.0,"direction":"to"}}"#;
        let f: FaultKind = serde_json::from_str(json).unwrap();
        let FaultKind::NetworkDelay(d) = &f else {
            panic!("wrong kind: {f:?}")
        };
        assert_eq!(d.latency, Duration::from_millis(10));
        assert_eq!(d.correlation.value(), 100.0);
        let back: FaultKind = serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
        assert_eq!(back, f);
    }

    #[test]
    fn every_name_is_listed() {
        let kinds = [
            FaultKind::StressCpu(StressCpu {
                workers: 1,
                load: Percent::new(1.0).unwrap(),
                load_slice: None,
            }),
            FaultKind::ProcessKill(ProcessKill::default()),
            FaultKind::PodKill(PodKill::default()),
        ];
        for k in kinds {
            assert!(FaultKind::ALL_NAMES.contains(&k.name()));
        }
    }
}
