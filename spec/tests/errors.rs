//! Table of bad specs: each must fail with an error at the exact field path and line, whose
//! message (or hint) says what is wrong. Every error in a file is reported, not just one.

use faultline_spec::load_str;

const NATIVE: &str =
    "apiVersion: faultline.dev/v1alpha1\nkind: Experiment\nmetadata: {name: t}\nspec:\n";
/// Line 5 is the target; steps start on line 6, the first step on line 7.
const LOCAL: &str = "  target: {local: {pid: 1}}\n  steps:\n";
const KUBE: &str =
    "  target: {namespaces: [final], labelSelectors: {app: nginx}, mode: all}\n  steps:\n";
const STRESS: &str = "apiVersion: chaos-mesh.org/v1alpha1\nkind: StressChaos\nmetadata: {name: s}\nspec:\n  mode: all\n  selector: {namespaces: [final]}\n  duration: 30s\n";
const NET: &str = "apiVersion: chaos-mesh.org/v1alpha1\nkind: NetworkChaos\nmetadata: {name: n}\nspec:\n  mode: all\n  selector: {namespaces: [final]}\n  duration: 30s\n";
const POD: &str = "apiVersion: chaos-mesh.org/v1alpha1\nkind: PodChaos\nmetadata: {name: p}\nspec:\n  mode: all\n  selector: {namespaces: [final]}\n";
const WF: &str = "apiVersion: chaos-mesh.org/v1alpha1\nkind: Workflow\nmetadata: {name: w}\nspec:\n  entry: main\n  templates:\n";

const HTTP_CM: &str = "apiVersion: chaos-mesh.org/v1alpha1\nkind: HTTPChaos\nmetadata: {name: h}\nspec:\n  mode: all\n  selector: {namespaces: [final]}\n  duration: 30s\n";

fn native(body: &str) -> String {
    format!("{NATIVE}{LOCAL}{body}")
}
fn kube(body: &str) -> String {
    format!("{NATIVE}{KUBE}{body}")
}
/// A native experiment whose Kubernetes target carries `extra` (line 5).
fn kube_sel(extra: &str) -> String {
    format!(
        "{NATIVE}  target: {{namespaces: [final], {extra}, mode: all}}\n  steps:\n    - podKill: {{}}\n"
    )
}
fn with(head: &str, body: &str) -> String {
    format!("{head}{body}")
}

