//! # `--tls`: explicit FTPS (RFC 4217), checked from the client's side
//!
//! Plain FTP sends the password of `PASS` and every byte of every file in the clear. Explicit
//! FTPS keeps FTP's port and dialogue and adds TLS on request:
//!
//! ```text
//!   AUTH TLS  ->  234, then a TLS handshake on the control connection      (RFC 4217 §4)
//!   USER/PASS ->  as before, but encrypted
//!   PBSZ 0    ->  200   (a relic of pre-TLS mechanisms: 0 for TLS)         (§9)
//!   PROT P    ->  200   every later data connection runs its own TLS handshake (§9)
//!   PROT C    ->  200   data connections in the clear again                   (§9)
//! ```
//!
//! On a data connection the FTP server is always the TLS server, whoever opened the TCP
//! connection (RFC 4217 §7), and the grader starts the handshake once the server has answered
//! `150` to the command, as curl and Python's ftplib do. A protected data connection ends with
//! TLS's `close_notify` before the TCP close: in stream mode the close *is* the end of the file
//! (RFC 959, section 3.4.1), and a TCP FIN can be forged by anyone on the path, a
//! `close_notify` cannot (RFC 8446 §6.1). So a download that ends without one fails here, and
//! an upload that ends without one must not be kept as a whole file (the optional last check).
//!
//! Every check opens its own connections, as the others do; the handshake and every read
//! through TLS have the same patience as the clear checks, so a server that answers `234` and
//! then says nothing, or plain text, fails with a reason instead of hanging the grader.

use netlab_common::grade::{Check, CheckResult, Failure};

use super::Target;
use super::dialogue::with;
use super::files::same_bytes;
use super::session::{Control, check_code, open_data, quoted, shown};

/// Bytes of the file uploaded over TLS: several TLS records (at most 16 KiB each, RFC 8446
/// §5.1), so a server that handles only the first record fails.
const PROTECTED_FILE: usize = 100_000;

/// Bytes sent before an upload is cut short without `close_notify`.
const CUT_AFTER: usize = 64 * 1024;

/// The FTPS checks; the upload ones only with a write account.
pub fn checks(t: &Target) -> Vec<Check> {
    let mut list = vec![
        Check::required(
            "AUTH TLS",
            2,
            "RFC 4217 §4: 234, then a TLS handshake",
            with(t, auth_tls),
        ),
        Check::required(
            "login over TLS",
            1,
            "a password nobody on the path can read",
            with(t, login_over_tls),
        ),
        Check::required(
            "PBSZ 0, PROT P",
            1,
            "RFC 4217 §9: asking for protected data connections",
            with(t, protect_data),
        ),
        Check::required(
            "PROT before PBSZ",
            1,
            "RFC 4217 §9: PBSZ comes first (503)",
            with(t, prot_before_pbsz),
        ),
        Check::required(
            "LIST over TLS",
            2,
            "RFC 4217 §7: a TLS handshake per data connection",
            with(t, list_over_tls),
        ),
        Check::required(
            "PROT C after PROT P",
            1,
            "RFC 4217 §9: data in the clear again",
            with(t, clear_again),
        ),
    ];
    if t.user.is_none() {
        return list;
    }
    list.extend([
        Check::required(
            "RETR over TLS",
            2,
            "a file through TLS, ended by close_notify",
            with(t, retrieve_over_tls),
        ),
        Check::required(
            "STOR over TLS",
            2,
            "an upload through TLS, stored byte for byte",
            with(t, store_over_tls),
        ),
        Check::optional(
            "TLS upload cut short",
            1,
            "no close_notify, no whole file (truncation)",
            with(t, upload_cut_short),
        ),
    ]);
    list
}

/// `AUTH TLS`: `234`, a TLS handshake, and a reply (to `NOOP`, whatever its code) read
/// through it: the control connection is protected.
fn auth_tls(t: Target) -> CheckResult {
    let mut c = Control::connect(&t)?.start_tls()?;
    c.command("NOOP").map_err(|f| {
        Failure::new(
            format!("{} through TLS after the handshake", f.expected),
            f.got,
        )
    })?;
    c.quit();
    Ok(())
}

/// `USER`, `PASS` and `PWD` over the protected control connection.
fn login_over_tls(t: Target) -> CheckResult {
    let mut c = Control::login_over_tls(&t)?;
    c.pwd()?;
    c.quit();
    Ok(())
}

/// Logs in over TLS and sends `PBSZ 0`, `PROT P`: both `200`; data connections run TLS from
/// here on.
fn protected_session(t: &Target) -> Result<Control, Failure> {
    let mut c = Control::login_over_tls(t)?;
    c.expect_reply("PBSZ 0", &[200])?;
    c.expect_reply("PROT P", &[200])?;
    c.protect_data(true);
    Ok(c)
}

/// `PBSZ 0` then `PROT P`, each `200`.
fn protect_data(t: Target) -> CheckResult {
    protected_session(&t)?.quit();
    Ok(())
}

