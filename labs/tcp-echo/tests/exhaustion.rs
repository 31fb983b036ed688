//! The threads engine survives the operating system refusing it threads: connections that cannot
//! have one are turned away (with an error frame where the framing has room for one) and logged,
//! and the clients already connected keep getting their echoes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use netlab_testkit::limits::{admits_newcomer, exhaust_threads};
use netlab_testkit::workspace_binary;

/// Run as `nobody` in line framing, with three clients in and then only two more threads
/// allowed, a burst of 100 connections finds no thread for most of them: they read
/// `ERROR server busy (cannot start a thread: ...)`, the three still get their echoes, and a
/// newcomer is admitted once one of them leaves.
#[test]
fn threads_engine_keeps_serving_when_no_thread_can_be_created() {
    let bin = workspace_binary("tcp-echo", "tcp-echo");
    let args = [
        "serve",
        "--port",
        "0",
        "--engine",
        "threads",
        "--framing",
        "line",
        "--max-clients",
        "3",
    ];
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
