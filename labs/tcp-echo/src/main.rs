//! `tcp-echo`: parse the command line, run it, print one clear line on failure.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = tcp_echo::cli::Cli::parse();
    netlab_common::term::finish(tcp_echo::cli::run(cli))
}
