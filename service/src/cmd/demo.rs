//! `faultline demo`: see `faultline::demo`.

use anyhow::Context;
use faultline::demo::{DemoOptions, run as run_demo};

use crate::cli::StateArgs;

/// Runs `demo`; exit 0 when every experiment reached the verdict it demonstrates and no
/// fault was left behind.
pub fn run(args: &StateArgs) -> anyhow::Result<u8> {
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let ok = rt.block_on(run_demo(DemoOptions {
        state_dir: args.state_dir.join("demo"),
    }))?;
    if ok {
        println!("\ndemo complete: passed, failed and aborted verdicts shown; nothing left behind");
        Ok(0)
    } else {
        println!("\ndemo did not go as designed: see the verdicts above");
        Ok(1)
    }
}
