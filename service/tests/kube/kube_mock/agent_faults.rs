//! Agent faults in cluster mode: sent to the fake agent of each chosen pod's node, with
//! the pods' container IDs as targets and peer selectors resolved to pod IPs.

use faultline::domain::RunState;
use faultline_spec::{LocalTarget, NodeFault};
use serde_json::json;

use super::engine::{PODS, cluster, faults, fixture, runner, runner_traced, web};
use crate::support::fake_agent::{Call, FakeAgent};
use faultline_test_support::fakes::kube::{
    Exchange, PodFx, container_id, done, pod_list, testcontext,
};

fn agent_pod(name: &str, node: &str) -> PodFx {
    let mut a = PodFx::new("faultline", name, node).ip("127.0.0.1");
    a.labels = vec![("app.kubernetes.io/name".into(), "faultline-agent".into())];
    a
}

const AGENTS: &str = "/api/v1/namespaces/faultline/pods";

#[tokio::test]
async fn agent_faults_go_to_each_pods_node_agent_by_container_id() {
    let f = fixture().await;
    let agent = FakeAgent::start("t0ken").await;
    let (client, server) = testcontext();
    let pods = pod_list(&[web(0, "node-a"), web(1, "node-b")], "");
    let agents = [
        agent_pod("agent-a", "node-a"),
        agent_pod("agent-b", "node-b"),
    ];
    let calls = server.run(vec![
        Exchange::get(PODS, pods.clone()),
        Exchange::get(PODS, pods),
        Exchange::get(AGENTS, pod_list(&agents, ""))
            .query("labelSelector", "app.kubernetes.io/name=faultline-agent"),
    ]);
    let steps = "    - stressCpu: { workers: 1, load: 10 }\n      duration: 1s\n";
    let r = runner(
        &f,
        cluster(client, agent.port, &[]),
        steps,
        "{ namespaces: [shop], labelSelectors: { app: web }, mode: all }",
    );
    assert_eq!(r.execute().await, RunState::Passed);
    done(calls).await;
    let calls = agent.calls();
    let applies: Vec<(String, Vec<LocalTarget>)> = calls
        .iter()
        .filter_map(|c| match c {
            Call::Apply(req) => Some((req.id.to_string(), req.targets.clone())),
            _ => None,
        })
        .collect();
    let mut applies = applies;
    applies.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        applies,
        vec![
            (
                "run1-f1n0".into(),
                vec![LocalTarget::ContainerId(container_id("web-0", "app"))]
            ),
            (
                "run1-f1n1".into(),
                vec![LocalTarget::ContainerId(container_id("web-1", "app"))]
            ),
        ]
    );
    let mut recovers: Vec<String> = calls
        .iter()
        .filter_map(|c| match c {
            Call::Recover(id) => Some(id.clone()),
            _ => None,
        })
        .collect();
    recovers.sort();
    assert_eq!(recovers, vec!["run1-f1n0", "run1-f1n1"]);
    let (mut applied, mut recovered, _) = faults(&f);
    applied.sort();
    recovered.sort();
    assert_eq!(
        applied,
        vec![
            (
                "stressCpu".into(),
                "run1-f1n0-0".into(),
                "pod shop/web-0".into()
            ),
            (
                "stressCpu".into(),
                "run1-f1n1-0".into(),
                "pod shop/web-1".into()
            ),
        ]
    );
    assert_eq!(
        recovered,
        vec![
            ("run1-f1n0-0".into(), "removed".into()),
            ("run1-f1n1-0".into(), "removed".into())
        ]
    );
    assert!(
        agent.traced_calls().iter().all(|(_, h)| h.is_none()),
        "an untraced run sends no traceparent"
    );
    agent.stop().await;
}

/// Hands out a parent span per fault request whose span id ends in the request's node
/// index, so each call can be matched to the span of its own request.
struct NodeSpans;

fn parent_of(request: &str) -> String {
    let n: u64 = request.rsplit('n').next().unwrap().parse().unwrap();
    format!("00-4bf92f3577b34da6a3ce929d0e0e4736-{:016x}-01", n + 1)
}

impl faultline::application::ports::observe::FaultTraces for NodeSpans {
    fn fault_starting(
        &self,
        _: &faultline::application::ports::observe::RunInfo,
        request: &str,
    ) -> Option<faultline_exporter::TraceParent> {
        faultline_exporter::TraceParent::parse(&parent_of(request))
    }

    fn fault_context(
        &self,
        _: &faultline::application::ports::observe::RunInfo,
        request: &str,
    ) -> Option<faultline_exporter::TraceParent> {
        faultline_exporter::TraceParent::parse(&parent_of(request))
    }
}