/// (name, document, path, line, text that must appear in the message or hint)
fn cases() -> Vec<(&'static str, String, &'static str, usize, &'static str)> {
    vec![
        ("maxDuration malformed", format!("{NATIVE}  guard: {{maxDuration: soon}}\n{LOCAL}    - processKill: {{}}\n"), "spec.guard.maxDuration", 5, "a duration like `1h`"),
        ("maxDuration zero", format!("{NATIVE}  guard: {{maxDuration: 0s}}\n{LOCAL}    - processKill: {{}}\n"), "spec.guard.maxDuration", 5, "must be longer than 0s"),
        ("untilAborted with duration", native("    - stressCpu: {workers: 1, load: 5}\n      duration: 1s\n      untilAborted: true\n"), "spec.steps[0].untilAborted", 9, "both set"),
        ("untilAborted on a kill", native("    - processKill: {}\n      untilAborted: true\n"), "spec.steps[0].untilAborted", 8, "happens once"),
        ("verify not a bool or map", native("    - stressCpu: {workers: 1, load: 5}\n      duration: 1s\n      verify: maybe\n"), "spec.steps[0].verify", 9, "false, true, or a map"),
        ("verify within zero", native("    - stressCpu: {workers: 1, load: 5}\n      duration: 1s\n      verify: {within: 0s}\n"), "spec.steps[0].verify.within", 9, "longer than 0s"),
        ("verify minCoverage out of range", native("    - stressCpu: {workers: 1, load: 5}\n      duration: 1s\n      verify:\n        minCoverage: 150\n"), "spec.steps[0].verify.minCoverage", 10, "0 to 100"),
        ("verify minCoverage zero", native("    - stressCpu: {workers: 1, load: 5}\n      duration: 1s\n      verify: {minCoverage: 0}\n"), "spec.steps[0].verify.minCoverage", 9, "verify: false"),
        ("verify unknown field", native("    - stressCpu: {workers: 1, load: 5}\n      duration: 1s\n      verify: {witin: 2s}\n"), "spec.steps[0].verify.witin", 9, "did you mean `within`"),
        ("verify on a group", native("    - serial: [{processKill: {}}]\n      verify: false\n"), "spec.steps[0].verify", 8, "set it on the fault steps inside"),
        ("untilAborted not a bool", native("    - stressCpu: {workers: 1, load: 5}\n      untilAborted: forever\n"), "spec.steps[0].untilAborted", 8, "true"),
        ("group deadline zero", native("    - serial:\n        - suspend: 1s\n      deadline: 0s\n"), "spec.steps[0].deadline", 9, "must be longer than 0s"),
        ("deadline on a suspend", native("    - suspend: 1s\n      deadline: 5s\n"), "spec.steps[0].deadline", 8, "does not apply"),
        ("cm remoteCluster refused with why", with(POD, "  action: pod-kill\n  remoteCluster: cluster-b\n"), "spec.remoteCluster", 8, "one service per cluster"),
        ("cm remoteCluster inside a workflow", with(WF, "    - name: main\n      templateType: PodChaos\n      podChaos: {action: pod-kill, mode: one, selector: {namespaces: [a]}, remoteCluster: b}\n"), "spec.templates[0].podChaos.remoteCluster", 9, "other clusters"),
        ("cm 1.x scheduler refused", with(STRESS, "  stressors: {cpu: {workers: 1}}\n  scheduler: {cron: '@every 1m'}\n"), "spec.scheduler", 9, "kind: Schedule"),
        ("nodes not a list", kube_sel("nodes: node-a"), "spec.target.nodes", 5, "list"),
        ("nodeSelectors not a map", kube_sel("nodeSelectors: [pool]"), "spec.target.nodeSelectors", 5, "map"),
        ("cm serial deadline malformed", with(WF, "    - {name: main, templateType: Serial, deadline: soon, children: [w]}\n    - {name: w, templateType: Suspend, deadline: 1s}\n"), "spec.templates[0].deadline", 7, "a duration"),
        ("silence matchers not a map", format!("{NATIVE}  silenceAlerts: [namespace]\n{LOCAL}    - processKill: {{}}\n"), "spec.silenceAlerts", 5, "map"),
        ("typo in a fault field", native("    - networkDelay: {latncy: 10ms}\n      duration: 1s\n"), "spec.steps[0].networkDelay.latncy", 7, "did you mean `latency`"),
        ("netem without effect", native("    - networkNetem: {direction: to}\n      duration: 1s\n"), "spec.steps[0].networkNetem.latency", 7, "sets no effect"),
        ("netem reorder without delay", native("    - networkNetem: {reorder: 10}\n      duration: 1s\n"), "spec.steps[0].networkNetem.reorder", 7, "only delayed packets"),
        ("missing latency", native("    - networkDelay: {jitter: 1ms}\n      duration: 1s\n"), "spec.steps[0].networkDelay.latency", 7, "missing required field `latency`"),
        ("dnsError without patterns", native("    - dnsError: {answer: servfail}\n      duration: 1s\n"), "spec.steps[0].dnsError.patterns", 7, "a non-empty list of name globs"),
        ("dnsError empty patterns", native("    - dnsError: {patterns: []}\n      duration: 1s\n"), "spec.steps[0].dnsError.patterns", 7, "at least one name glob"),
        ("dnsError bad glob", native("    - dnsError:\n        patterns: ['exa mple.com']\n      duration: 1s\n"), "spec.steps[0].dnsError.patterns", 8, "a name glob has letters"),
        ("dnsError unknown answer", native("    - dnsError:\n        patterns: ['*']\n        answer: timeout\n      duration: 1s\n"), "spec.steps[0].dnsError.answer", 9, "nxdomain"),
        ("dnsError unknown query type", native("    - dnsError:\n        patterns: ['*']\n        queryTypes: [A, AXFRX]\n      duration: 1s\n"), "spec.steps[0].dnsError.queryTypes", 9, "unknown query type `AXFRX`"),
        ("dnsError probability 0", native("    - dnsError:\n        patterns: ['*']\n        probability: 0\n      duration: 1s\n"), "spec.steps[0].dnsError.probability", 9, "never fires"),
        ("dnsError probability above 100", native("    - dnsError:\n        patterns: ['*']\n        probability: 150\n      duration: 1s\n"), "spec.steps[0].dnsError.probability", 9, "100"),
        ("dnsDelay without latency", native("    - dnsDelay: {patterns: ['*']}\n      duration: 1s\n"), "spec.steps[0].dnsDelay.latency", 7, "a duration like `500ms`"),
        ("dnsDelay latency 0", native("    - dnsDelay:\n        patterns: ['*']\n        latency: 0s\n      duration: 1s\n"), "spec.steps[0].dnsDelay.latency", 9, "allowed above 0s up to 1m"),
        ("dnsDelay latency above a minute", native("    - dnsDelay:\n        patterns: ['*']\n        latency: 2m\n      duration: 1s\n"), "spec.steps[0].dnsDelay.latency", 9, "allowed above 0s up to 1m"),
        ("dnsDelay jitter above a minute", native("    - dnsDelay:\n        patterns: ['*']\n        latency: 1s\n        jitter: 2m\n      duration: 1s\n"), "spec.steps[0].dnsDelay.jitter", 10, "allowed up to 1m"),
        ("dnsDelay without patterns", native("    - dnsDelay: {latency: 1s}\n      duration: 1s\n"), "spec.steps[0].dnsDelay.patterns", 7, "a non-empty list of name globs"),
        ("dnsSpoof without addresses", native("    - dnsSpoof: {patterns: ['*']}\n      duration: 1s\n"), "spec.steps[0].dnsSpoof.addresses", 7, "`addresses` (a non-empty list) or `random: true`"),
        ("dnsSpoof empty addresses", native("    - dnsSpoof: {patterns: ['*'], addresses: []}\n      duration: 1s\n"), "spec.steps[0].dnsSpoof.addresses", 7, "or `random: true`"),
        ("dnsSpoof addresses and random", native("    - dnsSpoof: {patterns: ['*'], addresses: [10.0.0.1], random: true}\n      duration: 1s\n"), "spec.steps[0].dnsSpoof.addresses", 7, "give one"),
        ("cm dns unknown action", "apiVersion: chaos-mesh.org/v1alpha1\nkind: DNSChaos\nmetadata: {name: d}\nspec:\n  mode: all\n  selector: {namespaces: [a]}\n  action: delay\n  duration: 1s\n".into(), "spec.action", 7, "error"),
        ("cm dns bad pattern", "apiVersion: chaos-mesh.org/v1alpha1\nkind: DNSChaos\nmetadata: {name: d}\nspec:\n  mode: all\n  selector: {namespaces: [a]}\n  action: error\n  patterns: ['a b']\n  duration: 1s\n".into(), "spec.patterns", 8, "a name glob has letters"),
        ("cm dns zero duration", "apiVersion: chaos-mesh.org/v1alpha1\nkind: DNSChaos\nmetadata: {name: d}\nspec:\n  mode: all\n  selector: {namespaces: [a]}\n  action: random\n  duration: 0s\n".into(), "spec.duration", 8, "must be longer than 0s"),
        ("dnsSpoof bad address", native("    - dnsSpoof:\n        patterns: ['*']\n        addresses: [10.0.0.300]\n      duration: 1s\n"), "spec.steps[0].dnsSpoof.addresses", 9, "`10.0.0.300` is not an IP address"),
        ("dnsSpoof MX", native("    - dnsSpoof:\n        patterns: ['*']\n        addresses: [10.0.0.3]\n        queryTypes: [MX]\n      duration: 1s\n"), "spec.steps[0].dnsSpoof.queryTypes", 10, "`MX` has no address to spoof"),
        ("dnsSpoof ttl above an hour", native("    - dnsSpoof:\n        patterns: ['*']\n        addresses: [10.0.0.3]\n        ttl: 2h\n      duration: 1s\n"), "spec.steps[0].dnsSpoof.ttl", 10, "whole seconds up to 1h"),
        ("dnsSpoof ttl not whole seconds", native("    - dnsSpoof:\n        patterns: ['*']\n        addresses: [10.0.0.3]\n        ttl: 1500ms\n      duration: 1s\n"), "spec.steps[0].dnsSpoof.ttl", 10, "whole seconds up to 1h"),
        ("dnsSpoof bad glob", native("    - dnsSpoof:\n        patterns: ['db/*']\n        addresses: [10.0.0.3]\n      duration: 1s\n"), "spec.steps[0].dnsSpoof.patterns", 8, "holds `/`"),
        ("httpDelay without port", native("    - httpDelay: {delay: 1s}\n      duration: 1s\n"), "spec.steps[0].httpDelay.port", 7, "a port like `8080`"),
        ("httpDelay port 0", native("    - httpDelay:\n        port: 0\n        delay: 1s\n      duration: 1s\n"), "spec.steps[0].httpDelay.port", 8, "1"),
        ("httpDelay port above 65535", native("    - httpDelay:\n        port: 70000\n        delay: 1s\n      duration: 1s\n"), "spec.steps[0].httpDelay.port", 8, "65535"),
        ("httpDelay without delay", native("    - httpDelay: {port: 80}\n      duration: 1s\n"), "spec.steps[0].httpDelay.delay", 7, "a duration like `500ms`"),
        ("httpDelay delay 0", native("    - httpDelay:\n        port: 80\n        delay: 0s\n      duration: 1s\n"), "spec.steps[0].httpDelay.delay", 9, "allowed above 0s up to 10m"),
        ("httpDelay delay above 10m", native("    - httpDelay:\n        port: 80\n        delay: 1h\n      duration: 1s\n"), "spec.steps[0].httpDelay.delay", 9, "allowed above 0s up to 10m"),
        ("httpDelay unknown direction", native("    - httpDelay:\n        port: 80\n        delay: 1s\n        direction: ingress\n      duration: 1s\n"), "spec.steps[0].httpDelay.direction", 10, "inbound, outbound"),
        ("httpDelay unknown target", native("    - httpDelay:\n        port: 80\n        delay: 1s\n        target: reply\n      duration: 1s\n"), "spec.steps[0].httpDelay.target", 10, "request, response"),
        ("httpDelay match not a map", native("    - httpDelay:\n        port: 80\n        delay: 1s\n        match: /api\n      duration: 1s\n"), "spec.steps[0].httpDelay.match", 10, "expected a map with fields method, path"),
        ("httpDelay match unknown field", native("    - httpDelay:\n        port: 80\n        delay: 1s\n        match: {pathPrefix: /api}\n      duration: 1s\n"), "spec.steps[0].httpDelay.match.pathPrefix", 10, "unknown field"),
        ("httpAbort lower-case method", native("    - httpAbort:\n        port: 80\n        code: 503\n        match: {method: get}\n      duration: 1s\n"), "spec.steps[0].httpAbort.match.method", 10, "methods are case-sensitive: `GET`"),
        ("httpAbort bad method", native("    - httpAbort:\n        port: 80\n        code: 503\n        match: {method: 'GE T'}\n      duration: 1s\n"), "spec.steps[0].httpAbort.match.method", 10, "not a method like `GET`"),
        ("httpAbort relative path", native("    - httpAbort:\n        port: 80\n        code: 503\n        match: {path: api/v1}\n      duration: 1s\n"), "spec.steps[0].httpAbort.match.path", 10, "starts with `/`"),
        ("httpAbort bad header name", native("    - httpAbort:\n        port: 80\n        code: 503\n        match:\n          headers: {'x user': '1'}\n      duration: 1s\n"), "spec.steps[0].httpAbort.match.headers.x user", 11, "not a header name"),
        ("httpAbort header value with newline", native("    - httpAbort:\n        port: 80\n        code: 503\n        match:\n          headers: {x-user: \"a\\nb\"}\n      duration: 1s\n"), "spec.steps[0].httpAbort.match.headers.x-user", 11, "no line break"),
        ("httpAbort probability 0", native("    - httpAbort:\n        port: 80\n        code: 503\n        match: {probability: 0}\n      duration: 1s\n"), "spec.steps[0].httpAbort.match.probability", 10, "never fires"),
        ("httpAbort probability above 100", native("    - httpAbort:\n        port: 80\n        code: 503\n        match: {probability: 101}\n      duration: 1s\n"), "spec.steps[0].httpAbort.match.probability", 10, "100"),
        ("httpAbort without code", native("    - httpAbort: {port: 80}\n      duration: 1s\n"), "spec.steps[0].httpAbort.code", 7, "an HTTP status like `503`"),
        ("httpAbort code 99", native("    - httpAbort:\n        port: 80\n        code: 99\n      duration: 1s\n"), "spec.steps[0].httpAbort.code", 9, "200"),
        ("httpAbort code 600", native("    - httpAbort:\n        port: 80\n        code: 600\n      duration: 1s\n"), "spec.steps[0].httpAbort.code", 9, "599"),
        ("httpAbort body with 204", native("    - httpAbort:\n        port: 80\n        code: 204\n        body: gone\n      duration: 1s\n"), "spec.steps[0].httpAbort.body", 10, "status 204 has no body"),
        ("httpAbort body not text", native("    - httpAbort:\n        port: 80\n        code: 503\n        body: {a: 1}\n      duration: 1s\n"), "spec.steps[0].httpAbort.body", 10, "expected a string"),
        ("httpAbort port above 65535", native("    - httpAbort:\n        port: 70000\n        code: 503\n      duration: 1s\n"), "spec.steps[0].httpAbort.port", 8, "65535"),
        ("httpAbort unknown direction", native("    - httpAbort:\n        port: 80\n        code: 503\n        direction: both\n      duration: 1s\n"), "spec.steps[0].httpAbort.direction", 10, "inbound, outbound"),
        ("httpAbort unknown target", native("    - httpAbort:\n        port: 80\n        code: 503\n        target: reply\n      duration: 1s\n"), "spec.steps[0].httpAbort.target", 10, "request, response"),
        ("httpReset match not a map", native("    - httpReset:\n        port: 80\n        match: /api\n      duration: 1s\n"), "spec.steps[0].httpReset.match", 9, "expected a map with fields method, path"),
        ("httpReset unknown target", native("    - httpReset:\n        port: 80\n        target: reply\n      duration: 1s\n"), "spec.steps[0].httpReset.target", 9, "request, response"),
        ("httpReplace port 0", native("    - httpReplace:\n        port: 0\n        replace: {body: x}\n      duration: 1s\n"), "spec.steps[0].httpReplace.port", 8, "1"),
        ("httpReplace unknown direction", native("    - httpReplace:\n        port: 80\n        replace: {body: x}\n        direction: ingress\n      duration: 1s\n"), "spec.steps[0].httpReplace.direction", 10, "inbound, outbound"),
        ("httpReplace match not a map", native("    - httpReplace:\n        port: 80\n        replace: {body: x}\n        match: /api\n      duration: 1s\n"), "spec.steps[0].httpReplace.match", 10, "expected a map with fields method, path"),
        ("httpReplace unknown target", native("    - httpReplace:\n        port: 80\n        replace: {body: x}\n        target: reply\n      duration: 1s\n"), "spec.steps[0].httpReplace.target", 10, "request, response"),
        ("httpReset without port", native("    - httpReset: {target: response}\n      duration: 1s\n"), "spec.steps[0].httpReset.port", 7, "a port like `8080`"),
        ("httpReplace without replace", native("    - httpReplace: {port: 80}\n      duration: 1s\n"), "spec.steps[0].httpReplace.replace", 7, "missing required field `replace`"),
        ("httpReplace empty replace", native("    - httpReplace:\n        port: 80\n        replace: {}\n      duration: 1s\n"), "spec.steps[0].httpReplace.replace", 9, "changes nothing"),
        ("httpReplace body and patch", native("    - httpReplace:\n        port: 80\n        replace: {body: x, patch: {a: 1}}\n      duration: 1s\n"), "spec.steps[0].httpReplace.replace.patch", 9, "give one"),
        ("httpReplace patch not JSON", native("    - httpReplace:\n        port: 80\n        replace: {patch: '{a:'}\n      duration: 1s\n"), "spec.steps[0].httpReplace.replace.patch", 9, "not JSON"),
        ("httpReplace patch a list", native("    - httpReplace:\n        port: 80\n        replace: {patch: [1, 2]}\n      duration: 1s\n"), "spec.steps[0].httpReplace.replace.patch", 9, "JSON merge-patch"),
        ("httpReplace bad header", native("    - httpReplace:\n        port: 80\n        replace:\n          headers: {'a:b': c}\n      duration: 1s\n"), "spec.steps[0].httpReplace.replace.headers.a:b", 10, "not a header name"),
        ("httpReplace unknown field", native("    - httpReplace:\n        port: 80\n        replace: {status: 500}\n      duration: 1s\n"), "spec.steps[0].httpReplace.replace.status", 9, "unknown field"),
        ("httpDelay tls without keyFile", native("    - httpDelay:\n        port: 443\n        delay: 1s\n        tls: {certFile: /etc/tls/server.crt}\n      duration: 1s\n"), "spec.steps[0].httpDelay.tls.keyFile", 10, "missing required field `keyFile`"),
        ("httpAbort tls relative certFile", native("    - httpAbort:\n        port: 443\n        code: 503\n        tls: {certFile: server.crt, keyFile: /etc/tls/server.key}\n      duration: 1s\n"), "spec.steps[0].httpAbort.tls.certFile", 10, "not an absolute path"),
        ("httpReset tls not a map", native("    - httpReset:\n        port: 443\n        tls: true\n      duration: 1s\n"), "spec.steps[0].httpReset.tls", 9, "expected a map with fields certFile, keyFile, caFile"),
        ("httpReplace tls relative caFile", native("    - httpReplace:\n        port: 443\n        replace: {body: x}\n        tls: {certFile: /s.crt, keyFile: /s.key, caFile: ca.pem}\n      duration: 1s\n"), "spec.steps[0].httpReplace.tls.caFile", 10, "not an absolute path"),
        ("httpAbort tls unknown field", native("    - httpAbort:\n        port: 443\n        code: 503\n        tls: {certFile: /s.crt, keyFile: /s.key, secretName: s}\n      duration: 1s\n"), "spec.steps[0].httpAbort.tls.secretName", 10, "unknown field"),
        ("httpDelay tls empty certFile", native("    - httpDelay:\n        port: 443\n        delay: 1s\n        tls: {certFile: '', keyFile: /s.key}\n      duration: 1s\n"), "spec.steps[0].httpDelay.tls.certFile", 10, "must not be empty"),
        ("cm http without target", with(HTTP_CM, "  port: 80\n  abort: true\n"), "spec.target", 5, "Request or Response"),
        ("cm http target lower case", with(HTTP_CM, "  target: request\n  port: 80\n  abort: true\n"), "spec.target", 8, "Request"),
        ("cm http without port", with(HTTP_CM, "  target: Request\n  abort: true\n"), "spec.port", 5, "missing required field `port`"),
        ("cm http without effect", with(HTTP_CM, "  target: Request\n  port: 80\n"), "spec.abort", 5, "does nothing"),
        ("cm http abort and delay", with(HTTP_CM, "  target: Request\n  port: 80\n  abort: true\n  delay: 1s\n"), "spec.delay", 11, "split it"),
        ("cm http replace path", with(HTTP_CM, "  target: Request\n  port: 80\n  replace:\n    path: /v2\n"), "spec.replace.path", 11, "not where a request goes"),
        ("cm http tls", with(HTTP_CM, "  target: Request\n  port: 443\n  abort: true\n  tls: {secretName: s}\n"), "spec.tls", 11, "not from a Secret"),
        ("cm http response code matcher", with(HTTP_CM, "  target: Response\n  port: 80\n  code: 500\n  abort: true\n"), "spec.code", 10, "does not match responses by status"),
        ("cm http bad base64 body", with(HTTP_CM, "  target: Response\n  port: 80\n  replace:\n    body: '***'\n"), "spec.replace.body", 11, "not base64"),
        ("cm http patch not JSON", with(HTTP_CM, "  target: Response\n  port: 80\n  patch:\n    body: {type: JSON, value: 'nope'}\n"), "spec.patch.body.value", 11, "not a JSON object"),
        ("duplicate correlation above 100", native("    - networkDuplicate: {duplicate: 5, correlation: 120}\n      duration: 1s\n"), "spec.steps[0].networkDuplicate.correlation", 7, "allowed 0 to 100"),
        ("reorder correlation below 0", native("    - networkReorder: {reorder: 5, latency: 10ms, correlation: -1}\n      duration: 1s\n"), "spec.steps[0].networkReorder.correlation", 7, "allowed 0 to 100"),
        ("netem jitter not a duration", native("    - networkNetem: {latency: 10ms, jitter: forever}\n      duration: 1s\n"), "spec.steps[0].networkNetem.jitter", 7, "not a number followed by a unit"),
        ("netem delayCorrelation above 100", native("    - networkNetem: {latency: 10ms, delayCorrelation: 101}\n      duration: 1s\n"), "spec.steps[0].networkNetem.delayCorrelation", 7, "allowed 0 to 100"),
        ("netem loss above 100", native("    - networkNetem: {loss: 200}\n      duration: 1s\n"), "spec.steps[0].networkNetem.loss", 7, "allowed 0 to 100"),
        ("netem lossCorrelation above 100", native("    - networkNetem: {loss: 5, lossCorrelation: 101}\n      duration: 1s\n"), "spec.steps[0].networkNetem.lossCorrelation", 7, "allowed 0 to 100"),
        ("netem duplicate below 0", native("    - networkNetem: {duplicate: -3}\n      duration: 1s\n"), "spec.steps[0].networkNetem.duplicate", 7, "allowed 0 to 100"),
        ("netem duplicateCorrelation above 100", native("    - networkNetem: {duplicate: 5, duplicateCorrelation: 101}\n      duration: 1s\n"), "spec.steps[0].networkNetem.duplicateCorrelation", 7, "allowed 0 to 100"),
        ("netem corrupt above 100", native("    - networkNetem: {corrupt: 101}\n      duration: 1s\n"), "spec.steps[0].networkNetem.corrupt", 7, "allowed 0 to 100"),
        ("netem corruptCorrelation above 100", native("    - networkNetem: {corrupt: 1, corruptCorrelation: 101}\n      duration: 1s\n"), "spec.steps[0].networkNetem.corruptCorrelation", 7, "allowed 0 to 100"),
        ("netem reorderCorrelation above 100", native("    - networkNetem: {latency: 10ms, reorder: 5, reorderCorrelation: 101}\n      duration: 1s\n"), "spec.steps[0].networkNetem.reorderCorrelation", 7, "allowed 0 to 100"),
        ("netem gap below 0", native("    - networkNetem: {latency: 10ms, reorder: 5, gap: -1}\n      duration: 1s\n"), "spec.steps[0].networkNetem.gap", 7, "allowed 0 to 4294967295"),
        ("netem rate not a rate", native("    - networkNetem: {rate: fast}\n      duration: 1s\n"), "spec.steps[0].networkNetem.rate", 7, "rate `fast` is not a number followed by a unit"),
        ("dnsDelay unknown query type", native("    - dnsDelay: {patterns: ['*'], latency: 1s, queryTypes: [AXFRX]}\n      duration: 1s\n"), "spec.steps[0].dnsDelay.queryTypes", 7, "unknown query type `AXFRX`"),
        ("dnsDelay probability 0", native("    - dnsDelay: {patterns: ['*'], latency: 1s, probability: 0}\n      duration: 1s\n"), "spec.steps[0].dnsDelay.probability", 7, "never fires"),
        ("dnsSpoof random not a bool", native("    - dnsSpoof: {patterns: ['*'], random: maybe}\n      duration: 1s\n"), "spec.steps[0].dnsSpoof.random", 7, "expected true or false"),
        ("dnsSpoof probability above 100", native("    - dnsSpoof: {patterns: ['*'], addresses: [10.0.0.1], probability: 101}\n      duration: 1s\n"), "spec.steps[0].dnsSpoof.probability", 7, "allowed 0 to 100"),
        ("diskFill without fill or size", native("    - diskFill: {path: /data}\n      duration: 1s\n"), "spec.steps[0].diskFill.fill", 7, "`fill` (how full, in percent) or `size`"),
        ("diskFill fill above the margin", native("    - diskFill:\n        path: /data\n        fill: 100\n      duration: 1s\n"), "spec.steps[0].diskFill.fill", 9, "allowed above 0 up to 99"),
        ("diskFill relative path", native("    - diskFill:\n        path: data\n        size: 1GiB\n      duration: 1s\n"), "spec.steps[0].diskFill.path", 8, "must be an absolute path"),
        ("ioThrottle without a limit", native("    - ioThrottle: {device: '8:0'}\n      duration: 1s\n"), "spec.steps[0].ioThrottle.rbps", 7, "sets no limit"),
        ("ioThrottle bad device", native("    - ioThrottle:\n        device: sda\n        wbps: 1MiB\n      duration: 1s\n"), "spec.steps[0].ioThrottle.device", 8, "MAJOR:MINOR"),
        ("ioThrottle device and path", native("    - ioThrottle:\n        device: '8:0'\n        path: /data\n        wbps: 1MiB\n      duration: 1s\n"), "spec.steps[0].ioThrottle.path", 9, "give one"),
        ("workers too high", native("    - stressCpu: {workers: 1000, load: 50}\n      duration: 1s\n"), "spec.steps[0].stressCpu.workers", 7, "allowed 1 to 256"),
        ("workers zero", native("    - stressCpu: {workers: 0, load: 50}\n      duration: 1s\n"), "spec.steps[0].stressCpu.workers", 7, "allowed 1 to 256"),
        ("load over 100", native("    - stressCpu: {workers: 1, load: 150}\n      duration: 1s\n"), "spec.steps[0].stressCpu.load", 7, "allowed 0 to 100"),
        ("load not a number", native("    - stressCpu: {workers: 1, load: lots}\n      duration: 1s\n"), "spec.steps[0].stressCpu.load", 7, "percentage"),
        ("negative duration", native("    - stressCpu: {workers: 1, load: 5}\n      duration: -5s\n"), "spec.steps[0].duration", 8, "negative"),
        ("duration without unit", native("    - stressCpu: {workers: 1, load: 5}\n      duration: 30\n"), "spec.steps[0].duration", 8, "needs a unit"),
        ("non-instant without duration", native("    - stressCpu: {workers: 1, load: 5}\n"), "spec.steps[0].duration", 7, "needs a `duration`"),
        ("instant with duration", native("    - processKill: {}\n      duration: 5s\n"), "spec.steps[0].duration", 8, "has no duration"),
        ("bad size", native("    - stressMemory: {workers: 1, size: 12 furlongs}\n      duration: 1s\n"), "spec.steps[0].stressMemory.size", 7, "unknown unit"),
        ("bad cidr", native("    - networkPartition: {peers: [10.0.0.0/33]}\n      duration: 1s\n"), "spec.steps[0].networkPartition.peers[0]", 7, "not an IP address or CIDR"),
        ("hostname peer", native("    - networkPartition: {peers: [db.example.org]}\n      duration: 1s\n"), "spec.steps[0].networkPartition.peers[0]", 7, "host name"),
        ("partition without peers", native("    - networkPartition: {direction: both}\n      duration: 1s\n"), "spec.steps[0].networkPartition.peers", 7, "non-empty `peers`"),
        ("port zero", native("    - networkLoss: {loss: 5, ports: [0]}\n      duration: 1s\n"), "spec.steps[0].networkLoss.ports[0]", 7, "allowed 1 to 65535"),
        ("port too high", native("    - networkLoss: {loss: 5, ports: [70000]}\n      duration: 1s\n"), "spec.steps[0].networkLoss.ports[0]", 7, "allowed 1 to 65535"),
        ("bad direction", native("    - networkLoss: {loss: 5, direction: sideways}\n      duration: 1s\n"), "spec.steps[0].networkLoss.direction", 7, "allowed: to, from, both"),
        ("unknown signal", native("    - processKill: {signal: SIGWHAT}\n"), "spec.steps[0].processKill.signal", 7, "unknown signal"),
        ("container kill without names", kube("    - containerKill: {containerNames: []}\n"), "spec.steps[0].containerKill.containerNames", 7, "at least one container"),
        ("pod fault on a local target", native("    - podKill: {}\n"), "spec.steps[0].target", 7, "target is local"),
        ("unknown fault kind", native("    - stressGpu: {workers: 1}\n      duration: 1s\n"), "spec.steps[0].stressGpu", 7, "did you mean `stressCpu`"),
        ("two faults in one step", native("    - stressCpu: {workers: 1, load: 5}\n      networkLoss: {loss: 5}\n      duration: 1s\n"), "spec.steps[0].networkLoss", 8, "also has `stressCpu`"),
        ("empty steps", native("    []\n"), "spec.steps", 7, "at least one step"),
        ("empty parallel", native("    - parallel: []\n"), "spec.steps[0].parallel", 7, "at least one step"),
        ("duration on a group", native("    - suspend: 1m\n      duration: 5s\n"), "spec.steps[0].duration", 8, "does not apply to a `suspend` step"),
        ("duplicate step names", native("    - name: a\n      processKill: {}\n    - name: a\n      processKill: {}\n"), "spec.steps[1].name", 9, "used twice"),
        ("no target anywhere", format!("{NATIVE}  steps:\n    - processKill: {{}}\n"), "spec.steps[0].target", 6, "has no target"),
        ("mode needs value", format!("{NATIVE}  target: {{namespaces: [a], mode: fixed}}\n  steps: [{{podKill: {{}}}}]\n"), "spec.target.mode", 5, "needs a `value`"),
        ("mode takes no value", format!("{NATIVE}  target: {{namespaces: [a], mode: all, value: \"3\"}}\n  steps: [{{podKill: {{}}}}]\n"), "spec.target.value", 5, "takes no `value`"),
        ("unknown mode", format!("{NATIVE}  target: {{namespaces: [a], mode: most}}\n  steps: [{{podKill: {{}}}}]\n"), "spec.target.mode", 5, "random-max-percent"),
        ("local and selector", format!("{NATIVE}  target: {{local: {{pid: 1}}, namespaces: [a]}}\n  steps: [{{processKill: {{}}}}]\n"), "spec.target.namespaces", 5, "not both"),
        ("two local keys", format!("{NATIVE}  target: {{local: {{pid: 1, netns: x}}}}\n  steps: [{{processKill: {{}}}}]\n"), "spec.target.local.netns", 5, "exactly one"),
        ("bad operator", format!("{NATIVE}  target:\n    mode: all\n    expressionSelectors: [{{key: a, operator: Like, values: [b]}}]\n  steps: [{{podKill: {{}}}}]\n"), "spec.target.expressionSelectors[0].operator", 7, "allowed: In, NotIn"),
        ("bad expect", native("    - processKill: {}\n  steadyState:\n    - {name: a, prometheus: up, expect: \"about 1\"}\n"), "spec.steadyState[0].expect", 9, "p99"),
        ("latency stat on prometheus", native("    - processKill: {}\n  steadyState:\n    - {name: a, prometheus: up, expect: \"p99 < 1s\"}\n"), "spec.steadyState[0].expect", 9, "http probes only"),
        ("check without probe", native("    - processKill: {}\n  steadyState:\n    - {name: a, expect: \">= 1\"}\n"), "spec.steadyState[0]", 9, "needs a measurement"),
        ("bad phase", native("    - processKill: {}\n  steadyState:\n    - {name: a, prometheus: up, expect: \">= 1\", phases: [whilst]}\n"), "spec.steadyState[0].phases[0]", 9, "allowed: before, during, after"),
        ("http url without scheme", native("    - processKill: {}\n  steadyState:\n    - name: a\n      http: {url: checkout/health}\n      expect: \">= 1\"\n"), "spec.steadyState[0].http.url", 10, "not an http(s) URL"),
        ("bad cron", native("    - processKill: {}\n  schedule: \"61 * * * *\"\n"), "spec.schedule", 8, "invalid"),
        ("cron with 3 fields", native("    - processKill: {}\n  schedule: \"* * *\"\n"), "spec.schedule", 8, "has 3 fields"),
        ("unknown time zone", native("    - processKill: {}\n  schedule:\n    cron: \"0 3 * * 1-5\"\n    timezone: Europe/Berln\n"), "spec.schedule.timezone", 10, "did you mean `Europe/Berlin`"),
        ("zoned schedule without cron", native("    - processKill: {}\n  schedule: {timezone: UTC}\n"), "spec.schedule.cron", 8, "missing required field `cron`"),
        ("zoned schedule bad cron", native("    - processKill: {}\n  schedule:\n    cron: \"0 25 * * *\"\n    timezone: UTC\n"), "spec.schedule.cron", 9, "invalid"),
        ("zoned schedule typo", native("    - processKill: {}\n  schedule: {cron: \"0 3 * * *\", tz: UTC}\n"), "spec.schedule.tz", 8, "unknown field"),
        ("bad notify verdict", native("    - processKill: {}\n  notify: [{slack: sre, on: [won]}]\n"), "spec.notify[0].on[0]", 8, "allowed: passed, failed"),
        ("guard dryRun not bool", native("    - processKill: {}\n  guard: {dryRun: maybe}\n"), "spec.guard.dryRun", 8, "true or false"),
        ("error budget without expect", native("    - processKill: {}\n  guard:\n    errorBudget: {prometheus: 'slo:burn_rate1h'}\n"), "spec.guard.errorBudget.expect", 9, "missing required field `expect`"),
        ("error budget bad expect", native("    - processKill: {}\n  guard:\n    errorBudget: {prometheus: x, expect: 'about 1'}\n"), "spec.guard.errorBudget.expect", 9, "`about 1`"),
        ("guard field belongs elsewhere", native("    - processKill: {}\n  dryRun: true\n"), "spec.dryRun", 8, "belongs under `spec.guard`"),
        ("bad metadata name", "apiVersion: faultline.dev/v1alpha1\nkind: Experiment\nmetadata: {name: Bad_Name}\nspec: {target: {local: {pid: 1}}, steps: [{processKill: {}}]}\n".into(), "metadata.name", 3, "not a valid name"),
        ("unknown kind", "apiVersion: faultline.dev/v1alpha1\nkind: Experimint\nmetadata: {name: a}\n".into(), "kind", 2, "did you mean `Experiment`"),
        ("unknown apiVersion", "apiVersion: litmuschaos.io/v1alpha1\nkind: ChaosEngine\n".into(), "apiVersion", 1, "chaos-mesh.org/v1alpha1 (kinds StressChaos"),
        ("duplicate key", native("    - processKill: {}\n  steps: []\n"), "spec.steps", 8, "duplicate"),
        // Chaos Mesh
        ("cm label selectors misplaced", with(STRESS, "  labelSelectors: {app: nginx}\n  stressors: {cpu: {workers: 1, load: 10}}\n"), "spec.labelSelectors", 8, "indent it under `selector:`"),
        ("cm duration under cpu", with(STRESS, "  stressors:\n    cpu: {workers: 1, load: 10, duration: 30s}\n"), "spec.stressors.cpu.duration", 9, "belongs under `spec`"),
        ("cm memory size bad", with(STRESS, "  stressors:\n    memory: {workers: 1, size: lots}\n"), "spec.stressors.memory.size", 9, "size"),
        ("cm no stressors", with(STRESS, "  stressngStressors: \"--cpu 1\"\n"), "spec.stressngStressors", 8, "not supported"),
        ("cm delay direction misplaced", with(NET, "  action: delay\n  delay:\n    latency: 10ms\n    direction: to\n"), "spec.delay.direction", 11, "line up with `delay:`"),
        ("cm unknown action", with(NET, "  action: slow\n"), "spec.action", 8, "allowed: delay, loss"),
        ("cm netem no effect", with(NET, "  action: netem\n"), "spec.action", 8, "sets no effect"),
        ("cm netem reorder without latency", with(NET, "  action: netem\n  delay: {reorder: {reorder: 10}}\n"), "spec.delay.latency", 9, "only delayed packets"),
        ("cm delay missing object", with(NET, "  action: delay\n"), "spec.delay", 5, "missing required field `delay`"),
        ("cm loss over 100", with(NET, "  action: loss\n  loss: {loss: '150'}\n"), "spec.loss.loss", 9, "allowed 0 to 100"),
        ("cm external target bad port", with(NET, "  action: partition\n  externalTargets: [example.org:443, '10.0.0.1:99999']\n"), "spec.externalTargets[1]", 9, "`99999` is not a port (1 to 65535)"),
        ("peerPorts without a port", native("    - networkPartition: {peerPorts: ['10.0.0.1:80', 10.0.0.1]}\n      duration: 1s\n"), "spec.steps[0].networkPartition.peerPorts[1]", 7, "has no port"),
        ("host with a bad port", native("    - networkBandwidth: {rate: 1mbps, limit: 1KB, buffer: 1KB, hosts: ['db.shop.svc:']}\n      duration: 1s\n"), "spec.steps[0].networkBandwidth.hosts[0]", 7, "`` is not a port"),
        ("cm stray sub-object", with(NET, "  action: delay\n  delay: {latency: 1ms}\n  loss: {loss: '5'}\n"), "spec.loss", 10, "does not apply to action `delay`"),
        ("cm bandwidth peakrate below rate", with(NET, "  action: bandwidth\n  bandwidth: {rate: 1mbps, limit: 100, buffer: 100, peakrate: 500000, minburst: 1500}\n"), "spec.bandwidth.peakrate", 9, "must be above `rate`"),
        ("cm bandwidth peakrate alone", with(NET, "  action: bandwidth\n  bandwidth: {rate: 1mbps, limit: 100, buffer: 100, peakrate: 2000000}\n"), "spec.bandwidth.minburst", 9, "needs a `minburst`"),
        ("cm direction typo", with(NET, "  action: delay\n  delay: {latency: 1ms}\n  direction: too\n"), "spec.direction", 10, "did you mean `to`"),
        ("cm pod action", with(POD, "  action: pod-explode\n"), "spec.action", 7, "pod-kill, pod-failure, container-kill"),
        ("cm pod failure no duration", with(POD, "  action: pod-failure\n"), "spec.duration", 5, "needs a `duration`"),
        ("cm zero duration", "apiVersion: chaos-mesh.org/v1alpha1\nkind: NetworkChaos\nmetadata: {name: n}\nspec:\n  mode: all\n  selector: {namespaces: [final]}\n  duration: ' 0s'\n  action: delay\n  delay: {latency: 1ms}\n".into(), "spec.duration", 7, "longer than 0s"),
        ("cm pod failure zero duration", with(POD, "  action: pod-failure\n  duration: 0s\n"), "spec.duration", 8, "longer than 0s"),
        ("cm container kill no names", with(POD, "  action: container-kill\n"), "spec.containerNames", 5, "non-empty `containerNames`"),
        ("cm missing mode", "apiVersion: chaos-mesh.org/v1alpha1\nkind: PodChaos\nmetadata: {name: p}\nspec:\n  selector: {namespaces: [a]}\n  action: pod-kill\n".into(), "spec.mode", 5, "missing required field `mode`"),
        ("cm selector typo", "apiVersion: chaos-mesh.org/v1alpha1\nkind: PodChaos\nmetadata: {name: p}\nspec:\n  mode: all\n  selector: {namespace: [a]}\n  action: pod-kill\n".into(), "spec.selector.namespace", 6, "did you mean `namespaces`"),
        ("wf unknown child", with(WF, "    - {name: main, templateType: Serial, children: [nope]}\n"), "spec.templates[0].children[0]", 7, "no template named `nope`"),
        ("wf unknown entry", "apiVersion: chaos-mesh.org/v1alpha1\nkind: Workflow\nmetadata: {name: w}\nspec:\n  entry: mian\n  templates:\n    - {name: main, templateType: Suspend, deadline: 1m}\n".into(), "spec.entry", 5, "did you mean `main`"),
        ("wf cycle", with(WF, "    - {name: main, templateType: Serial, children: [main]}\n"), "spec.templates[0]", 7, "contains itself"),
        ("wf suspend no deadline", with(WF, "    - {name: main, templateType: Suspend}\n"), "spec.templates[0].deadline", 7, "missing required field `deadline`"),
        ("wf bad template type", with(WF, "    - {name: main, templateType: HTTPChaos}\n"), "spec.templates[0].templateType", 7, "allowed: Serial, Parallel"),
        ("wf embedded typo", with(WF, "    - name: main\n      templateType: PodChaos\n      podChaos: {action: pod-kill, mode: all, selector: {namespaces: [a]}, gracePeriodd: 5}\n"), "spec.templates[0].podChaos.gracePeriodd", 9, "did you mean `gracePeriod`"),
    ]
}

