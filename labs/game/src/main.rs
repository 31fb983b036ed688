//! `game-lab`: parse the command line, run it, print one clear line on failure.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = netlab_game::cli::Cli::parse();
    netlab_common::term::finish(netlab_game::cli::run(cli))
}