/// Each node agent's apply and recover carry the span of their own request as
/// `traceparent`.
#[tokio::test]
async fn calls_to_node_agents_carry_their_fault_span_as_traceparent() {
    let f = fixture().await;
    let agent = FakeAgent::start("t0ken").await;
    let (client, server) = testcontext();
    let pods = pod_list(&[web(0, "node-a"), web(1, "node-b")], "");
    let agents = [
        agent_pod("agent-a", "node-a"),
        agent_pod("agent-b", "node-b"),
    ];
    let calls = server.run(vec![
        Exchange::get(PODS, pods.clone()),
        Exchange::get(PODS, pods),
        Exchange::get(AGENTS, pod_list(&agents, ""))
            .query("labelSelector", "app.kubernetes.io/name=faultline-agent"),
    ]);
    let steps = "    - stressCpu: { workers: 1, load: 10 }\n      duration: 1s\n";
    let r = runner_traced(
        &f,
        cluster(client, agent.port, &[]),
        steps,
        "{ namespaces: [shop], labelSelectors: { app: web }, mode: all }",
        Some(std::sync::Arc::new(NodeSpans)),
    );
    assert_eq!(r.execute().await, RunState::Passed);
    done(calls).await;
    let traced = agent.traced_calls();
    let count = |f: fn(&Call) -> bool| traced.iter().filter(|(c, _)| f(c)).count();
    assert_eq!(count(|c| matches!(c, Call::Apply(_))), 2, "{traced:?}");
    assert_eq!(count(|c| matches!(c, Call::Recover(_))), 2, "{traced:?}");
    assert!(count(|c| matches!(c, Call::Observe(_))) >= 2, "{traced:?}");
    for (call, header) in traced {
        let request = match &call {
            Call::Apply(req) => req.id.to_string(),
            Call::Recover(id) | Call::Renew(id) | Call::Observe(id) => id.clone(),
        };
        assert_eq!(header, Some(parent_of(&request)), "{call:?}");
    }
    agent.stop().await;
}

#[tokio::test]
async fn container_kill_targets_the_named_container_and_is_instant() {
    let f = fixture().await;
    let agent = FakeAgent::start("t0ken").await;
    let (client, server) = testcontext();
    let pod = web(0, "node-a").container("sidecar", "envoyproxy/envoy:v1.32.1");
    let a = agent_pod("agent-a", "node-a");
    let calls = server.run(vec![
        Exchange::get(PODS, pod_list(std::slice::from_ref(&pod), "")),
        Exchange::get(PODS, pod_list(&[pod], "")),
        Exchange::get(AGENTS, pod_list(&[a], "")),
    ]);
    let steps = "    - containerKill: { containerNames: [sidecar] }\n";
    let r = runner(
        &f,
        cluster(client, agent.port, &[]),
        steps,
        "{ namespaces: [shop], mode: all }",
    );
    assert_eq!(r.execute().await, RunState::Passed);
    done(calls).await;
    let calls = agent.calls();
    assert!(
        !calls.iter().any(|c| matches!(c, Call::Recover(_))),
        "an instant fault is not recovered: {calls:?}"
    );
    assert!(
        calls.iter().any(|c| matches!(c, Call::Observe(_))),
        "the kill is checked: {calls:?}"
    );
    let Call::Apply(req) = &calls[0] else {
        panic!("{calls:?}")
    };
    assert_eq!(
        req.targets,
        vec![LocalTarget::ContainerId(container_id("web-0", "sidecar"))]
    );
    let (applied, recovered, _) = faults(&f);
    assert_eq!(
        applied,
        vec![(
            "containerKill".into(),
            "run1-f1n0-0".into(),
            "pod shop/web-0".into()
        )]
    );
    assert_eq!(recovered, vec![("run1-f1n0-0".into(), "instant".into())]);
    agent.stop().await;
}

#[tokio::test]
async fn a_partition_reaches_its_peer_pods_by_ip() {
    let f = fixture().await;
    let agent = FakeAgent::start("t0ken").await;
    let (client, server) = testcontext();
    let targets = pod_list(&[web(0, "node-a")], "");
    let db = |i: usize, ip: &str| PodFx::new("pay", &format!("db-{i}"), "node-b").ip(ip);
    let calls = server.run(vec![
        Exchange::get(PODS, targets.clone()),
        Exchange::get(PODS, targets),
        // Peers in their own namespace, by their own selector and mode.
        Exchange::get(
            "/api/v1/namespaces/pay/pods",
            pod_list(&[db(0, "10.244.2.9"), db(1, "10.244.3.4")], ""),
        )
        .query("labelSelector", "app=db"),
        Exchange::get(AGENTS, pod_list(&[agent_pod("agent-a", "node-a")], "")),
    ]);
    let steps = "    - networkPartition: { direction: both, peerSelector: { namespaces: [pay], labelSelectors: { app: db }, mode: all } }\n      duration: 1s\n";
    let r = runner(
        &f,
        cluster(client, agent.port, &[]),
        steps,
        "{ namespaces: [shop], mode: all }",
    );
    assert_eq!(r.execute().await, RunState::Passed);
    done(calls).await;
    let calls = agent.calls();
    let Call::Apply(req) = &calls[0] else {
        panic!("{calls:?}")
    };
    let NodeFault::NetworkPartition(p) = &req.kind else {
        panic!("{:?}", req.kind)
    };
    let mut peers: Vec<String> = p.scope.peers.iter().map(|n| n.to_string()).collect();
    peers.sort();
    assert_eq!(peers, vec!["10.244.2.9/32", "10.244.3.4/32"]);
    assert_eq!(
        p.scope.peer_selector, None,
        "the agent gets addresses, not a selector"
    );
    assert_eq!(
        json!(req.targets),
        json!([{ "containerId": container_id("web-0", "app") }])
    );
    agent.stop().await;
}
