//! # Clients that misbehave, and many at once
//!
//! One client's trouble must stay that client's trouble: while one never reads its replies,
//! never opens the data connection it asked for, or vanishes in the middle of an upload, every
//! other client is still served. These checks come last, the one that may kill a server at the
//! very end, so a server that dies fails that check only.

use netlab_common::grade::conn::{leave_politely, reset, send};
use netlab_common::grade::flood::{connect_unread, flood};
use netlab_common::grade::{Check, CheckResult, Failure, all_at_once};

use super::Target;
use super::dialogue::{still_serving, with};
use super::session::{Control, check_code, open_data, read_all};

/// Clients logged in at once in the concurrency check. Small on purpose: servers limit
/// connections per address (ours to 8, `--max-per-ip`), and the grader is one address.
pub const CLIENTS_AT_ONCE: usize = 6;

/// The robustness checks.
pub fn checks(t: &Target) -> Vec<Check> {
    let mut list = vec![
        Check::required(
            "6 clients at once",
            2,
            "serving clients concurrently",
            with(t, many_clients),
        ),
        Check::required(
            "client never reads",
            2,
            "one slow client must not stall the rest",
            with(t, never_reads),
        )
        .flooding(),
        Check::required(
            "data connection never comes",
            2,
            "waiting for a peer must not block others",
            with(t, data_never_comes),
        ),
    ];
    if t.user.is_some() {
        list.push(Check::optional(
            "client vanishes mid-STOR",
            1,
            "no half a file under the real name",
            with(t, vanish_mid_upload),
        ));
    }
    // Last: a server that dies here fails only this check.
    list.push(Check::required(
        "client vanishes",
        2,
        "a peer can disappear mid-command",
        with(t, vanish_mid_command),
    ));
    list
}

/// All clients log in one after another and stay connected; then each runs `PWD` at the same
/// time. A server that serves one client at a time never greets the second.
fn many_clients(t: Target) -> CheckResult {
    let mut clients = Vec::with_capacity(CLIENTS_AT_ONCE);
    for index in 0..CLIENTS_AT_ONCE {
        let client = Control::login(&t).map_err(|f| {
            Failure::new(
                f.expected,
                format!(
                    "client {} of {CLIENTS_AT_ONCE} (the others still connected): {}",
                    index + 1,
                    f.got
                ),
            )
        })?;
        clients.push(client);
    }
    // Every client stays connected until all have had their answer, then says goodbye.
    for c in all_at_once("client", clients, |_, c| c.pwd().map(drop))? {
        c.quit();
    }
    Ok(())
}

/// One client sends `HELP` after `HELP` and never reads a reply, until its own writes block:
/// the server has stopped reading it, so its buffers toward that client are full, whatever
/// their size ([`netlab_common::grade::flood`]). Meanwhile another client must still be served.
fn never_reads(t: Target) -> CheckResult {
    let mut hog = connect_unread(t.addr)?;
    let flooded = flood(&mut hog, &b"HELP\r\n".repeat(1_000));
    let result = still_serving(&t).map_err(|f| flooded.explain(f));
    leave_politely(hog);
    result
}

/// `PASV`, then `LIST`, and the grader never connects: while the server waits for that data
/// connection, another client must be served. (The server should give up after a while with
/// `425`; waiting for that is not worth the grader's time.) Afterwards the grader does connect,
/// so the server is not left waiting.
fn data_never_comes(t: Target) -> CheckResult {
    let mut c = Control::login(&t)?;
    let at = c.passive()?;
    c.send("LIST")?;
    let result = still_serving(&t).map_err(|f| {
        Failure::new(
            format!(
                "{} while another client's LIST waits for its data connection",
                f.expected
            ),
            f.got,
        )
    });
    if let Ok(data) = open_data(at) {
        let _ = read_all(data, "LIST");
    }
    c.quit();
    result
}

/// An upload stops in the middle: the data connection and the control connection are reset,
/// as when a client crashes. The file must not then exist under its name with half its bytes
/// (a server writes to a temporary name and renames when the upload is complete, or removes
/// what it wrote): a later download would get a truncated file and no error.
fn vanish_mid_upload(t: Target) -> CheckResult {
    let name = t.scratch_name("vanished");
    let mut c = Control::login(&t)?;
    let at = c.passive()?;
    let mut data = open_data(at)?;
    let line = format!("STOR {name}");
    c.expect_reply(&line, &[125, 150])?;
    send(&mut data, &vec![b'x'; 256 * 1024])?;
    reset(data);
    reset(c.into_stream());
    let mut c = Control::login(&t).map_err(|f| {
        Failure::new(
            "a new client to be served after one vanished mid-upload",
            f.got,
        )
    })?;
    let size = c.command(&format!("SIZE {name}"))?;
    let _ = c.command(&format!("DELE {name}"));
    c.quit();
    if size.code == 213 {
        return Err(Failure::new(
            format!(
                "no file {name} after its upload was cut off (SIZE answered 550): write to a \
                 temporary name and rename it when the upload completes"
            ),
            format!(
                "a file of {} bytes under that name (a partial upload)",
                size.text().trim()
            ),
        ));
    }
    check_code(&format!("SIZE {name}"), &size, &[550])
}

/// A client sends half a command and resets the connection; the server must go on.
fn vanish_mid_command(t: Target) -> CheckResult {
    let mut c = Control::login(&t)?;
    send(c.stream(), b"RETR half-a-comm")?;
    reset(c.into_stream());
    still_serving(&t)
}
