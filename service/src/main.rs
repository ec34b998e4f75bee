#![forbid(unsafe_code)]
fn main() {
    // `faultline run` applies stress in-process: its workers are this binary re-exec'ed.
    faultline_agent::faults::stress::run_stress_worker_if_requested();
}
