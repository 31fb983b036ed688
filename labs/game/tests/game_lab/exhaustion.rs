//! The game server survives the operating system refusing it what it needs for one more
//! connection: with `--engine threads`, a thread (connections that cannot have one are turned
//! away with an `ERR` line and logged); with `--engine mio`, a file descriptor (the loop logs it
//! and pauses accepting). Either way the players already connected keep getting answers, and a
//! newcomer is admitted once there is room again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use netlab_testkit::limits::{
    admits_newcomer, exhaust_threads, survives_a_burst_without_descriptors,
};
use netlab_testkit::workspace_binary;

/// `game-lab serve` on any free port with `engine` and three places.
fn serve_args(engine: &str) -> [&str; 7] {
    [
        "serve",
        "--port",
        "0",
        "--engine",
        engine,
        "--max-players",
        "3",
    ]
}

/// Run as `nobody`, with three players in (a reader and a writer thread each) and then only two
/// more threads allowed, a burst of 100 connections finds no thread for most of them: they read
/// `ERR server busy (cannot start a thread: ...)`, the three players still get answers, and a
/// newcomer is admitted once one of them quits.
#[test]
fn game_server_keeps_serving_when_no_thread_can_be_created() {
    let bin = workspace_binary("netlab-game", "game-lab");
    let args = serve_args("threads");
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

/// The mio engine, run as `nobody` with two players in and then only four file descriptors to
/// spare, meets a burst of 20 connections: `accept` fails with "too many open files", the loop
/// logs it and pauses instead of spinning (or forgetting the queued connections: edge-triggered
/// readiness is not reported again for them), the two players keep getting answers, and once
/// the burst is gone a newcomer is admitted.
#[test]
fn mio_engine_keeps_serving_when_out_of_file_descriptors() {
    survives_a_burst_without_descriptors(
        "mio_engine_keeps_serving_when_out_of_file_descriptors",
        &workspace_binary("netlab-game", "game-lab"),
        &serve_args("mio"),
        "WELCOME ",
        |_, player| {
            player.send("games");
            player.line_starting("GAMES tictactoe");
        },
        // Connections of the burst the server did accept may still hold seats until it
        // notices they closed: one player leaves, so a seat is surely free.
        |players| {
            if let Some(mut player) = players.pop() {
                player.send("quit");
            }
        },
    );
}
