//! Lists the pods a selector matches, the way Chaos Mesh's `SelectPods` does: named pods
//! (`pods:`) are fetched one by one and a missing one is skipped; otherwise each namespace
//! is listed with the label and field selectors pushed to the API server, a page at a time
//! (`limit` / `continue`), and the annotation and phase filters applied here.

use ::kube::Client;
use ::kube::api::{Api, ListParams};
use faultline_spec::PodSelector;
use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{Node, Pod};

use super::error::KubeError;
use super::select::{field_selector, label_selector, matches_client_side};

/// Pods per list call: client-go's pager default; large enough that 10,000 pods take 20
/// calls, small enough that one answer stays a few MB.
pub const DEFAULT_PAGE_SIZE: u32 = 500;

/// Finds the pods a selector matches.
#[derive(Clone)]
pub struct Resolver {
    client: Client,
    page_size: u32,
}

impl Resolver {
    /// A resolver listing `page_size` pods per call (at least 1).
    pub fn new(client: Client, page_size: u32) -> Resolver {
        Resolver {
            client,
            page_size: page_size.max(1),
        }
    }

    /// The client it lists with.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Every pod `sel` matches in `namespaces`, before the mode picks among them. Named
    /// pods ignore the other selectors and the namespaces, as in Chaos Mesh.
    pub async fn matching(
        &self,
        sel: &PodSelector,
        namespaces: &[String],
    ) -> Result<Vec<Pod>, KubeError> {
        let nodes = self.node_names(sel).await?;
        let on_nodes = |p: &Pod| on_nodes(p, nodes.as_ref());
        if !sel.pods.is_empty() {
            return Ok(self
                .named(sel)
                .await?
                .into_iter()
                .filter(on_nodes)
                .collect());
        }
        let lp = ListParams {
            label_selector: label_selector(sel),
            field_selector: field_selector(sel),
            ..ListParams::default()
        };
        let mut out = Vec::new();
        for ns in namespaces {
            let api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
            let pods = self
                .list_all(&api, lp.clone(), &format!("namespace {ns}"))
                .await?;
            out.extend(
                pods.into_iter()
                    .filter(|p| matches_client_side(sel, p) && on_nodes(p)),
            );
        }
        Ok(out)
    }

    /// The nodes `nodes` and `nodeSelectors` allow, combined as Chaos Mesh combines them;
    /// `None` when neither is set (every node).
    async fn node_names(&self, sel: &PodSelector) -> Result<Option<BTreeSet<String>>, KubeError> {
        if sel.nodes.is_empty() && sel.node_selectors.is_empty() {
            return Ok(None);
        }
        let mut names: BTreeSet<String> = sel.nodes.iter().cloned().collect();
        if let Some(labels) = sel.node_label_selector() {
            let api: Api<Node> = Api::all(self.client.clone());
            let lp = ListParams::default().labels(&labels);
            let list = api
                .list(&lp)
                .await
                .map_err(KubeError::api("list nodes by nodeSelectors".to_string()))?;
            names.extend(list.items.into_iter().filter_map(|n| n.metadata.name));
        }
        Ok(Some(names))
    }

    async fn named(&self, sel: &PodSelector) -> Result<Vec<Pod>, KubeError> {
        let mut out = Vec::new();
        for (ns, names) in &sel.pods {
            let api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
            for name in names {
                match api.get_opt(name).await {
                    Ok(Some(p)) => out.push(p),
                    // Chaos Mesh skips a named pod that is gone; the run still fails with
                    // "no pod is selected" when none is left.
                    Ok(None) => {
                        tracing::info!(pod = %format!("{ns}/{name}"), "named pod not found; skipped")
                    }
                    Err(e) => return Err(KubeError::api(format!("get pod {ns}/{name}"))(e)),
                }
            }
        }
        Ok(out)
    }

    /// Every object of a list, following `continue` tokens page by page. `what` names the
    /// scope in errors (`namespace shop`, `all namespaces`).
    pub async fn list_all(
        &self,
        api: &Api<Pod>,
        mut lp: ListParams,
        what: &str,
    ) -> Result<Vec<Pod>, KubeError> {
        lp.limit = Some(self.page_size);
        let mut out = Vec::new();
        let mut page = 1;
        loop {
            let list = api
                .list(&lp)
                .await
                .map_err(KubeError::api(format!("list pods in {what} (page {page})")))?;
            out.extend(list.items);
            match list.metadata.continue_ {
                Some(token) if !token.is_empty() => {
                    lp.continue_token = Some(token);
                    page += 1;
                }
                _ => return Ok(out),
            }
        }
    }
}

/// Whether `pod` is scheduled on one of `nodes` (`None`: any node, scheduled or not).
fn on_nodes(pod: &Pod, nodes: Option<&BTreeSet<String>>) -> bool {
    let Some(nodes) = nodes else { return true };
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .is_some_and(|n| nodes.contains(n))
}
