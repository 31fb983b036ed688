//! The FTP server survives the operating system refusing it threads: connections that cannot
//! have one are turned away with `421` and logged, and the sessions already open go on.

use netlab_testkit::limits::{admits_newcomer, exhaust_threads};
use netlab_testkit::workspace_binary;

/// Run as `nobody`, with three sessions open and then only two more threads allowed, a burst of
/// 100 connections finds no thread for most of them: they read `421 Server busy (cannot start a
/// thread: ...)`, the three sessions still answer `NOOP`, and a newcomer gets `220` once one of
/// them quits.
#[test]
fn ftp_server_keeps_serving_when_no_thread_can_be_created() {
    let root = std::env::temp_dir().join(format!("netlab-ftp-exhaustion-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    let bin = workspace_binary("ftp-lab", "ftp-lab");
    let root_arg = root.to_str().unwrap();
    let args = [
        "serve",
        "--port",
        "0",
        "--root",
        root_arg,
        "--max-per-ip",
        "200",
    ];
    let test = "ftp_server_keeps_serving_when_no_thread_can_be_created";
    let busy = "421 Server busy (cannot start a thread: ";
    let exhausted = exhaust_threads(test, &bin, &args, 3, "220", busy);
    let Some(mut ftp) = exhausted else {
        let _ = std::fs::remove_dir_all(&root);
        return;
    };
    assert!(ftp.turned_away.starts_with(busy), "{:?}", ftp.turned_away);
    for client in &mut ftp.clients {
        client.send("NOOP\r");
        assert!(client.line().starts_with("200"), "NOOP not answered");
    }
    ftp.clients[2].send("QUIT\r");
    assert!(ftp.clients[2].line().starts_with("221"));
    drop(ftp.clients.pop());
    let server = &mut ftp.confined.server;
    assert!(admits_newcomer(server.addr, "220"));
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server exited"
    );
    drop(ftp);
    let _ = std::fs::remove_dir_all(&root);
}
