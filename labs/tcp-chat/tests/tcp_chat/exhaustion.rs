//! The room survives the operating system refusing it threads: the connections that cannot have
//! one are turned away with a line and logged, and everyone already in the room goes on talking;
//! the same when it runs out of file descriptors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpStream;

use netlab_testkit::limits::{LineClient, admits_newcomer, exhaust_threads, start_as_nobody};
use netlab_testkit::workspace_binary;

/// Run as `nobody`, with three members in and then only two more threads allowed, a burst of 100
/// connections finds no thread for most of them. The room must turn those away with a line
/// (logged as "cannot start a thread"), keep relaying between its members, and admit a newcomer
/// once a member leaves. Before the shared accept loop, `thread::spawn` panicked and the room
/// exited with status 101.
#[test]
fn room_keeps_serving_when_no_thread_can_be_created() {
    let bin = workspace_binary("tcp-chat", "tcp-chat");
    let args = ["room", "serve", "--port", "0", "--max-clients", "3"];
    let test = "room_keeps_serving_when_no_thread_can_be_created";
    let Some(mut room) = exhaust_threads(
        test,
        &bin,
        &args,
        3,
        "WELCOME ",
        "ERROR the server has no thread",
    ) else {
        return;
    };
    assert_eq!(
        room.turned_away,
        "ERROR the server has no thread left for you; try again later\n"
    );
    let members = &mut room.clients;
    members[0].send("still here?");
    assert!(members[1].line_starting("MSG ").ends_with(" still here?"));
    assert!(members[2].line_starting("MSG ").ends_with(" still here?"));

    members[2].send("exit");
    members[2].line_starting("BYE ");
    drop(members.pop());
    let server = &mut room.confined.server;
    server.wait_for(|line| line.ends_with(" left: exit"));
    assert!(admits_newcomer(server.addr, "WELCOME "));
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the room exited"
    );
}

/// Run as `nobody` with only eight file descriptors to spare, a burst of 20 connections runs the
/// room out: `accept` fails with "too many open files", the room logs it and pauses instead of
/// spinning, the members keep talking, and once the burst is gone a newcomer is admitted. (This
/// test found connections admitted to the room and then lost to "too many open files" before
/// their reader started: they stayed in the room as ghosts holding places, and the room stayed
/// full for ever.)
#[test]
fn room_keeps_serving_when_out_of_file_descriptors() {
    let bin = workspace_binary("tcp-chat", "tcp-chat");
    let args = ["room", "serve", "--port", "0", "--max-clients", "3"];
    let test = "room_keeps_serving_when_out_of_file_descriptors";
    let Some(mut room) = start_as_nobody(test, &bin, &args) else {
        return;
    };
    let addr = room.server.addr;
    let mut members = vec![LineClient::connect(addr), LineClient::connect(addr)];
    for member in &mut members {
        member.line_starting("WELCOME ");
    }
    room.limit_files(8);
    let burst: Vec<TcpStream> = (0..20)
        .filter_map(|_| TcpStream::connect(addr).ok())
        .collect();
    room.server.wait_for(|line| {
        line.contains("accept failed: Too many open files") && line.contains("pausing")
    });
    members[0].send("still here?");
    assert!(members[1].line_starting("MSG ").ends_with(" still here?"));
    drop(burst);
    assert!(admits_newcomer(addr, "WELCOME "));
    assert!(
        room.server.child.try_wait().unwrap().is_none(),
        "the room exited"
    );
}
