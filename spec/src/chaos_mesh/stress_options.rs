//! `stressors.cpu.options` and `stressors.memory.options`: the raw flags Chaos Mesh appends
//! to its stress-ng command line (memory's go to its memStress, which takes `--workers`,
//! `--size`, `--time`). Each flag faultline can honour is mapped onto the kind's fields;
//! every other one is refused, named, with why.
//!
//! An item is `--flag value`, `--flag=value` or a bare `--flag`; Chaos Mesh joins the items
//! with spaces, so one item may hold several flags, and so may it here.
//!
//! Rules for flags that repeat what a field says:
//! - `--cpu N`, `--cpu-load P`, `--vm N`/`--workers N`, `--vm-bytes S`/`--size S` must
//!   agree with `workers`, `load`, `workers`, `size`. stress-ng would take the later
//!   value (the option); faultline takes neither silently and asks for one value.
//! - `--timeout T`: the fault's duration always ends the stress (a stressor never
//!   outlives its fault). A `T` at or above the duration is accepted, as it changes
//!   nothing; a shorter one, or one on a fault without a duration, would end the stress
//!   before its fault, so it is refused with the `duration` to write instead.

use super::common::unsupported_flag;
use crate::decode::cx::{Cx, index};
use crate::decode::tree::{Node, Pos};
use crate::fault::kinds::{LOAD_SLICE, MAX_WORKERS, StressCpu, StressMemory};
use crate::units::{Bytes, Duration, Percent};

/// One flag of an options list, with its value if it has one.
#[derive(Debug, PartialEq)]
struct Flag {
    /// The flag as written (`--cpu`, `-c`).
    name: String,
    /// Its value (`2` of `--cpu 2` or `--cpu=2`).
    value: Option<String>,
    /// The list item it came from, and where that is.
    path: String,
    pos: Pos,
}

impl Flag {
    /// `--cpu 2`, as written.
    fn shown(&self) -> String {
        match &self.value {
            Some(v) => format!("{} {v}", self.name),
            None => self.name.clone(),
        }
    }
}

/// True for a word that is a value even though it starts with `-` (`-1`).
fn is_number(word: &str) -> bool {
    word.parse::<f64>().is_ok()
}

/// Splits every item of the list `node` (at `path`) into flags, reporting malformed
/// items and words; the flags read, and whether all was well (`None`: not a list).
fn flags(cx: &mut Cx, node: &Node, path: &str) -> Option<(Vec<Flag>, bool)> {
    let items = cx.list(node, path)?;
    let mut out = Vec::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let at = index(path, i);
        let Some(text) = cx.nonempty(item, &at) else {
            ok = false;
            continue;
        };
        let mut words = text.split_whitespace().peekable();
        while let Some(w) = words.next() {
            if !w.starts_with('-') || is_number(w) {
                cx.err(
                    &at,
                    item.pos,
                    format!("`{w}` is not a flag: each option is `--flag`, `--flag value` or `--flag=value`"),
                );
                ok = false;
                continue;
            }
            let (name, value) = match w.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => {
                    let value = words
                        .next_if(|v| !v.starts_with('-') || is_number(v))
                        .map(str::to_string);
                    (w.to_string(), value)
                }
            };
            out.push(Flag {
                name,
                value,
                path: at.clone(),
                pos: item.pos,
            });
        }
    }
    Some((out, ok))
}

/// The long name of a stress-ng short flag.
fn long_name(name: &str) -> &str {
    match name {
        "-c" => "--cpu",
        "-l" => "--cpu-load",
        "-t" => "--timeout",
        "-m" => "--vm",
        other => other,
    }
}

/// The flag's value, or an error saying it needs one.
fn value<'f>(cx: &mut Cx, f: &'f Flag, what: &str) -> Option<&'f str> {
    match f.value.as_deref() {
        Some(v) => Some(v),
        None => {
            cx.err(
                &f.path,
                f.pos,
                format!("`{}` needs a value: {what}", f.name),
            );
            None
        }
    }
}

/// A whole number value.
fn int(cx: &mut Cx, f: &Flag, what: &str) -> Option<i64> {
    let v = value(cx, f, what)?;
    match v.parse() {
        Ok(n) => Some(n),
        Err(_) => {
            cx.err(&f.path, f.pos, format!("`{}`: `{v}` is not {what}", f.name));
            None
        }
    }
}

