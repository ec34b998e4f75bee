//! What the Kubernetes executor reads back after a pod fault, judged: pure functions from
//! the pods the API server shows to a [`Seen`] per target.
//!
//! - podKill is seen when the pod it killed (by uid) is gone or terminating. A pod made
//!   again under the same name (a StatefulSet's) has another uid, so it counts as gone.
//!   Whether the pod's controller made a replacement is evidence, not a condition: a
//!   Deployment scaled to zero is still a fair podKill.
//! - podFailure is seen when the spec of every container it swapped names the pause
//!   image; what each container runs (the kubelet restarts it into that image) is evidence.

use chrono::{DateTime, Utc};

use super::seam::Seen;
use crate::application::ports::{PodOwner, PodRead, PodTarget};

/// The killed pod `pod` read back as `now` (`None`: gone). `killed` is the pod's uid when
/// it was selected.
pub(super) fn kill_seen(pod: &PodTarget, now: Option<&PodRead>) -> Seen {
    let uid = pod.uid.as_deref().unwrap_or_default();
    let (effective, evidence) = match now {
        None => (true, "pod is gone (404)".to_string()),
        Some(p) if !uid.is_empty() && p.uid != uid => (
            true,
            format!(
                "pod uid {uid} is gone; a new pod of the same name has uid {}",
                p.uid
            ),
        ),
        Some(p) if p.terminating => (
            true,
            format!(
                "pod is terminating (deletionTimestamp set, phase {})",
                p.phase
            ),
        ),
        Some(p) => (
            false,
            format!(
                "pod uid {} still there, not terminating (phase {})",
                p.uid, p.phase
            ),
        ),
    };
    Seen {
        target: pod.label(),
        effective,
        evidence,
    }
}

/// `seen` with what `owner`'s pods say about a replacement: a pod of the same controller,
/// not the killed one, created at or after `killed_at` (to the second, as the API server
/// keeps it).
pub(super) fn with_replacement(
    mut seen: Seen,
    pod: &PodTarget,
    owner: &PodOwner,
    killed_at: DateTime<Utc>,
    owned: Result<&[PodRead], String>,
) -> Seen {
    let uid = pod.uid.as_deref().unwrap_or_default();
    let since = killed_at.timestamp();
    let note = match owned {
        Err(e) => format!("{owner}'s pods could not be read: {e}"),
        Ok(pods) => {
            let new: Vec<&str> = pods
                .iter()
                .filter(|p| p.uid != uid && !p.terminating)
                .filter(|p| p.created.is_some_and(|c| c.timestamp() >= since))
                .map(|p| p.name.as_str())
                .collect();
            if new.is_empty() {
                format!("{owner} has no replacement pod yet")
            } else {
                format!("{owner} made replacement {}", new.join(", "))
            }
        }
    };
    seen.evidence = format!("{}; {note}", seen.evidence);
    seen
}

