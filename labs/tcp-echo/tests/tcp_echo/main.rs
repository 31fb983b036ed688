//! The integration tests of `tcp-echo`, in one test binary (one link, one run; as ripgrep
//! does). Every test starts the real `tcp-echo` program and talks to it over real sockets on
//! 127.0.0.1, port 0, synchronizing on what it prints and sends, never on sleeps. Shared helpers
//! are in `util`; the broken servers `grade` is tried on are in `tests/fixtures/broken/`.

mod bench_framing;
mod docs;
mod echo;
mod exhaustion;
mod grade;
mod grade_class;
mod hostile;
mod trace_json;
mod util;