/// stress-ng's time values: seconds, or a number with `s`, `m`, `h`, `d` or `y`.
fn seconds(cx: &mut Cx, f: &Flag) -> Option<Duration> {
    let v = value(cx, f, "seconds, like `600` or `10m`")?;
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let scale = match unit {
        "" | "s" => Some(1),
        "m" => Some(60),
        "h" => Some(3600),
        "d" => Some(86_400),
        "y" => Some(31_556_952),
        _ => None,
    };
    match (num.parse::<u64>(), scale) {
        (Ok(n), Some(s)) => Some(Duration::from_secs(n.saturating_mul(s))),
        _ => {
            cx.err(
                &f.path,
                f.pos,
                format!(
                    "`{}`: `{v}` is not a time in stress-ng's form (seconds, or a number with s, m, h, d or y)",
                    f.name
                ),
            );
            None
        }
    }
}

/// A flag that repeats a field must say the same: `field` as written, `given` from the
/// flag, `same` whether they agree.
fn agrees(cx: &mut Cx, f: &Flag, same: bool, field: &str, given: &str) -> bool {
    if !same {
        cx.err_hint(
            &f.path,
            f.pos,
            format!("`{}` disagrees with `{field}`", f.shown()),
            format!("stress-ng would take the option's value and faultline will not pick one silently: write `{given}` and drop the option, or drop the option"),
        );
    }
    same
}

/// `--timeout T` against the fault's duration (`None`: held until aborted); see the
/// module doc. `dur` is `None` when the duration itself was bad (said already).
fn timeout(cx: &mut Cx, f: &Flag, dur: Option<Option<Duration>>) -> bool {
    let Some(t) = seconds(cx, f) else {
        return false;
    };
    let Some(dur) = dur else { return true };
    if t == Duration::ZERO {
        return true; // stress-ng's "no timeout"
    }
    match dur {
        Some(d) if t >= d => true,
        Some(d) => {
            cx.err_hint(
                &f.path,
                f.pos,
                format!(
                    "`{}` would end the stress before the fault's {d}: a faultline stressor lasts exactly as long as its fault",
                    f.shown()
                ),
                format!("set `duration: {t}` and drop the option"),
            );
            false
        }
        None => {
            cx.err_hint(
                &f.path,
                f.pos,
                format!(
                    "`{}` would end the stress while the fault, which has no `duration`, still holds: a faultline stressor lasts exactly as long as its fault",
                    f.shown()
                ),
                format!("set `duration: {t}` and drop the option"),
            );
            false
        }
    }
}

/// Applies `stressors.cpu.options` (the list `node` at `path`) to `c`; false if any flag
/// was refused (each reported).
pub fn cpu(
    cx: &mut Cx,
    node: &Node,
    path: &str,
    c: &mut StressCpu,
    dur: Option<Option<Duration>>,
) -> bool {
    const HONOURED: &str = "--cpu, --cpu-load, --cpu-load-slice, --timeout";
    let Some((flags, mut ok)) = flags(cx, node, path) else {
        return false;
    };
    for f in &flags {
        ok &= match long_name(&f.name) {
            "--cpu" => match int(cx, f, "a number of workers") {
                Some(n) if n <= 0 => unsupported_flag(
                    cx,
                    &f.path,
                    f.pos,
                    &f.shown(),
                    "stress-ng's 0 or less means one worker per online CPU, which faultline does not know before the fault runs; write the number in `workers`",
                ),
                Some(n) if n > MAX_WORKERS => {
                    cx.err(
                        &f.path,
                        f.pos,
                        format!(
                            "`{}`: {n} is out of range; allowed 1 to {MAX_WORKERS}",
                            f.shown()
                        ),
                    );
                    false
                }
                Some(n) => {
                    let field = format!("workers: {}", c.workers);
                    agrees(
                        cx,
                        f,
                        n == i64::from(c.workers),
                        &field,
                        &format!("workers: {n}"),
                    )
                }
                None => false,
            },
            "--cpu-load" => match int(cx, f, "a percentage from 0 to 100") {
                Some(p) => match Percent::new(p as f64) {
                    Ok(p) => {
                        let field = format!("load: {}", c.load.value());
                        agrees(cx, f, p == c.load, &field, &format!("load: {}", p.value()))
                    }
                    Err(e) => {
                        cx.err(&f.path, f.pos, format!("`{}`: {e}", f.shown()));
                        false
                    }
                },
                None => false,
            },
            "--cpu-load-slice" => match int(cx, f, "milliseconds") {
                Some(ms) if ms <= 0 => unsupported_flag(
                    cx,
                    &f.path,
                    f.pos,
                    &f.shown(),
                    "stress-ng's 0 or less picks random slices; faultline's slices are fixed: give milliseconds, like `--cpu-load-slice 100`",
                ),
                Some(ms) => {
                    let s = Duration::from_millis(ms as u64);
                    if s < LOAD_SLICE.0 || s > LOAD_SLICE.1 {
                        cx.err(
                            &f.path,
                            f.pos,
                            format!("`{}`: {s} is out of range; allowed 1ms to 10s", f.shown()),
                        );
                        false
                    } else {
                        c.load_slice = Some(s);
                        true
                    }
                }
                None => false,
            },
            "--timeout" => timeout(cx, f, dur),
            "--cpu-method" => unsupported_flag(
                cx,
                &f.path,
                f.pos,
                &f.shown(),
                "faultline's CPU workers spin a loop of their own; stress-ng's methods (sqrt, fft, matrixprod, ...) are not carried out",
            ),
            "--cpu-ops" => unsupported_flag(
                cx,
                &f.path,
                f.pos,
                &f.shown(),
                "faultline counts no bogo operations; the fault's duration ends the stress",
            ),
            _ => unsupported_flag(
                cx,
                &f.path,
                f.pos,
                &f.shown(),
                &format!("faultline's CPU stressor runs CPU workers only and honours {HONOURED}"),
            ),
        };
    }
    ok
}

