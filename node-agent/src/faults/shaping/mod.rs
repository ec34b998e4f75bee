//! What the netem and tbf families share: pick the interfaces in the target's netns, put
//! one root qdisc with our handle on each (and on an IFB for received traffic), all or
//! nothing; recover by deleting exactly what carries our marks.
//!
//! With `peers`/`ports` set the root is an htb tree that shapes only that traffic (see
//! `scoped.rs`); it carries the same handle, so recovery is the same.
//!
//! Ownership marks: our root qdiscs have handle `fa17:` ([`HANDLE`]), our IFB devices are
//! named `flifb<ifindex>`. Recovery touches nothing else, so a qdisc someone else put there
//! later survives it. One netns interface carries at most one qdisc fault at a time: a
//! second apply replaces the first (`tc qdisc replace` semantics), as in Chaos Mesh.
//! Deleting our root brings back the kernel's default qdisc, not one that was configured
//! before the fault.
//!
//! One file per step, importing one way: `apply` -> `recover` (to undo a partial apply)
//! -> `interfaces`, `root`; `apply` -> `scoped` -> `root`.

mod apply;
mod interfaces;
mod observe;
mod recover;
mod root;
mod scoped;

pub(crate) use apply::apply;
pub(crate) use observe::{baseline, observe};
pub(crate) use recover::recover;
pub use root::HANDLE;
pub(crate) use root::Shape;
