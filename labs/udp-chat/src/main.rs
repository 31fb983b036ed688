//! `udp-chat`: parse the command line, run it, print one clear line on failure.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = udp_chat::cli::Cli::parse();
    netlab_common::term::finish(udp_chat::cli::run(cli))
}
