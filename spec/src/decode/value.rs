//! The typed value readers a fault field is declared with (`workers: u32 as Int<1, 256>`):
//! each reads one node, reports what is wrong with it (path, line, what was expected), and
//! names its type for the docs. The declaration picks the reader; the compiler checks that
//! the reader yields the field's Rust type.
//!
//! Here: the [`Read`] trait, the readers of units and names, and the combinators ([`OneOf`]
//! over a type's [`Words`], [`Opt`]). Readers of a fault vocabulary's own types live beside
//! those types (`Sig` in `fault/values.rs`, the traffic scope's in `fault/scope.rs`), so
//! this file imports no fault type and the fault types may import it.

use std::marker::PhantomData;

use super::cx::{Cx, Schema};
use super::tree::Node;
use crate::units::{BitRate, Bytes, Duration, Percent};

/// Reads one field's value.
pub trait Read {
    /// What it reads.
    type Value;
    /// The type as the docs' field tables name it.
    fn describe() -> String;
    /// The schema of the value when it is an object (so an unknown field one level down can
    /// be placed); `None` for scalars and lists.
    const CHILD: Option<&'static Schema> = None;

    /// Reads `node`, at `path`, reporting every problem to `cx`.
    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<Self::Value>;
}

/// A whole number from `MIN` to `MAX`.
pub struct Int<const MIN: i64, const MAX: i64>;

impl<const MIN: i64, const MAX: i64> Read for Int<MIN, MAX> {
    type Value = u32;
    fn describe() -> String {
        "integer".into()
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<u32> {
        // The bounds are the declaration's; a u32 field declares bounds within u32.
        cx.int(node, path, MIN, MAX).map(|v| v as u32)
    }
}

/// A whole number from `MIN` to `MAX` that may be negative (`oomScoreAdj`).
pub struct SignedInt<const MIN: i32, const MAX: i32>;

impl<const MIN: i32, const MAX: i32> Read for SignedInt<MIN, MAX> {
    type Value = i32;
    fn describe() -> String {
        "integer".into()
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<i32> {
        cx.int(node, path, MIN.into(), MAX.into()).map(|v| v as i32)
    }
}

/// A percentage, 0 to 100, as a number or a string (`'100'`, `50%`).
pub struct Pct;

impl Read for Pct {
    type Value = Percent;
    fn describe() -> String {
        "percentage".into()
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<Percent> {
        cx.percent(node, path)
    }
}

/// A duration >= 0 (`10ms`, `1m30s`).
pub struct Dur;

impl Read for Dur {
    type Value = Duration;
    fn describe() -> String {
        "duration".into()
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<Duration> {
        cx.parsed(node, path, "a duration >= 0 like `10ms`, `30s` or `1m30s`")
    }
}

/// A size in bytes, more than 0 (`256MB`, `50MiB`, `4096`).
pub struct Size;

impl Read for Size {
    type Value = Bytes;
    fn describe() -> String {
        "size".into()
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<Bytes> {
        let b: Bytes = cx.parsed(node, path, "a size like `256MB`, `50MiB` or `4096`")?;
        if b.0 == 0 {
            cx.err(path, node.pos, "must be more than 0 bytes");
            return None;
        }
        Some(b)
    }
}

/// A rate as `tc` reads it (`8mbit` bits, `1mbps` bytes per second).
pub struct Rate;

impl Read for Rate {
    type Value = BitRate;
    fn describe() -> String {
        "bit rate".into()
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<BitRate> {
        cx.parsed(node, path, "a rate as `tc` reads it: `8mbit` (bits per second: bit, kbit, mbit, gbit) or `1mbps` (BYTES per second: bps, kbps, mbps, gbps)")
    }
}

/// A closed set of words, each naming one value of `T`.
pub trait Words: Sized + 'static {
    /// The words, as the spec spells them.
    const WORDS: &'static [&'static str];
    /// The value a word in [`Words::WORDS`] names.
    fn from_word(word: &str) -> Self;
}

/// One of the words of `T`, with a suggestion when close to one.
pub struct OneOf<T>(PhantomData<T>);

impl<T: Words> Read for OneOf<T> {
    type Value = T;
    fn describe() -> String {
        let w: Vec<_> = T::WORDS.iter().map(|w| format!("`{w}`")).collect();
        format!("one of {}", w.join(", "))
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<T> {
        cx.one_of(node, path, T::WORDS).map(T::from_word)
    }
}

/// A list of non-empty names.
pub struct Names;

impl Read for Names {
    type Value = Vec<String>;
    fn describe() -> String {
        "list of names".into()
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<Vec<String>> {
        cx.strings(node, path)
    }
}

/// `R`'s value, for a field that may be left out and then holds nothing.
pub struct Opt<R>(PhantomData<R>);

impl<R: Read> Read for Opt<R> {
    type Value = Option<R::Value>;
    fn describe() -> String {
        R::describe()
    }
    const CHILD: Option<&'static Schema> = R::CHILD;

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<Self::Value> {
        R::read(cx, node, path).map(Some)
    }
}
