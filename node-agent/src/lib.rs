//! The faultline node agent as a library: the experiment spec shared by the service and
//! the agent, the agent protocol and its client, and the fault executors that the daemon
//! runs and `faultline run` reuses in-process.

pub mod spec;