/// The failed pod `pod` read back as `now` (`None`: gone): each of `containers` must name
/// `pause` in its spec.
pub(super) fn failure_seen(
    pod: &PodTarget,
    containers: &[String],
    pause: &str,
    now: Option<&PodRead>,
) -> Seen {
    let Some(p) = now else {
        return Seen {
            target: pod.label(),
            effective: false,
            evidence: "pod is gone (404): nothing runs the pause image".into(),
        };
    };
    let mut paused = Vec::new();
    let mut not_paused = Vec::new();
    for c in containers {
        let image = p
            .images
            .iter()
            .find(|(n, _)| n == c)
            .map_or("(no such container)", |(_, i)| i.as_str());
        let running = p
            .running
            .iter()
            .find(|(n, _)| n == c)
            .map(|(_, i)| i.as_str());
        let still = match running {
            Some(r) if r != image => format!(" (still running {r})"),
            _ => String::new(),
        };
        if image == pause {
            paused.push(format!("{c}{still}"));
        } else {
            not_paused.push(format!("{c} {image}{still}"));
        }
    }
    let evidence = if not_paused.is_empty() {
        format!("pause image {pause} on {}", paused.join(", "))
    } else {
        format!("not the pause image {pause}: {}", not_paused.join(", "))
    };
    Seen {
        target: pod.label(),
        effective: not_paused.is_empty() && !containers.is_empty(),
        evidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAUSE: &str = "registry.k8s.io/pause:3.10";

    fn target() -> PodTarget {
        PodTarget {
            namespace: "shop".into(),
            name: "web-0".into(),
            node: None,
            containers: Vec::new(),
            ips: Vec::new(),
            uid: Some("uid-1".into()),
            owner: Some(owner()),
        }
    }

    fn owner() -> PodOwner {
        PodOwner {
            kind: "ReplicaSet".into(),
            name: "web-6d5f".into(),
        }
    }

    fn read(uid: &str, terminating: bool, image: &str, running: &str) -> PodRead {
        PodRead {
            name: "web-0".into(),
            uid: uid.into(),
            created: DateTime::from_timestamp(1_000, 0),
            terminating,
            phase: "Running".into(),
            owner: Some(owner()),
            images: vec![("app".into(), image.into())],
            running: vec![("app".into(), running.into())],
        }
    }

    #[test]
    fn a_killed_pod_is_seen_gone_terminating_or_replaced_and_not_when_unchanged() {
        let t = target();
        let web = "ghcr.io/example/web:1.4.2";
        assert!(kill_seen(&t, None).effective);
        let replaced = kill_seen(&t, Some(&read("uid-2", false, web, web)));
        assert!(replaced.effective, "{}", replaced.evidence);
        assert!(replaced.evidence.contains("uid-2"));
        assert!(kill_seen(&t, Some(&read("uid-1", true, web, web))).effective);
        let same = kill_seen(&t, Some(&read("uid-1", false, web, web)));
        assert!(!same.effective);
        assert_eq!(
            same.evidence,
            "pod uid uid-1 still there, not terminating (phase Running)"
        );
    }

    #[test]
    fn a_replacement_is_a_new_pod_of_the_same_controller_made_since_the_kill() {
        let t = target();
        let at = DateTime::from_timestamp(1_000, 500_000_000).unwrap();
        let mut new = read("uid-9", false, "x", "x");
        new.name = "web-7".into();
        let mut sibling = read("uid-3", false, "x", "x");
        sibling.name = "web-3".into();
        sibling.created = DateTime::from_timestamp(10, 0);
        let pods = [read("uid-1", true, "x", "x"), sibling, new];
        let seen = with_replacement(kill_seen(&t, None), &t, &owner(), at, Ok(&pods));
        assert_eq!(
            seen.evidence,
            "pod is gone (404); ReplicaSet/web-6d5f made replacement web-7"
        );
        let seen = with_replacement(kill_seen(&t, None), &t, &owner(), at, Ok(&pods[..2]));
        assert!(
            seen.evidence
                .ends_with("ReplicaSet/web-6d5f has no replacement pod yet")
        );
    }

    #[test]
    fn a_failed_pod_is_seen_when_its_containers_name_the_pause_image() {
        let t = target();
        let app = ["app".to_string()];
        let web = "ghcr.io/example/web:1.4.2";
        let paused = failure_seen(&t, &app, PAUSE, Some(&read("uid-1", false, PAUSE, web)));
        assert!(paused.effective);
        assert_eq!(
            paused.evidence,
            format!("pause image {PAUSE} on app (still running {web})")
        );
        let unchanged = failure_seen(&t, &app, PAUSE, Some(&read("uid-1", false, web, web)));
        assert!(!unchanged.effective);
        assert_eq!(
            unchanged.evidence,
            format!("not the pause image {PAUSE}: app {web}")
        );
        assert!(!failure_seen(&t, &app, PAUSE, None).effective);
    }
}