#[test]
fn every_bad_spec_names_its_field_and_line() {
    let cases = cases();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for (name, doc, path, line, needle) in &cases {
        match load_str(doc, "case.yaml") {
            Ok(e) => failures.push(format!("{name}: accepted: {e:?}")),
            Err(errs) => {
                let hit = errs.errors.iter().any(|e| {
                    e.path == *path
                        && e.line == *line
                        && (e.message.contains(needle)
                            || e.hint.as_deref().is_some_and(|h| h.contains(needle)))
                });
                let shown = errs.to_string();
                if !hit {
                    failures.push(format!(
                        "{name}: wanted {path} at line {line} with `{needle}`, got:\n{shown}"
                    ));
                }
                // The printed form always carries file, line and column.
                assert!(
                    shown.lines().all(|l| l.starts_with("case.yaml:")),
                    "{shown}"
                );
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

#[test]
fn all_errors_of_a_file_are_reported_not_just_the_first() {
    let doc = native(
        "    - stressCpu: {workers: 0, load: 500}\n      duration: 1s\n    - networkDelay: {latncy: 1ms}\n      duration: -1s\n",
    );
    let errs = load_str(&doc, "many.yaml").unwrap_err();
    for path in [
        "spec.steps[0].stressCpu.workers",
        "spec.steps[0].stressCpu.load",
        "spec.steps[1].networkDelay.latncy",
        "spec.steps[1].duration",
    ] {
        assert!(
            errs.errors.iter().any(|e| e.path == path),
            "no error for {path}:\n{errs}"
        );
    }
    // In file order.
    let lines: Vec<_> = errs.errors.iter().map(|e| e.line).collect();
    assert!(lines.windows(2).all(|w| w[0] <= w[1]), "{lines:?}");
}

#[test]
fn multi_document_files_give_one_experiment_each_and_errors_per_document() {
    let one = native("    - processKill: {}\n");
    let two = one.replace("name: t", "name: u");
    let exps = load_str(&format!("{one}---\n{two}"), "two.yaml").unwrap();
    assert_eq!(
        exps.iter()
            .map(|e| e.metadata.name.as_str())
            .collect::<Vec<_>>(),
        ["t", "u"]
    );
    let bad = two.replace("processKill: {}", "processKill: {signal: 99}");
    let errs = load_str(&format!("{one}---\n{bad}"), "two.yaml").unwrap_err();
    assert_eq!(errs.errors.len(), 1, "{errs}");
    assert_eq!(errs.errors[0].line, 15, "{errs}");
}

#[test]
fn empty_and_non_yaml_inputs_are_errors() {
    for text in [
        "",
        "\n\n",
        "---\n",
        "# only a comment\n",
        "[1, 2",
        "just words",
        "- a\n- b\n",
        "{{{{",
        "\u{0}\u{1}",
    ] {
        let e = load_str(text, "x.yaml").expect_err(text);
        assert!(!e.errors.is_empty());
    }
}
