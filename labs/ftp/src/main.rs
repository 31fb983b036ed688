//! `ftp-lab`: parse the command line, run it, print one clear line on failure.
//!
//! ## Why this binary brings its own memory allocator
//! A program's allocator decides *where* each buffer sits in memory, and where a buffer sits
//! can change how fast it is copied. Every TLS record an upload brings is decrypted by rustls
//! in the buffer it arrived in, then copied out (16 KiB of plaintext) into a buffer rustls
//! allocates for it, which we read from. On this lab's benchmark machine (AMD EPYC, Debian 12's
//! glibc 2.36), glibc's `memcpy` copies 16 KiB blocks with the `rep movsb` instruction, and that
//! instruction runs at about 3 GB/s instead of 60-80 GB/s when the destination lies a few bytes
//! *ahead* of the source within a 4 KiB page (measured with a C loop: source at a page's start,
//! destination 5 bytes in: 2.6 GB/s; the reverse: 64 GB/s; glibc 2.39 stopped using `rep movsb`
//! on these processors for that reason, glibc bug 30994). Where glibc's allocator put rustls's
//! buffers was luck: a record's plaintext starts 5 bytes into its buffer (after the record
//! header), and in most uploads that copy alone took a quarter of the server's CPU (perf:
//! `rep movsb` in `take_received_plaintext`, 25-27% of the samples; the same bytes copied once
//! more, aligned, cost 1.5%).
//!
//! mimalloc gives every buffer of 16 KiB and more (the records' sizes) a page-aligned address,
//! so that copy always runs the fast way: a 1 GiB TLS upload from curl cost the server 1.23-1.45 s
//! of CPU instead of 1.48-1.82 s (`labs/ftp/bench/bench-vs-vsftpd.sh`, docs/results). On other
//! systems (macOS, Windows, Intel processors, newer glibc) the difference is smaller or none, and
//! mimalloc is still a fast, well-kept general allocator.

use std::process::ExitCode;

use clap::Parser;

/// Every allocation of this program goes through mimalloc (module docs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = ftp_lab::cli::Cli::parse();
    netlab_common::term::finish(ftp_lab::cli::run(cli))
}
