//! `tcp-chat`: parse the command line, run it, print one clear line on failure.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = tcp_chat::cli::Cli::parse();
    netlab_common::term::finish(tcp_chat::cli::run(cli))
}
