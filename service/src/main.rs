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
    // `faultline demo` runs its web server as this binary inside the demo's netns.
    let argv: Vec<String> = std::env::args().take(4).collect();
    // `faultline run`'s watchdog: before clap, so it starts cheaply and then sleeps.
    if argv.get(1).map(String::as_str) == Some(cmd::watchdog::ARG) {
        return cmd::watchdog::main(&argv[2..]);
    }
    if argv.get(1).map(String::as_str) == Some(faultline::demo::web::WEB_SERVER_ARG) {
        let addr = argv.get(2).map_or("127.0.0.1:8080", String::as_str);
        if let Err(e) = faultline::demo::web::serve(addr) {
            eprintln!("faultline demo web server: cannot serve on {addr}: {e}");
        }
        return ExitCode::from(1);
    }
    let cli = Cli::parse();
    // ring is the build's only rustls provider (issue 27); every TLS client and server
    // below (reqwest, kube, lettre, OTLP, serve's listener) takes it from here.
    faultline_exporter::tls_provider::install();
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
        Command::Run(args) => cmd::run::run(args),
        Command::Demo(args) => cmd::demo::run(args),
        Command::Serve(args) => cmd::serve::run(args),
        Command::Trigger(args) => cmd::trigger::run(args),
        Command::Recover(args) => cmd::recover::run(args),
        Command::StopAll(args) => cmd::halt::stop_all(args),
        Command::Resume(args) => cmd::halt::resume(args),
        Command::Config {
            command: cli::ConfigCommand::Example { kind },
        } => Ok(cmd::config::example(*kind)),
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
