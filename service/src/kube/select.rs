//! Chaos Mesh's pod selection, pure: the selector strings pushed to the API server, the
//! filters it cannot apply (annotations, phases), and the modes that pick among the
//! matching pods (`pkg/selector/generic/mode.go`). No I/O here, so every rule is unit-tested.

use faultline_spec::{LabelOperator, Mode, PodPhase, PodSelector};
use k8s_openapi::api::core::v1::Pod;

use crate::domain::selection::{max_chosen, share, whole_percent};

/// The `labelSelector` query for `sel`: match labels, then expressions, in Kubernetes'
/// syntax (`app=web,tier notin (db),canary,!legacy`); `None` when there is none.
pub fn label_selector(sel: &PodSelector) -> Option<String> {
    let mut parts: Vec<String> = sel
        .label_selectors
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for e in &sel.expression_selectors {
        parts.push(match e.operator {
            LabelOperator::In => format!("{} in ({})", e.key, e.values.join(",")),
            LabelOperator::NotIn => format!("{} notin ({})", e.key, e.values.join(",")),
            LabelOperator::Exists => e.key.clone(),
            LabelOperator::DoesNotExist => format!("!{}", e.key),
        });
    }
    (!parts.is_empty()).then(|| parts.join(","))
}

/// The `fieldSelector` query for `sel` (`spec.nodeName=node-1`); `None` when there is none.
pub fn field_selector(sel: &PodSelector) -> Option<String> {
    let parts: Vec<String> = sel
        .field_selectors
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    (!parts.is_empty()).then(|| parts.join(","))
}

/// The filters the API server does not offer: every annotation of `annotationSelectors`
/// must be present with its value, and the phase must be one of `podPhaseSelectors`.
pub fn matches_client_side(sel: &PodSelector, pod: &Pod) -> bool {
    let annotations = pod.metadata.annotations.as_ref();
    let annotations_ok = sel
        .annotation_selectors
        .iter()
        .all(|(k, v)| annotations.and_then(|a| a.get(k)) == Some(v));
    if !annotations_ok {
        return false;
    }
    if sel.pod_phase_selectors.is_empty() {
        return true;
    }
    let phase = pod
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .and_then(PodPhase::parse);
    phase.is_some_and(|p| sel.pod_phase_selectors.contains(&p))
}

/// Picks among `pods` as Chaos Mesh's `FilterObjectsByMode` does: `one` one at random,
/// `all` every one, `fixed` N (all when fewer match), `fixed-percent` floor(n * p / 100),
/// `random-max-percent` floor(n * r / 100) for a whole r drawn uniformly from 0..=max.
/// The order of the result is random, as in Chaos Mesh; percentages may therefore pick
/// none (1 pod at 50 %), which the caller reports rather than treats as an error.
pub fn choose<T>(mut pods: Vec<T>, mode: Mode, rng: &mut fastrand::Rng) -> Vec<T> {
    let n = pods.len();
    let k = match mode {
        Mode::RandomMaxPercent(p) => {
            let r = rng.u32(0..=whole_percent(p.value()));
            share(n, r)
        }
        other => max_chosen(other, n),
    };
    // A partial Fisher-Yates shuffle: the first k are a uniform random k-subset.
    for i in 0..k {
        let j = rng.usize(i..n);
        pods.swap(i, j);
    }
    pods.truncate(k);
    pods
}

/// The selector as a person reads it, for errors and the dry-run plan:
/// `pods app=web in shop,pay (mode fixed 2)`.
pub fn describe(sel: &PodSelector, namespaces: &[String]) -> String {
    if !sel.pods.is_empty() {
        let named: Vec<String> = sel
            .pods
            .iter()
            .flat_map(|(ns, names)| names.iter().map(move |n| format!("{ns}/{n}")))
            .collect();
        return format!("pods {} (mode {})", named.join(","), sel.mode);
    }
    let mut what = Vec::new();
    if let Some(l) = label_selector(sel) {
        what.push(l);
    }
    if let Some(f) = field_selector(sel) {
        what.push(f);
    }
    what.extend(
        sel.annotation_selectors
            .iter()
            .map(|(k, v)| format!("annotation {k}={v}")),
    );
    if !sel.nodes.is_empty() {
        what.push(format!("on node {}", sel.nodes.join("|")));
    }
    if let Some(labels) = sel.node_label_selector() {
        what.push(format!("on nodes labelled {labels}"));
    }
    if !sel.pod_phase_selectors.is_empty() {
        let phases: Vec<String> = sel
            .pod_phase_selectors
            .iter()
            .map(|p| format!("{p:?}"))
            .collect();
        what.push(format!("phase {}", phases.join("|")));
    }
    let what = if what.is_empty() {
        "(all)".to_string()
    } else {
        what.join(" ")
    };
    format!(
        "pods {what} in {} (mode {})",
        namespaces.join(","),
        sel.mode
    )
}

