//! `faultline version`.

/// Prints the version and the spec versions this build reads.
pub fn run() -> u8 {
    println!("faultline {}", env!("CARGO_PKG_VERSION"));
    for (api, kind) in faultline_spec::load::SUPPORTED {
        println!("reads {api} {kind}");
    }
    0
}
