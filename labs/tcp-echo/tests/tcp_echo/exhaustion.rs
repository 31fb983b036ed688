//! The threads engine survives the operating system refusing it threads: connections that cannot
//! have one are turned away (with an error frame where the framing has room for one) and logged,
//! and the clients already connected keep getting their echoes; the mio engine survives running
//! out of file descriptors the same way.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use netlab_testkit::limits::{
    admits_newcomer, exhaust_threads, survives_a_burst_without_descriptors,
};
use netlab_testkit::workspace_binary;

/// `tcp-echo serve` on any free port with `engine`, line framing and three places.
fn serve_args(engine: &str) -> [&str; 9] {
    [
        "serve",
        "--port",
        "0",
        "--engine",
        engine,
        "--framing",
        "line",
        "--max-clients",
        "3",
    ]
}

/// Run as `nobody` in line framing, with three clients in and then only two more threads
/// allowed, a burst of 100 connections finds no thread for most of them: they read
/// `ERROR server busy (cannot start a thread: ...)`, the three still get their echoes, and a
/// newcomer is admitted once one of them leaves.
#[test]
fn threads_engine_keeps_serving_when_no_thread_can_be_created() {
    let bin = workspace_binary("tcp-echo", "tcp-echo");
    let args = serve_args("threads");
    let test = "threads_engine_keeps_serving_when_no_thread_can_be_created";
    let busy = "ERROR server busy (cannot start a thread: ";
    let Some(mut echo) = exhaust_threads(test, &bin, &args, 3, "WELCOME ", busy) else {
        return;
    };
    assert!(echo.turned_away.starts_with(busy), "{:?}", echo.turned_away);
    assert!(echo.turned_away.ends_with("); try again later\n"));
    for (n, client) in echo.clients.iter_mut().enumerate() {
        client.send(&format!("still here {n}"));
        assert_eq!(client.line(), format!("ACK still here {n}"));
    }
    drop(echo.clients.pop());
    let server = &mut echo.confined.server;
    server.wait_for(|line| line.contains(" disconnected ("));
    assert!(admits_newcomer(server.addr, "WELCOME "));
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server exited"
    );
}

/// The mio engine, run as `nobody` with only four file descriptors to spare, meets a burst of
/// 20 connections: `accept` fails with "too many open files", the loop logs it and pauses
/// instead of spinning (or forgetting the queued connections: edge-triggered readiness is not
/// reported again for them), the connected clients keep getting their echoes, and once the
/// burst is gone a newcomer is admitted.
#[test]
fn mio_engine_keeps_serving_when_out_of_file_descriptors() {
    survives_a_burst_without_descriptors(
        "mio_engine_keeps_serving_when_out_of_file_descriptors",
        &workspace_binary("tcp-echo", "tcp-echo"),
        &serve_args("mio"),
        "WELCOME ",
        |n, client| {
            client.send(&format!("still here {n}"));
            assert_eq!(client.line(), format!("ACK still here {n}"));
        },
        |_| {},
    );
}
