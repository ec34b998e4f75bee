//! The validating decoder: YAML/JSON text -> positioned tree -> typed structs, collecting
//! every error with its field path, line and column.

pub mod check_step;
pub mod compare;
pub mod cx;
pub mod fault;
pub mod native;
pub mod repeat;
pub mod scalars;
pub mod schedule;
pub mod source;
pub mod steady;
pub mod steps;
pub mod target;
pub mod task_step;
pub mod tree;
pub mod value;

pub use cx::{Cx, Obj, Schema};
pub use tree::{Node, Pos};
