//! The service's architecture, checked (in the spirit of ArchUnit): its source files are
//! read, every import between them found (`use crate::…` lines, grouped ones included,
//! and paths written inline: `crate::x::`, `super::`, `self::`, a child module's `x::`),
//! and each file placed in its layer:
//!
//! - `domain/` — the run; imports nothing above it;
//! - `application/` — what the service does with runs, and the ports it needs;
//! - adapters — `api`, `config`, `gitlab`, `kube`, `notify`, `outputs`, `store`: each may
//!   import the domain and the application, never another adapter;
//! - the composition root — `lib.rs`, `demo/`, and the binary (`main.rs`, `cli.rs`,
//!   `cmd/`) — wires adapters into the application and may import anything.
//!
//! An import that points up, or from one adapter to another, fails the test with its file,
//! line and path; so does a module in no layer, and a circle of imports between files
//! (in the service, the agent and the spec crate). `#[cfg(test)]` items are not read: unit
//! tests may wire real adapters together, as the composition root does.

#[path = "architecture/imports.rs"]
mod imports;
#[path = "architecture/rules.rs"]
mod rules;
#[path = "architecture/source.rs"]
mod source;

use std::path::Path;

use imports::{Crate, Sources, graph, read_crate};
use rules::{Layer, circles, describe_circle, violations};

/// Every `.rs` file under `dir`, by its path relative to `dir`.
fn sources(dir: &Path) -> Sources {
    fn walk(root: &Path, dir: &Path, out: &mut Sources) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).expect("under the root");
                let rel = rel.to_string_lossy().replace('\\', "/");
                let text = std::fs::read_to_string(&path).expect("readable source");
                out.insert(rel, text);
            }
        }
    }
    let mut out = Sources::new();
    walk(dir, dir, &mut out);
    out
}