/// `PROT P` before any `PBSZ` is a bad sequence: `503`, and `PBSZ 0`, `PROT P` then work.
fn prot_before_pbsz(t: Target) -> CheckResult {
    let mut c = Control::login_over_tls(&t)?;
    let reply = c.command("PROT P")?;
    if reply.code != 503 {
        return Err(Failure::new(
            "503 after \"PROT P\" sent before any PBSZ (RFC 4217 §9: PBSZ 0 comes first)",
            shown(&reply),
        ));
    }
    c.expect_reply("PBSZ 0", &[200])?;
    c.expect_reply("PROT P", &[200])?;
    c.quit();
    Ok(())
}

/// `LIST` of `/` over a protected data connection: the same bytes as the listing a clear
/// session gets.
fn list_over_tls(t: Target) -> CheckResult {
    let mut clear = Control::login(&t)?;
    let reference = clear.retrieve("LIST")?;
    clear.quit();
    let mut c = protected_session(&t)?;
    let listing = c.retrieve("LIST")?;
    c.quit();
    same_bytes(
        "LIST over TLS (compared with LIST in a clear session)",
        &reference,
        &listing,
    )
}

/// `PROT P`, then `PROT C` (`200`): the next `LIST` runs on a clear data connection.
fn clear_again(t: Target) -> CheckResult {
    let mut c = protected_session(&t)?;
    c.expect_reply("PROT C", &[200])?;
    c.protect_data(false);
    c.retrieve("LIST").map_err(|f| {
        Failure::new(
            format!(
                "{} on a clear data connection after \"PROT C\" (RFC 4217 §9)",
                f.expected
            ),
            f.got,
        )
    })?;
    c.quit();
    Ok(())
}

/// Bytes that show a translation or a lost record at once: every byte value, cycled.
fn protected_file() -> Vec<u8> {
    (0..PROTECTED_FILE).map(|i| (i % 256) as u8).collect()
}

/// A file uploaded in the clear comes back byte for byte over a protected data connection.
fn retrieve_over_tls(t: Target) -> CheckResult {
    let bytes = protected_file();
    let name = t.scratch_name("tls-retr");
    let mut clear = Control::login(&t)?;
    clear.upload(&format!("STOR {name}"), &bytes)?;
    let back = protected_session(&t).and_then(|mut c| {
        let back = c.retrieve(&format!("RETR {name}"));
        c.quit();
        back
    });
    let _ = clear.command(&format!("DELE {name}"));
    clear.quit();
    same_bytes(&format!("RETR {name} over TLS"), &bytes, &back?)
}

/// A file uploaded over a protected data connection is stored byte for byte: a clear session
/// reads it back.
fn store_over_tls(t: Target) -> CheckResult {
    let bytes = protected_file();
    let name = t.scratch_name("tls-stor");
    let mut c = protected_session(&t)?;
    c.upload(&format!("STOR {name}"), &bytes)?;
    c.quit();
    let mut clear = Control::login(&t)?;
    let back = clear.retrieve(&format!("RETR {name}"));
    let _ = clear.command(&format!("DELE {name}"));
    clear.quit();
    same_bytes(&format!("RETR {name} (uploaded over TLS)"), &bytes, &back?)
}

/// An upload over TLS whose TCP connection ends with a FIN but no `close_notify`, as when
/// someone on the path cuts it short: the server must not answer `226`, and must not keep
/// the file under its name.
fn upload_cut_short(t: Target) -> CheckResult {
    let name = t.scratch_name("tls-cut");
    let line = format!("STOR {name}");
    let mut c = protected_session(&t)?;
    let at = c.passive()?;
    let data = open_data(at)?;
    c.expect_reply(&line, &[125, 150])?;
    let mut data = c.open_channel(data, &line)?;
    let sent = std::io::Write::write_all(&mut data, &vec![b'x'; CUT_AFTER])
        .and_then(|()| std::io::Write::flush(&mut data));
    // The cut: a TCP FIN, no close_notify.
    let _ = data.tcp().shutdown(std::net::Shutdown::Write);
    let _ = super::session::read_all(data, &line);
    sent.map_err(|err| {
        Failure::new(
            format!(
                "the server to take {CUT_AFTER} bytes after {}",
                quoted(&line)
            ),
            netlab_common::grade::conn::io_said(&err),
        )
    })?;
    let done = c.reply_to(&line).map_err(|f| {
        Failure::new(
            format!(
                "a 4xx such as 426 after {} once its data connection closed without TLS \
                 close_notify",
                quoted(&line)
            ),
            format!(
                "{}: the server neither refused the cut-off upload nor ended it",
                f.got
            ),
        )
    })?;
    let size = c.command(&format!("SIZE {name}"));
    let _ = c.command(&format!("DELE {name}"));
    c.quit();
    if done.code < 400 {
        return Err(Failure::new(
            format!(
                "a 4xx such as 426 after {}: the data connection closed without TLS \
                 close_notify, so the upload may be cut short (RFC 8446 §6.1)",
                quoted(&line)
            ),
            format!("{}: a cut-off upload accepted as whole", shown(&done)),
        ));
    }
    check_code(&format!("SIZE {name}"), &size?, &[550]).map_err(|f| {
        Failure::new(
            format!(
                "{} (the upload was cut short: no file under its name)",
                f.expected
            ),
            f.got,
        )
    })
}
