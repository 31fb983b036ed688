//! `ftp-lab`: parse the command line, run it, print one clear line on failure.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = ftp_lab::cli::Cli::parse();
    netlab_common::term::finish(ftp_lab::cli::run(cli))
}
