//! `ftp-lab`: parse the command line, run it, print one clear line on failure.
//!
//! ## Why this binary brings its own memory allocator
//! A program's allocator decides *where* each buffer sits in memory, and where a buffer sits
//! can change how fast it is copied. Every TLS record an upload brings is decrypted by rustls
//! in the buffer it arrived in, then copied out (16 KiB of plaintext, starting 5 bytes into
//! that buffer, after the record's header) into a buffer rustls allocates for it, which we
//! read from.
//!
//! On this lab's benchmark machine (AMD EPYC, Debian 12's glibc 2.36) glibc's `memcpy` copies
//! 16 KiB with the `rep movsb` instruction, and how fast that runs depends on how far apart the
//! source and the destination are *within a 4 KiB page* (a C loop copying 16 KiB, by where the
//! destination lies relative to the source, modulo 4 KiB):
//!
//! | destination - source | speed |
//! |---|---|
//! | the same offset, 5 or 59 bytes behind, 32 or 64 ahead | 48-75 GB/s |
//! | 1 to 15 bytes ahead | 1.9-2.5 GB/s |
//! | 16 ahead | 26-33 GB/s |
//!
//! So alignment alone is not the point: a copy is 20 times slower when its destination is just
//! ahead of its source, modulo the page size. It is a known weakness of `rep movsb` on AMD's Zen
//! processors (reported to CPython as issue 137121 and to Microsoft's STL as issue 5658, with
//! glibc 2.36 among the systems where it shows); glibc picks the instruction for copies of this
//! size on processors that announce a fast one (`erms` and `fsrm` in /proc/cpuinfo).
//!
//! Where glibc's allocator put rustls's buffers was luck, and mostly bad luck: perf on a 1 GiB
//! upload put 25-27% of the server's CPU in `rep movsb` inside rustls's
//! `take_received_plaintext`, where the next copy of the same bytes (out to our buffer) cost
//! 1.5%. mimalloc places blocks of these sizes (16 KiB, 18 KiB, 64 KiB, ...) on page
//! boundaries, so that copy's destination lies 5 bytes *behind* its source and it runs the fast
//! way (perf: 4.6% for both copies together). Five 1 GiB TLS uploads from curl, each to a fresh
//! server, cost the server 1.09-1.46 s of CPU (median 1.21) instead of 1.36-1.88 s (median
//! 1.67) with glibc's allocator; the benchmarks against vsftpd are in
//! docs/results/ftps-2026-12-07.md. Downloads need one more step, in `server::transfer`.
//!
//! On other systems (macOS, Windows, Intel processors, newer glibc) the difference is smaller
//! or none, and mimalloc is still a fast, well-kept allocator. Its cost here is a larger
//! resident set: 14 MB at peak instead of 6.5 over a benchmark's 72 transfers.

use std::process::ExitCode;

use clap::Parser;

/// Every allocation of this program goes through mimalloc (module docs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = ftp_lab::cli::Cli::parse();
    netlab_common::term::finish(ftp_lab::cli::run(cli))
}
