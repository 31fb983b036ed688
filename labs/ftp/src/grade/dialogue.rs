//! # The control dialogue: greeting, login, sequence, and how commands arrive
//!
//! RFC 959 §6: the control connection is a state machine of text lines: a `220` greeting, `USER` and
//! `PASS` before anything that touches files (`530` otherwise), `503` for a command out of
//! sequence, `500`/`502` for one the server does not know, and none of these ends the session.
//! The lines come over TCP, so a command may arrive a byte at a time or several in one read,
//! and a hostile line may be 100 KB long.

use netlab_common::grade::conn::{is_silence, send_slowly};
use netlab_common::grade::{Check, CheckResult, Failure};

use super::Target;
use super::session::{Control, check_code, quoted, shown};

/// The dialogue checks.
pub fn checks(t: &Target) -> Vec<Check> {
    vec![
        Check::required(
            "greeting",
            1,
            "the server speaks first: 220, CRLF",
            with(t, |t| Control::connect(&t).map(Control::quit)),
        ),
        Check::required(
            "login",
            2,
            "USER, 331, PASS, 230",
            with(t, |t| Control::login(&t).map(Control::quit)),
        ),
        Check::required(
            "530 before login",
            2,
            "a state machine: nothing before login",
            with(t, before_login),
        ),
        Check::required(
            "unknown command",
            1,
            "500/502 and the session goes on",
            with(t, unknown_command),
        ),
        Check::required(
            "bad sequence",
            1,
            "503: PASS before USER",
            with(t, bad_sequence),
        ),
        Check::required(
            "PWD, CWD, CDUP",
            2,
            "a current directory per session",
            with(t, directories),
        ),
        Check::required(
            "one-byte writes",
            2,
            "a command can arrive a byte at a time",
            with(t, one_byte_writes),
        ),
        Check::required(
            "commands in one write",
            2,
            "one read can hold several commands",
            with(t, pipelined),
        ),
        Check::required(
            "100 KB command line",
            2,
            "limits: refuse, keep serving",
            with(t, long_line),
        ),
        Check::required(
            "garbage input",
            1,
            "bytes that are not a command",
            with(t, garbage),
        ),
    ]
}

/// A check's closure with its own copy of the target.
pub fn with(
    t: &Target,
    check: impl FnOnce(Target) -> CheckResult + Send + 'static,
) -> impl FnOnce() -> CheckResult + Send + 'static {
    let t = t.clone();
    move || check(t)
}

/// File commands before `USER`/`PASS` are refused with `530`, and login still works after.
fn before_login(t: Target) -> CheckResult {
    let mut c = Control::connect(&t)?;
    for line in ["PWD", "CWD /", "PASV", "LIST", "RETR x", "STOR x"] {
        c.expect_reply(line, &[530])?;
    }
    c.log_in()?;
    c.pwd()?;
    c.quit();
    Ok(())
}

/// An unknown verb: `500` (unrecognized) or `502` (not implemented), and the next command works.
fn unknown_command(t: Target) -> CheckResult {
    let mut c = Control::login(&t)?;
    c.expect_reply("XYZZY plugh", &[500, 502])?;
    c.expect_reply("NOOP", &[200])?;
    c.quit();
    Ok(())
}

/// `PASS` before `USER` is a bad sequence (`503`); the session goes on and can log in.
fn bad_sequence(t: Target) -> CheckResult {
    let mut c = Control::connect(&t)?;
    c.expect_reply("PASS too-early", &[503])?;
    c.log_in()?;
    c.expect_reply("NOOP", &[200])?;
    c.quit();
    Ok(())
}

/// `PWD` is `/` after login; a directory that does not exist is refused with `550` and changes
/// nothing. With a write account the grader also makes a directory of its own (`MKD`), enters
/// it (`CWD`), comes back (`CDUP`) and removes it (`RMD`).
fn directories(t: Target) -> CheckResult {
    let mut c = Control::login(&t)?;
    expect_pwd(&mut c, "/", "after login")?;
    let missing = t.scratch_name("missing-dir");
    c.expect_reply(&format!("CWD {missing}"), &[550])?;
    expect_pwd(&mut c, "/", &format!("after \"CWD {missing}\" was refused"))?;
    if t.user.is_some() {
        let dir = t.scratch_name("dir");
        c.expect_reply(&format!("MKD {dir}"), &[257])?;
        let entered = c.expect_reply(&format!("CWD {dir}"), &[250, 200]);
        let inside = entered.and_then(|_| expect_pwd(&mut c, &format!("/{dir}"), "after CWD"));
        let back = inside
            .and_then(|()| c.expect_reply("CDUP", &[200, 250]).map(|_| ()))
            .and_then(|()| expect_pwd(&mut c, "/", "after CDUP"));
        let _ = c.command(&format!("RMD /{dir}"));
        back?;
    } else {
        // Read-only: no directory of our own to enter; `CDUP` at `/` is the security checks'.
        c.expect_reply("CWD /", &[250, 200])?;
        expect_pwd(&mut c, "/", "after \"CWD /\"")?;
    }
    c.quit();
    Ok(())
}

