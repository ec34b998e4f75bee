//! No input makes the decoder panic: arbitrary bytes, and valid specs mutated line by line
//! and character by character. 10,000 cases each by default (PROPTEST_CASES overrides).

use faultline_spec::{load_str, yaml};
use proptest::prelude::*;
use proptest::test_runner::Config;

const SEEDS: [&str; 8] = [
    include_str!("../../examples/chaos-mesh/stress-cpu.yaml"),
    include_str!("../../examples/chaos-mesh/stress-memory.yaml"),
    include_str!("../../examples/chaos-mesh/network-delay.yaml"),
    include_str!("../../examples/chaos-mesh/workflow.yaml"),
    include_str!("../../examples/chaos-mesh/as-printed/stress-memory.yaml"),
    include_str!("../../examples/native/checkout-under-stress.yaml"),
    include_str!("../../examples/native/local-netns-and-process.yaml"),
    include_str!("../../examples/native/nightly-bandwidth.json"),
];

/// Lines that are YAML-ish and likely to hit deep paths when inserted anywhere.
const SNIPPETS: [&str; 14] = [
    "  - parallel: [{stressCpu: {workers: 1, load: 1}, duration: 1s}]",
    "    duration: 99999999999999999999999s",
    "&a [*a]",
    "x: *nope",
    "- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -",
    "---",
    "  mode: fixed-percent",
    "  value: \"1e400\"",
    "      workers: -9223372036854775808",
    "  target: {local: {}}",
    "templateType: Serial",
    "children: [entry, entry]",
    "? [a, b]\n: c",
    "\t\u{feff}\u{0}",
];

fn config() -> Config {
    Config {
        cases: 10_000,
        failure_persistence: None,
        ..Config::default()
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize),
    Duplicate(usize),
    Insert(usize, String),
    Flip(usize, char),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Duplicate),
        (
            any::<usize>(),
            prop_oneof![
                prop::sample::select(SNIPPETS.to_vec()).prop_map(String::from),
                ".{0,40}"
            ]
        )
            .prop_map(|(i, s)| Mutation::Insert(i, s)),
        (
            any::<usize>(),
            prop_oneof![
                any::<char>(),
                prop::sample::select(vec![
                    ':', '-', ' ', '[', '{', '&', '*', '\'', '"', '\n', '#', '!'
                ])
            ]
        )
            .prop_map(|(i, c)| Mutation::Flip(i, c)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let n = lines.len().max(1);
    match m {
        Mutation::Delete(i) if !lines.is_empty() => {
            lines.remove(i % n);
        }
        Mutation::Duplicate(i) if !lines.is_empty() => {
            let l = lines[i % n].clone();
            lines.insert(i % n, l);
        }
        Mutation::Insert(i, s) => lines.insert(i % (lines.len() + 1), s.clone()),
        Mutation::Flip(i, c) => {
            let mut chars: Vec<char> = text.chars().collect();
            if !chars.is_empty() {
                let at = i % chars.len();
                chars[at] = *c;
            }
            return chars.into_iter().collect();
        }
        Mutation::Truncate(i) => {
            let chars: Vec<char> = text.chars().collect();
            return chars[..i % (chars.len() + 1)].iter().collect();
        }
        _ => {}
    }
    lines.join("\n")
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = load_str(&text, "fuzz.yaml");
    }

    #[test]
    fn mutated_valid_specs_never_panic(seed in 0..SEEDS.len(), muts in prop::collection::vec(mutation(), 1..5)) {
        let mut text = SEEDS[seed].to_string();
        for m in &muts {
            text = apply(&text, m);
        }
        match load_str(&text, "fuzz.yaml") {
            // What still decodes must print and read back as the same experiments.
            Ok(exps) => {
                for e in exps {
                    let y = yaml::to_yaml(&e).unwrap();
                    let back = load_str(&y, "explained.yaml").map_err(|err| format!("{err}\n{y}"));
                    prop_assert_eq!(back, Ok(vec![e]));
                }
            }
            Err(errs) => prop_assert!(!errs.errors.is_empty()),
        }
    }
}

#[test]
fn explained_examples_read_back_unchanged() {
    for text in SEEDS
        .iter()
        .filter(|s| !s.contains("exactly as the talk prints"))
    {
        for e in load_str(text, "seed.yaml").unwrap() {
            let y = yaml::to_yaml(&e).unwrap();
            assert_eq!(
                load_str(&y, "explained.yaml").unwrap_or_else(|err| panic!("{err}\n{y}")),
                vec![e]
            );
        }
    }
}