/// Applies `stressors.memory.options` (the list `node` at `path`) to `m`; false if any
/// flag was refused (each reported).
pub fn memory(
    cx: &mut Cx,
    node: &Node,
    path: &str,
    m: &mut StressMemory,
    dur: Option<Option<Duration>>,
) -> bool {
    const HONOURED: &str = "--vm/--workers, --vm-bytes/--size, --vm-hang, --timeout";
    let Some((flags, mut ok)) = flags(cx, node, path) else {
        return false;
    };
    for f in &flags {
        ok &= match long_name(&f.name) {
            "--vm" | "--workers" => match int(cx, f, "a number of workers") {
                Some(n) if n <= 0 => unsupported_flag(
                    cx,
                    &f.path,
                    f.pos,
                    &f.shown(),
                    "stress-ng's 0 or less means one worker per online CPU, which faultline does not know before the fault runs; write the number in `workers`",
                ),
                Some(n) => {
                    let field = format!("workers: {}", m.workers);
                    agrees(
                        cx,
                        f,
                        n == i64::from(m.workers),
                        &field,
                        &format!("workers: {n}"),
                    )
                }
                None => false,
            },
            "--vm-bytes" | "--size" => {
                let Some(v) = value(cx, f, "a size like `256MB`") else {
                    ok = false;
                    continue;
                };
                match v.parse::<Bytes>() {
                    Ok(b) => {
                        let field = format!("size: {}", m.size);
                        agrees(cx, f, b == m.size, &field, &format!("size: {b}"))
                    }
                    Err(e) => {
                        cx.err_hint(
                            &f.path,
                            f.pos,
                            format!("`{}`: {e}", f.shown()),
                            "faultline takes a size in bytes, not a share of memory",
                        );
                        false
                    }
                }
            }
            "--vm-hang" => match seconds(cx, f) {
                // stress-ng's 0 hangs forever: hold the memory, faultline's default.
                Some(d) if d == Duration::ZERO => true,
                Some(d) => {
                    m.hang = Some(d);
                    true
                }
                None => false,
            },
            "--timeout" => timeout(cx, f, dur),
            "--time" => unsupported_flag(
                cx,
                &f.path,
                f.pos,
                &f.shown(),
                "memStress's growth time is not carried out: faultline's workers allocate their share at once",
            ),
            "--vm-keep" => unsupported_flag(
                cx,
                &f.path,
                f.pos,
                &f.shown(),
                "faultline's workers hold their pages without re-writing them; drop it (the memory is held either way)",
            ),
            _ => unsupported_flag(
                cx,
                &f.path,
                f.pos,
                &f.shown(),
                &format!(
                    "faultline's memory stressor allocates and holds memory only and honours {HONOURED}"
                ),
            ),
        };
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_split_into_flags_the_three_ways_and_several_per_item() {
        let yaml = "['--cpu 2', '--timeout=600', '--metrics-brief --cpu-load-slice -1', '-c 1']";
        let docs = crate::decode::tree::parse(yaml).unwrap();
        let mut cx = Cx::default();
        let (f, ok) = flags(&mut cx, docs[0].root.as_ref().unwrap(), "o").unwrap();
        assert!(ok);
        let shown: Vec<_> = f.iter().map(Flag::shown).collect();
        assert_eq!(
            shown,
            [
                "--cpu 2",
                "--timeout 600",
                "--metrics-brief",
                "--cpu-load-slice -1",
                "-c 1"
            ]
        );
        assert_eq!(f[3].path, "o[2]");
    }
}