/// `PWD` must say `want`.
pub fn expect_pwd(c: &mut Control, want: &str, when: &str) -> CheckResult {
    let got = c.pwd()?;
    if got == want {
        return Ok(());
    }
    Err(Failure::new(
        format!("257 \"{want}\" {when}"),
        format!("257 \"{got}\""),
    ))
}

/// `USER`, `PASS` and `PWD`, each sent one byte per write.
fn one_byte_writes(t: Target) -> CheckResult {
    let mut c = Control::connect(&t)?;
    let (user, password) = t.account();
    let user_line = format!("USER {user}");
    slowly(&mut c, &user_line)?;
    let reply = c.reply_to(&user_line)?;
    if reply.code != 230 {
        check_code(&user_line, &reply, &[331])?;
        let pass_line = format!("PASS {password}");
        slowly(&mut c, &pass_line)?;
        let reply = c.reply_to("PASS")?;
        check_code("PASS", &reply, &[230])?;
    }
    slowly(&mut c, "PWD")?;
    let reply = c.reply_to("PWD")?;
    check_code("PWD", &reply, &[257])?;
    c.quit();
    Ok(())
}

/// Sends `line` and CRLF one byte per write, 10 ms apart.
fn slowly(c: &mut Control, line: &str) -> CheckResult {
    for byte in format!("{line}\r\n").bytes() {
        send_slowly(c.stream(), &[byte])?;
    }
    Ok(())
}

/// Three commands in one write get three replies, in order.
fn pipelined(t: Target) -> CheckResult {
    let mut c = Control::login(&t)?;
    let commands = [("NOOP", 200), ("PWD", 257), ("SYST", 215)];
    let batch: String = commands
        .iter()
        .map(|(line, _)| format!("{line}\r\n"))
        .collect();
    netlab_common::grade::conn::send(c.stream(), batch.as_bytes())?;
    for (line, code) in commands {
        let in_one_write = |f: Failure| {
            Failure::new(
                format!("{} (NOOP, PWD, SYST sent in one write)", f.expected),
                f.got,
            )
        };
        let reply = c.reply_to(line).map_err(in_one_write)?;
        check_code(line, &reply, &[code]).map_err(in_one_write)?;
    }
    c.quit();
    Ok(())
}

/// A 100 KB `USER` line is refused with a `5xx` (or `421`), and the server goes on: either the
/// next `NOOP` on the same connection is answered (replies about the long line, however many,
/// are skipped), or the server closes this connection (vsftpd does) and a new client is served.
fn long_line(t: Target) -> CheckResult {
    let mut c = Control::connect(&t)?;
    let long = format!("USER {}", "a".repeat(100_000));
    c.send(&long)?;
    c.send("NOOP")?;
    let first = c.reply_to(&long)?;
    if first.code < 400 {
        return Err(Failure::new(
            "500 (command line too long) for a 100000-byte line",
            shown(&first),
        ));
    }
    loop {
        let reply = match c.reply() {
            Ok(reply) => reply,
            Err(f) if is_silence(&f) => {
                return Err(Failure::new(
                    "200 for the NOOP sent after the long line, or a close",
                    f.got,
                ));
            }
            // Closed (or reset) after the refusal: fine, if others are still served.
            Err(_) => return still_serving(&t),
        };
        match reply.code {
            200 => break,
            400..=599 => {}
            _ => {
                return Err(Failure::new(
                    "refusals of the long line, then 200 for the NOOP after it",
                    shown(&reply),
                ));
            }
        }
    }
    c.quit();
    Ok(())
}

/// A line of control bytes and invalid UTF-8 gets a `5xx`, and the session goes on.
fn garbage(t: Target) -> CheckResult {
    let mut c = Control::login(&t)?;
    let junk = b"\x00\x01\x02\x7f \xc3\x28\xfe garbage\r\n";
    netlab_common::grade::conn::send(c.stream(), junk)?;
    let reply = c.reply_to("a line of garbage bytes")?;
    if !(500..600).contains(&reply.code) {
        return Err(Failure::new(
            format!(
                "a 5xx refusal of {}",
                quoted("\u{0}\u{1}\u{2}\u{7f} garbage")
            ),
            shown(&reply),
        ));
    }
    c.expect_reply("NOOP", &[200])?;
    c.quit();
    Ok(())
}

/// A new client can log in and run `PWD`: the server survived what came before.
pub fn still_serving(t: &Target) -> CheckResult {
    let outcome = Control::login(t).and_then(|mut c| {
        c.pwd()?;
        c.quit();
        Ok(())
    });
    outcome.map_err(|f| {
        Failure::new(
            "a new client to log in and be served afterwards",
            format!("{} ({})", f.got, f.expected),
        )
    })
}
