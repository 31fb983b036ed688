//! `ftp-lab`: parse the command line, run it, print one clear line on failure.
//!
//! ## Why this binary brings its own memory allocator
//! A program's allocator decides *where* each buffer sits in memory, and where a buffer sits
//! can change how fast it is copied. Every TLS record an upload brings is decrypted by rustls
//! in the buffer it arrived in, then copied out (16 KiB of plaintext) into a buffer rustls
//! allocates for it, which we read from. On this lab's benchmark machine (AMD EPYC, Debian 12's
//! glibc 2.36), glibc's `memcpy` copies 16 KiB blocks with the `rep movsb` instruction, and that
//! instruction runs at about 2.5 GB/s instead of 50-75 GB/s when the destination lies 1 to 15
//! bytes *ahead* of the source within a 4 KiB page (measured with a C loop: 5 bytes ahead,
//! 2.5 GB/s; 5 bytes behind, 64 GB/s). It is a known weakness of `rep movsb` on AMD's Zen
//! processors with unaligned data; glibc uses the instruction for copies of this size on
//! processors that announce a fast one (`erms` and `fsrm` in /proc/cpuinfo). Where glibc's
//! allocator put rustls's buffers was luck: a record's plaintext starts 5 bytes into its buffer
//! (after the record header), and in most uploads that copy alone took a quarter of the
//! server's CPU (perf:
//! `rep movsb` in `take_received_plaintext`, 25-27% of the samples; the same bytes copied once
//! more, aligned, cost 1.5%).
//!
//! mimalloc places blocks of these sizes (16 KiB, 18 KiB, 64 KiB, ...) on page boundaries, so
//! that copy's destination lies 5 bytes *behind* its source, and it runs the fast way. Five 1 GiB
//! TLS uploads from curl, each to a fresh server, cost the server 1.09-1.46 s of CPU (median
//! 1.21) instead of 1.36-1.88 s (median 1.67) with glibc's allocator; benchmarks against vsftpd
//! are in docs/results/ftps-2026-12-07.md. Downloads need one more step, in
//! `server::transfer`. On other systems (macOS, Windows, Intel processors, newer glibc) the
//! difference is smaller or none, and mimalloc is still a fast, well-kept allocator; its cost
//! here is a larger resident set (14 MB at peak instead of 6.5 over a benchmark's 72 transfers).

use std::process::ExitCode;

use clap::Parser;

/// Every allocation of this program goes through mimalloc (module docs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = ftp_lab::cli::Cli::parse();
    netlab_common::term::finish(ftp_lab::cli::run(cli))
}
