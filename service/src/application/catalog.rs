//! The experiment catalog: experiments stored by name (through the API or loaded from
//! `serve --experiments DIR`) so webhooks and schedules can run them. A stored document
//! may use `{{ gitlab.sha }}`, `{{ gitlab.environment_url }}` and the other values of
//! [`GitlabContext::template_values`]; they are filled in when a trigger instantiates it,
//! and a misspelt value is an error, not an empty string.

use std::path::Path;

use faultline_spec::{Experiment, SpecErrors, load_str};

use crate::application::ports::{CatalogStore, ExperimentRow, StoreError};
use crate::domain::GitlabContext;

/// Why an experiment could not be stored or instantiated.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The template syntax is wrong, or it names a value that does not exist.
    #[error("template: {0:#}")]
    Template(#[source] minijinja::Error),
    /// The rendered document is not a valid experiment.
    #[error("{0}")]
    Invalid(SpecErrors),
    /// The document holds other than exactly one experiment.
    #[error("the document holds {0} experiments; the catalog stores one per name")]
    NotOne(usize),
    /// No experiment by that name.
    #[error("no experiment named {0:?} in the catalog")]
    NoSuch(String),
    /// The store failed.
    #[error("the experiment store failed")]
    Store(#[source] StoreError),
    /// A file of `--experiments DIR` could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Values used to check a template when it is stored: every name a trigger may fill in.
fn sample() -> GitlabContext {
    GitlabContext {
        event: "pipeline".into(),
        event_uuid: None,
        project_id: 1,
        project_path: "group/project".into(),
        project_url: "https://gitlab.example.org/group/project".into(),
        sha: "0000000000000000000000000000000000000000".into(),
        git_ref: Some("main".into()),
        pipeline_id: Some(1),
        job_id: Some(1),
        mr_iid: Some(1),
        environment: Some("staging".into()),
        environment_url: Some("https://staging.example.org".into()),
        user: Some("faultline".into()),
    }
}

/// Fills in `text`'s template values from `cx` (the sample values when `None`).
pub fn render(text: &str, cx: Option<&GitlabContext>) -> Result<String, CatalogError> {
    // Plain documents (no `{{`/`{%`) skip the engine: a YAML comment with `{#` must not be
    // taken for a template comment.
    if !text.contains("{{") && !text.contains("{%") {
        return Ok(text.to_string());
    }
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    let values = cx.cloned().unwrap_or_else(sample).template_values();
    env.render_str(
        text,
        minijinja::context! { gitlab => minijinja::Value::from(minijinja::value::Serde(&values)) },
    )
    .map_err(CatalogError::Template)
}

/// Renders and validates `text` as exactly one experiment; `file` names it in errors.
pub fn instantiate(
    text: &str,
    cx: Option<&GitlabContext>,
    file: &str,
) -> Result<Experiment, CatalogError> {
    let doc = render(text, cx)?;
    let mut exps = load_str(&doc, file).map_err(CatalogError::Invalid)?;
    if exps.len() != 1 {
        return Err(CatalogError::NotOne(exps.len()));
    }
    Ok(exps.remove(0))
}

/// Checks `text` (with the sample values) and stores it under its `metadata.name`.
/// Returns the name and whether it is new.
pub fn put(
    store: &dyn CatalogStore,
    text: &str,
    source: &str,
) -> Result<(String, bool), CatalogError> {
    let exp = instantiate(text, None, source)?;
    let name = exp.metadata.name;
    let created = store
        .put_experiment(&name, text, source)
        .map_err(CatalogError::Store)?;
    Ok((name, created))
}

/// Experiment `name` instantiated for `cx`.
pub fn get(
    store: &dyn CatalogStore,
    name: &str,
    cx: Option<&GitlabContext>,
) -> Result<(ExperimentRow, Experiment), CatalogError> {
    let row = store
        .experiment(name)
        .map_err(CatalogError::Store)?
        .ok_or_else(|| CatalogError::NoSuch(name.to_string()))?;
    let exp = instantiate(&row.text, cx, &format!("catalog:{name}"))?;
    Ok((row, exp))
}

/// Loads every `*.yaml`, `*.yml` and `*.json` file of `dir` into the catalog (one
/// experiment per file). Every file is checked before any is stored: a bad file stops
/// the start-up with its errors, and nothing is half-loaded.
pub fn load_dir(store: &dyn CatalogStore, dir: &Path) -> Result<Vec<String>, Vec<CatalogError>> {
    let read = std::fs::read_dir(dir).map_err(|source| {
        vec![CatalogError::Read {
            path: dir.display().to_string(),
            source,
        }]
    })?;
    let mut files: Vec<_> = read
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
        })
        .collect();
    files.sort();
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    for path in files {
        let name = path.display().to_string();
        match std::fs::read_to_string(&path) {
            Ok(text) => match instantiate(&text, None, &name) {
                Ok(_) => ok.push((name, text)),
                Err(e) => errors.push(e),
            },
            Err(source) => errors.push(CatalogError::Read { path: name, source }),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut names = Vec::new();
    for (file, text) in ok {
        match put(store, &text, &file) {
            Ok((name, _)) => names.push(name),
            Err(e) => return Err(vec![e]),
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    const T: &str = "apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: { name: checkout }
spec:
  target: { local: { pid: 1 } }
  steadyState:
    - name: up
      http: { url: \"{{ gitlab.environment_url }}/health\" }
      expect: \">= 0.99\"
  steps:
    - processPause: {}
      duration: 1s
";

    #[test]
    fn templates_are_filled_per_trigger_and_checked_on_store() {
        let store = Store::open_in_memory().unwrap();
        let (name, created) = put(&store, T, "api").unwrap();
        assert_eq!((name.as_str(), created), ("checkout", true));
        let cx = GitlabContext {
            environment_url: Some("http://127.0.0.1:9".into()),
            ..sample()
        };
        let (_, exp) = get(&store, "checkout", Some(&cx)).unwrap();
        let json = serde_json::to_string(&exp).unwrap();
        assert!(json.contains("http://127.0.0.1:9/health"), "{json}");
        let e = put(
            &store,
            &T.replace("environment_url", "enviroment_url"),
            "api",
        )
        .unwrap_err();
        assert!(matches!(e, CatalogError::Template(_)), "{e}");
        assert!(
            e.to_string().contains("enviroment_url") || e.to_string().contains("undefined"),
            "{e}"
        );
        assert!(matches!(
            get(&store, "nope", None),
            Err(CatalogError::NoSuch(_))
        ));
    }

    #[test]
    fn a_bad_file_in_the_directory_loads_nothing() {
        let store = Store::open_in_memory().unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.yaml"), T).unwrap();
        std::fs::write(
            dir.path().join("b.yaml"),
            T.replace("processPause", "processPuase"),
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let errs = load_dir(&store, dir.path()).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert!(errs[0].to_string().contains("b.yaml"), "{}", errs[0]);
        assert!(store.list_experiments().unwrap().is_empty());
        std::fs::remove_file(dir.path().join("b.yaml")).unwrap();
        assert_eq!(load_dir(&store, dir.path()).unwrap(), ["checkout"]);
    }
}