/// `NS/NAME` of a pod, the form every message and event uses.
pub fn pod_key(pod: &Pod) -> String {
    format!(
        "{}/{}",
        pod.metadata.namespace.as_deref().unwrap_or_default(),
        pod.metadata.name.as_deref().unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_spec::LabelExpression;
    use faultline_spec::units::Percent;
    use std::collections::BTreeMap;

    fn pod(name: &str, phase: &str, annotations: &[(&str, &str)]) -> Pod {
        let mut p = Pod::default();
        p.metadata.name = Some(name.into());
        p.metadata.namespace = Some("shop".into());
        if !annotations.is_empty() {
            p.metadata.annotations = Some(
                annotations
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<BTreeMap<_, _>>(),
            );
        }
        p.status = Some(k8s_openapi::api::core::v1::PodStatus {
            phase: Some(phase.into()),
            ..Default::default()
        });
        p
    }

    fn pods(n: usize) -> Vec<Pod> {
        (0..n)
            .map(|i| pod(&format!("p{i}"), "Running", &[]))
            .collect()
    }

    fn pct(v: f64) -> Percent {
        Percent::new(v).unwrap()
    }

    #[test]
    fn label_selectors_use_the_api_servers_syntax() {
        let mut sel = PodSelector::default();
        assert_eq!(label_selector(&sel), None);
        sel.label_selectors.insert("app".into(), "web".into());
        sel.label_selectors.insert("a".into(), "b".into());
        for (key, operator, values) in [
            ("tier", LabelOperator::In, vec!["front", "edge"]),
            ("env", LabelOperator::NotIn, vec!["prod"]),
            ("canary", LabelOperator::Exists, vec![]),
            ("legacy", LabelOperator::DoesNotExist, vec![]),
        ] {
            sel.expression_selectors.push(LabelExpression {
                key: key.into(),
                operator,
                values: values.into_iter().map(String::from).collect(),
            });
        }
        assert_eq!(
            label_selector(&sel).unwrap(),
            "a=b,app=web,tier in (front,edge),env notin (prod),canary,!legacy"
        );
        sel.field_selectors
            .insert("spec.nodeName".into(), "node-1".into());
        sel.field_selectors
            .insert("metadata.name".into(), "web-0".into());
        assert_eq!(
            field_selector(&sel).unwrap(),
            "metadata.name=web-0,spec.nodeName=node-1"
        );
    }

    #[test]
    fn annotations_and_phases_filter_on_the_client() {
        let mut sel = PodSelector::default();
        let running = pod("a", "Running", &[("team", "sre"), ("x", "1")]);
        let pending = pod("b", "Pending", &[("team", "web")]);
        assert!(matches_client_side(&sel, &running));
        sel.annotation_selectors.insert("team".into(), "sre".into());
        assert!(matches_client_side(&sel, &running));
        assert!(!matches_client_side(&sel, &pending));
        assert!(!matches_client_side(&sel, &pod("c", "Running", &[])));
        sel.annotation_selectors.clear();
        sel.pod_phase_selectors = vec![PodPhase::Pending, PodPhase::Failed];
        assert!(!matches_client_side(&sel, &running));
        assert!(matches_client_side(&sel, &pending));
        // A pod without a status (just created) has no phase and matches no phase filter.
        let mut bare = pod("d", "Pending", &[]);
        bare.status = None;
        assert!(!matches_client_side(&sel, &bare));
    }

    #[test]
    fn modes_pick_as_chaos_mesh_does() {
        let mut rng = fastrand::Rng::with_seed(7);
        assert_eq!(choose(pods(10), Mode::One, &mut rng).len(), 1);
        assert_eq!(choose(pods(10), Mode::All, &mut rng).len(), 10);
        assert_eq!(choose(pods(10), Mode::Fixed(3), &mut rng).len(), 3);
        // Chaos Mesh: fixed N with fewer matches takes them all.
        assert_eq!(choose(pods(2), Mode::Fixed(3), &mut rng).len(), 2);
        // floor(n * p / 100): 33 % of 10 is 3, 50 % of 1 is none.
        assert_eq!(
            choose(pods(10), Mode::FixedPercent(pct(33.0)), &mut rng).len(),
            3
        );
        assert_eq!(
            choose(pods(1), Mode::FixedPercent(pct(50.0)), &mut rng).len(),
            0
        );
        assert_eq!(
            choose(pods(7), Mode::FixedPercent(pct(100.0)), &mut rng).len(),
            7
        );
        // A fraction is dropped, as Atoi would refuse it: 49.9 % of 100 is 49.
        assert_eq!(max_chosen(Mode::FixedPercent(pct(49.9)), 100), 49);
    }

    #[test]
    fn chosen_pods_are_distinct_and_random() {
        let mut rng = fastrand::Rng::with_seed(1);
        let mut firsts = std::collections::HashSet::new();
        for _ in 0..50 {
            let got = choose(pods(20), Mode::Fixed(5), &mut rng);
            let names: std::collections::HashSet<_> =
                got.iter().map(|p| p.metadata.name.clone()).collect();
            assert_eq!(names.len(), 5, "a pod was picked twice");
            firsts.insert(got[0].metadata.name.clone());
        }
        assert!(firsts.len() > 5, "the picks are not random: {firsts:?}");
    }

    #[test]
    fn random_max_percent_stays_within_its_bound_and_varies() {
        let mut rng = fastrand::Rng::with_seed(3);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..400 {
            let n = choose(pods(10), Mode::RandomMaxPercent(pct(30.0)), &mut rng).len();
            assert!(n <= 3, "{n} pods exceed 30 % of 10");
            seen.insert(n);
        }
        // r is drawn from 0..=30, so 0, 1, 2 and 3 pods all occur.
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![0, 1, 2, 3]);
        assert_eq!(max_chosen(Mode::RandomMaxPercent(pct(30.0)), 10), 3);
        assert_eq!(max_chosen(Mode::One, 0), 0);
    }

    #[test]
    fn descriptions_name_the_selector() {
        let mut sel = PodSelector::default();
        sel.label_selectors.insert("app".into(), "web".into());
        sel.pod_phase_selectors = vec![PodPhase::Running];
        assert_eq!(
            describe(&sel, &["shop".into()]),
            "pods app=web phase Running in shop (mode all)"
        );
        sel.pods.insert("shop".into(), vec!["web-0".into()]);
        assert_eq!(describe(&sel, &[]), "pods shop/web-0 (mode all)");
    }
}
