//! Who may break what, and when: change windows (when chaos may run, and freezes) and the
//! preflight veto (an outside service asked before anything is injected). The audit log
//! that records both is [`crate::application::audit`].

pub mod clock;
pub mod veto;
pub mod windows;

pub use clock::{Clock, SystemClock};
pub use veto::{Preflight, namespaces_of};
pub use windows::{ChangeWindow, Closing, Freeze, Outside, Weekly, WindowError};
