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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::thread;
    use std::time::Duration;

    use super::*;
    use crate::grade::secure::TlsClient;
    use crate::tls::{Channel, Identity, TlsFiles, Trust};

    /// One line read a byte at a time (empty at the end of the connection).
    fn read_line(from: &mut impl Read) -> String {
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while let Ok(1) = from.read(&mut byte) {
            if byte[0] == b'\n' {
                break;
            }
            line.push(byte[0]);
        }
        String::from_utf8_lossy(&line).trim_end().to_string()
    }

    /// A server that protects its control connection but answers `200` to `PROT P` and then
    /// sends the listing in the clear: the grader's ClientHello gets plain text back.
    fn serve_ignoring_prot_p(listener: TcpListener) {
        let (mut tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        tcp.write_all(b"220 fake\r\n").unwrap();
        read_line(&mut tcp); // AUTH TLS
        tcp.write_all(b"234 go ahead\r\n").unwrap();
        let identity = Identity::new(&TlsFiles::default(), [127, 0, 0, 1].into()).unwrap();
        let tls = rustls::ServerConnection::new(identity.config).unwrap();
        let mut control = Channel::handshake(tls, tcp, None).unwrap();
        let data = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = data.local_addr().unwrap().port();
        loop {
            let line = read_line(&mut control);
            let reply = match line.split(' ').next().unwrap_or_default() {
                "USER" => "230 in".to_string(),
                "TYPE" | "PBSZ" | "PROT" => "200 ok".to_string(),
                "PASV" => format!(
                    "227 Entering Passive Mode (127,0,0,1,{},{})",
                    port / 256,
                    port % 256
                ),
                "LIST" => {
                    control.write_all(b"150 here it comes\r\n").unwrap();
                    control.flush().unwrap();
                    let (mut peer, _) = data.accept().unwrap();
                    let _ = peer.read(&mut [0u8; 512]); // the ClientHello, ignored
                    peer.write_all(b"-rw-r--r-- 1 ftp ftp 5 a.txt\r\n").unwrap();
                    let _ = peer.read_to_end(&mut Vec::new());
                    "226 done".to_string()
                }
                _ => return,
            };
            control
                .write_all(format!("{reply}\r\n").as_bytes())
                .unwrap();
            control.flush().unwrap();
        }
    }

    /// A data connection that stays clear after `PROT P` fails the grader's handshake on it,
    /// said as plain text where TLS was due (RFC 4217 §7), not as a hang.
    #[test]
    fn a_clear_data_connection_after_prot_p_is_not_tls() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || serve_ignoring_prot_p(listener));
        let target = Target {
            addr,
            user: None,
            scratch: "test".into(),
            tls: Some(TlsClient::new(&Trust::Anything, "127.0.0.1").unwrap()),
        };
        let mut c = protected_session(&target).unwrap();
        let failure = c.retrieve("LIST").err().unwrap();
        assert_eq!(
            failure.expected,
            "a TLS handshake on the data connection of \"LIST\" after PROT P (RFC 4217 §7)"
        );
        assert!(
            failure.got.starts_with("bytes that are not TLS"),
            "{failure:?}"
        );
    }
}