fn service_sources() -> Sources {
    sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

fn agent_sources() -> Sources {
    sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../node-agent/src"))
}

fn spec_sources() -> Sources {
    sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/src"))
}

/// The layer of each module of the service library.
fn service_layer(module: &[String]) -> Option<Layer> {
    match module.first().map(String::as_str) {
        // lib.rs only declares the modules.
        None | Some("demo") => Some(Layer::Top),
        Some("domain") => Some(Layer::Domain),
        Some("application") => Some(Layer::Application),
        Some(a @ ("api" | "config" | "gitlab" | "kube" | "notify" | "outputs" | "store")) => {
            Some(Layer::Adapter(a.to_string()))
        }
        Some(_) => None,
    }
}

fn report_circles(krate: &Crate) -> Vec<String> {
    circles(&graph(krate))
        .iter()
        .map(|c| describe_circle(krate, c))
        .collect()
}

#[test]
fn the_service_library_reads_as_layers() {
    let lib = read_crate(&service_sources(), "lib.rs");
    // A parser that reads nothing finds nothing wrong: make sure it read the service.
    assert!(
        lib.modules.len() > 100 && lib.imports.len() > 400,
        "only {} modules and {} imports read: is the parser broken?",
        lib.modules.len(),
        lib.imports.len()
    );
    let wrong = violations(&lib, service_layer);
    assert!(
        wrong.is_empty(),
        "{} imports break the layering (domain < application < adapters < composition root):\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn the_service_has_no_import_circles() {
    let src = service_sources();
    for root in ["lib.rs", "main.rs"] {
        let krate = read_crate(&src, root);
        assert!(krate.modules.len() > 5, "{root}: nothing read");
        let found = report_circles(&krate);
        assert!(
            found.is_empty(),
            "{root}: {} import circles:\n{}",
            found.len(),
            found.join("\n")
        );
    }
}

/// The agent's circles, printed whether or not they fail the test below.
fn agent_circles() -> Vec<String> {
    let krate = read_crate(&agent_sources(), "lib.rs");
    assert!(krate.modules.len() > 20, "the agent was not read");
    let found = report_circles(&krate);
    for c in &found {
        eprintln!("node-agent: {c}");
    }
    found
}

#[test]
fn the_agent_has_no_import_circles() {
    let found = agent_circles();
    assert!(
        found.is_empty(),
        "node-agent: {} import circles:\n{}",
        found.len(),
        found.join("\n")
    );
}

/// The spec crate's circles, printed whether or not they fail the test below.
fn spec_circles() -> Vec<String> {
    let krate = read_crate(&spec_sources(), "lib.rs");
    assert!(krate.modules.len() > 20, "the spec crate was not read");
    let found = report_circles(&krate);
    for c in &found {
        eprintln!("faultline-spec: {c}");
    }
    found
}

#[test]
fn the_spec_has_no_import_circles() {
    let found = spec_circles();
    assert!(
        found.is_empty(),
        "faultline-spec: {} import circles:\n{}",
        found.len(),
        found.join("\n")
    );
}

/// The parser and the rules on small crates written here, so the tests above can fail.
mod checker {
    use super::imports::{Sources, read_crate, use_paths};
    use super::rules::{circles, violations};
    use super::service_layer;
    use super::source::read;
    use crate::imports::graph;

    fn tree(files: &[(&str, &str)]) -> Sources {
        files
            .iter()
            .map(|(p, s)| (p.to_string(), s.to_string()))
            .collect()
    }

    fn joined(paths: Vec<Vec<String>>) -> Vec<String> {
        paths.into_iter().map(|p| p.join("::")).collect()
    }

    #[test]
    fn a_grouped_import_names_every_path() {
        let toks = read(
            "crate::{domain::{RunEvent, RunState}, application::ports::{self, RunStore as Store}, api::*}",
        );
        assert_eq!(
            joined(use_paths(&toks)),
            [
                "crate::domain::RunEvent",
                "crate::domain::RunState",
                "crate::application::ports",
                "crate::application::ports::RunStore",
                "crate::api",
            ]
        );
        assert!(
            use_paths(&read("::kube::Client")).is_empty(),
            "an external crate"
        );
    }

    #[test]
    fn an_upward_import_is_named_with_its_file_and_line() {
        let krate = read_crate(
            &tree(&[
                ("lib.rs", "pub mod application;\npub mod domain;\n"),
                ("domain/mod.rs", "pub mod run;\n"),
                (
                    "domain/run.rs",
                    "//! The run.\n\nuse crate::application::live::{LiveRuns, LiveError};\n",
                ),
                ("application/mod.rs", "pub mod live;\n"),
                (
                    "application/live.rs",
                    "use crate::domain::run::Run;\npub struct LiveRuns;\n",
                ),
            ]),
            "lib.rs",
        );
        let wrong = violations(&krate, service_layer);
        assert_eq!(wrong.len(), 2, "{wrong:?}");
        assert!(
            wrong[0].starts_with("domain/run.rs:3: `crate::application::live::LiveError` (application/live.rs): the domain imports the application"),
            "{wrong:?}"
        );
        assert_eq!(
            circles(&graph(&krate)),
            [["application/live.rs", "domain/run.rs"]]
        );
    }

    #[test]
    fn an_adapter_importing_another_adapter_inline_is_refused() {
        let krate = read_crate(
            &tree(&[
                (
                    "lib.rs",
                    "pub mod gitlab;\npub mod store;\npub mod extra;\n",
                ),
                ("gitlab.rs", "pub struct Client;\n"),
                (
                    "store.rs",
                    "pub fn f(c: &crate::gitlab::Client) -> usize {\n    0\n}\n",
                ),
                ("extra.rs", ""),
            ]),
            "lib.rs",
        );
        let wrong = violations(&krate, service_layer);
        assert_eq!(
            wrong,
            [
                "store.rs:1: `crate::gitlab::Client` (gitlab.rs): adapter `store` imports adapter `gitlab` — an adapter imports another adapter",
                "extra.rs: module `extra` is in no layer",
            ]
        );
    }

    #[test]
    fn circles_through_relative_paths_and_re_exports_are_found() {
        let krate = read_crate(
            &tree(&[
                ("lib.rs", "mod api;\n"),
                // mod.rs re-exports `state`, and `state` names a sibling through mod.rs.
                (
                    "api/mod.rs",
                    "mod runs;\nmod state;\npub use state::State;\n\npub fn configure() {\n    runs::configure();\n}\n",
                ),
                ("api/state.rs", "use super::configure;\npub struct State;\n"),
                (
                    "api/runs.rs",
                    "pub fn configure() {\n    self::helper();\n}\nfn helper() {}\n",
                ),
            ]),
            "lib.rs",
        );
        assert_eq!(circles(&graph(&krate)), [["api/mod.rs", "api/state.rs"]]);
        assert!(
            krate
                .imports
                .iter()
                .any(|i| i.from == "api/mod.rs" && i.to == "api/runs.rs" && i.line == 6),
            "a child module's path is an import: {:?}",
            krate.imports
        );
    }

    #[test]
    fn comments_strings_and_test_modules_are_not_imports() {
        let krate = read_crate(
            &tree(&[
                ("lib.rs", "pub mod application;\npub mod domain;\n"),
                ("application/mod.rs", "pub struct X;\n"),
                (
                    "domain/mod.rs",
                    "//! Not [`crate::application::X`].\n/* crate::application::X */\nconst S: &str = \"crate::application::X\";\nconst R: &str = r#\"use crate::application::X;\"#;\nconst C: char = '\"';\nfn f<'a>(s: &'a str) -> &'a str { s }\n#[cfg(test)]\nmod tests {\n    use crate::application::X;\n}\n#[cfg(test)]\nuse crate::application::X;\n",
                ),
            ]),
            "lib.rs",
        );
        assert!(krate.imports.is_empty(), "{:?}", krate.imports);
    }
}
