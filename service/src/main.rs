//! The `faultline` binary: parses the command line, sets up logging, runs a subcommand.
#![forbid(unsafe_code)]

mod cli;
mod cmd;

use std::process::ExitCode;

use clap::Parser;
use faultline_exporter::LogFormat;

use cli::{Cli, Command, LogFormatArg};

fn main() -> ExitCode {
    // `faultline run` applies stress in-process: its workers are this binary re-exec'ed.
    faultline_agent::faults::stress::run_stress_worker_if_requested();
    let cli = Cli::parse();
    let format = match cli.log_format {
        LogFormatArg::Human => LogFormat::Human,
        LogFormatArg::Json => LogFormat::Json,
    };
    if let Err(e) = faultline_exporter::logging::init(format, cli.verbose) {
        eprintln!("faultline: {e}");
        return ExitCode::from(1);
    }
    let code = match &cli.command {
        Command::Validate(args) => cmd::validate::run(args),
        Command::Run(f) => Ok(cmd::run::run(f.file.as_deref())),
        Command::Demo => Ok(cmd::demo::run()),
        Command::Serve => Ok(cmd::serve::run()),
        Command::Trigger(f) => Ok(cmd::trigger::run(f.file.as_deref())),
        Command::Recover => Ok(cmd::recover::run()),
        Command::Version => Ok(cmd::version::run()),
    };
    match code {
        Ok(c) => ExitCode::from(c),
        Err(e) => {
            eprintln!("faultline: {e:#}");
            ExitCode::from(1)
        }
    }
}
