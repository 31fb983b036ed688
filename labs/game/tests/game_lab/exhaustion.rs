//! The game server survives the operating system refusing it threads: connections that cannot
//! have one are turned away with an `ERR` line and logged, and the players already connected
//! keep getting answers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use netlab_testkit::limits::{admits_newcomer, exhaust_threads};
use netlab_testkit::workspace_binary;

/// Run as `nobody`, with three players in (a reader and a writer thread each) and then only two
/// more threads allowed, a burst of 100 connections finds no thread for most of them: they read
/// `ERR server busy (cannot start a thread: ...)`, the three players still get answers, and a
/// newcomer is admitted once one of them quits.
#[test]
fn game_server_keeps_serving_when_no_thread_can_be_created() {
    let bin = workspace_binary("netlab-game", "game-lab");
    let args = ["serve", "--port", "0", "--max-players", "3"];
    let test = "game_server_keeps_serving_when_no_thread_can_be_created";
    let busy = "ERR server busy (cannot start a thread: ";
    let Some(mut game) = exhaust_threads(test, &bin, &args, 3, "WELCOME ", busy) else {
        return;
    };
    assert!(game.turned_away.starts_with(busy), "{:?}", game.turned_away);
    for client in &mut game.clients {
        client.send("help");
        assert!(!client.line().is_empty(), "a player got no answer");
    }
    game.clients[2].send("quit");
    drop(game.clients.pop());
    let server = &mut game.confined.server;
    server.wait_for(|line| line.contains(" disconnected"));
    assert!(admits_newcomer(server.addr, "WELCOME "));
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server exited"
    );
}
