//! # Transfers: a data connection per listing or file, in both directions
//!
//! Each listing and each file travels on a connection of its own, opened for it and closed at
//! its end (the close *is* the end of the file in stream mode, RFC 959 section 3.4.1). Who opens
//! it is the mode: the client connects to a port the server announced (`PASV`, `EPSV`: passive),
//! or the server connects to a port the client announced (`PORT`, `EPRT`: active).
//!
//! With a write account (`--user`), files go up and come back: every byte value (a server that
//! translates line endings or stops at a NUL fails), a few MiB (a server that ignores partial
//! writes or uses a fixed buffer fails), `SIZE`, `DELE`, and `REST` (resuming at an offset).

use netlab_common::grade::{Check, CheckResult, Failure};

use super::Target;
use super::dialogue::with;
use super::session::{Control, accept_within, check_code, listen_active, open_data, read_all};
use crate::hostport;

/// Bytes in the large round trip: more than any socket buffer, so partial reads and writes
/// happen on both sides.
const LARGE_FILE: usize = 4 << 20;

/// The transfer checks; the upload ones only with a write account.
pub fn checks(t: &Target) -> Vec<Check> {
    let mut list = vec![
        Check::required(
            "PASV + LIST",
            2,
            "passive mode: the client connects",
            with(t, |t| listing(t, false)),
        ),
        Check::required(
            "EPSV + LIST",
            1,
            "RFC 2428 §3: a port only, any IP version",
            with(t, |t| listing(t, true)),
        ),
        Check::required(
            "PORT + LIST",
            2,
            "active mode: the server connects",
            with(t, active_listing),
        ),
    ];
    if t.user.is_none() {
        return list;
    }
    list.extend([
        Check::required(
            "STOR + RETR all byte values",
            2,
            "binary data is data (TYPE I)",
            with(t, all_byte_values),
        ),
        Check::required(
            "4 MiB round trip",
            2,
            "partial writes; the close ends the file",
            with(t, large_round_trip),
        ),
        Check::required(
            "SIZE",
            1,
            "RFC 3659 §4: size in bytes",
            with(t, size_of_upload),
        ),
        Check::required("DELE", 1, "the file is gone", with(t, delete)),
        Check::optional(
            "REST + RETR",
            1,
            "resuming a transfer at an offset",
            with(t, resume),
        ),
    ]);
    list
}

/// `PASV` (or `EPSV`), then `LIST` of `/`: 150, the listing, 226.
fn listing(t: Target, extended: bool) -> CheckResult {
    let mut c = Control::login(&t)?;
    let at = if extended {
        c.extended_passive()?
    } else {
        c.passive()?
    };
    let data = open_data(at)?;
    c.download_over(data, "LIST")?.map_err(|reply| {
        Failure::new(
            "150, the listing of / on the data connection, then 226",
            super::session::shown(&reply),
        )
    })?;
    c.quit();
    Ok(())
}

/// `PORT` (or `EPRT` over IPv6) to a port the grader listens on, then `LIST`: the server must
/// connect to it and send the listing.
fn active_listing(t: Target) -> CheckResult {
    let mut c = Control::login(&t)?;
    let ip = c.our_ip()?;
    let listener = listen_active(ip)?;
    let addr = listener
        .local_addr()
        .map_err(|err| Failure::new("our listening address", err.to_string()))?;
    let line = match addr {
        std::net::SocketAddr::V4(v4) => format!("PORT {}", hostport::format_port(v4)),
        v6 => format!("EPRT {}", hostport::format_eprt(v6)),
    };
    c.expect_reply(&line, &[200])?;
    let started = c.command("LIST")?;
    check_code("LIST", &started, &[125, 150])?;
    let data = accept_within(&listener, &line)?;
    read_all(data, "LIST")?;
    let done = c.reply_to("LIST")?;
    check_code("LIST", &done, &[226, 250])?;
    c.quit();
    Ok(())
}

/// Every byte value, with CR, LF and CRLF among them, goes up and comes back unchanged.
fn all_byte_values(t: Target) -> CheckResult {
    let mut bytes: Vec<u8> = (0..=255u8).cycle().take(1024).collect();
    bytes.extend_from_slice(b"\r\n\n\r\r\n\0\0\xff");
    round_trip(&t, "bytes", &bytes)
}

/// A few MiB up and back, every byte compared.
fn large_round_trip(t: Target) -> CheckResult {
    let bytes: Vec<u8> = (0..LARGE_FILE).map(|i| (i % 251) as u8).collect();
    round_trip(&t, "large", &bytes)
}

/// `STOR`, `RETR`, compare, `DELE`.
fn round_trip(t: &Target, what: &str, bytes: &[u8]) -> CheckResult {
    let mut c = Control::login(t)?;
    let name = t.scratch_name(what);
    c.upload(&format!("STOR {name}"), bytes)?;
    let back = c.retrieve(&format!("RETR {name}"));
    let _ = c.command(&format!("DELE {name}"));
    same_bytes(&format!("RETR {name}"), bytes, &back?)?;
    c.quit();
    Ok(())
}

/// `got` must be `sent`; the reason names the first difference.
pub fn same_bytes(line: &str, sent: &[u8], got: &[u8]) -> CheckResult {
    if sent == got {
        return Ok(());
    }
    let expected = format!("{} to return the {} bytes uploaded", show(line), sent.len());
    let first_difference = sent.iter().zip(got).position(|(a, b)| a != b);
    let got = match first_difference {
        Some(at) => format!(
            "{} bytes, the first difference at byte {at}: {:#04x} instead of {:#04x} \
             (line endings translated? text mode?)",
            got.len(),
            got.get(at).copied().unwrap_or_default(),
            sent.get(at).copied().unwrap_or_default()
        ),
        None => format!(
            "{} bytes, the same as far as they go (bytes lost or added at the end)",
            got.len()
        ),
    };
    Err(Failure::new(expected, got))
}

fn show(line: &str) -> String {
    super::session::quoted(line)
}

/// `SIZE` of an upload is its length in bytes.
fn size_of_upload(t: Target) -> CheckResult {
    let mut c = Control::login(&t)?;
    let name = t.scratch_name("size");
    let bytes = vec![b'\n'; 1000];
    c.upload(&format!("STOR {name}"), &bytes)?;
    let size = c.size(&name);
    let _ = c.command(&format!("DELE {name}"));
    let size = size?;
    if size != 1000 {
        return Err(Failure::new(
            format!("213 1000 after \"SIZE {name}\" (1000 bytes uploaded)"),
            format!("213 {size}"),
        ));
    }
    c.quit();
    Ok(())
}

/// `DELE` an upload: `250`, then `SIZE` and `RETR` of it are refused with `550`.
fn delete(t: Target) -> CheckResult {
    let mut c = Control::login(&t)?;
    let name = t.scratch_name("dele");
    c.upload(&format!("STOR {name}"), b"delete me\n")?;
    c.expect_reply(&format!("DELE {name}"), &[250])?;
    c.expect_reply(&format!("SIZE {name}"), &[550])?;
    let line = format!("RETR {name}");
    match c.download(&line)? {
        Err(reply) => check_code(&line, &reply, &[550])?,
        Ok(bytes) => {
            return Err(Failure::new(
                format!("550 after {} (the file was deleted)", show(&line)),
                format!("the file, {} bytes", bytes.len()),
            ));
        }
    }
    c.quit();
    Ok(())
}

/// `REST 600` then `RETR` of a 1000-byte file sends its last 400 bytes.
fn resume(t: Target) -> CheckResult {
    let mut c = Control::login(&t)?;
    let name = t.scratch_name("rest");
    let bytes: Vec<u8> = (0..1000u32).map(|i| (i % 253) as u8).collect();
    c.upload(&format!("STOR {name}"), &bytes)?;
    let at = c.passive()?;
    let data = open_data(at)?;
    let line = format!("RETR {name}");
    let tail = c
        .expect_reply("REST 600", &[350])
        .and_then(|_| c.download_over(data, &line));
    let _ = c.command(&format!("DELE {name}"));
    let tail = tail?.map_err(|reply| {
        Failure::new(
            format!(
                "150, bytes 600 to 999, 226 for {} after REST 600",
                show(&line)
            ),
            super::session::shown(&reply),
        )
    })?;
    same_bytes(
        &format!("REST 600, {line}"),
        bytes.get(600..).unwrap_or_default(),
        &tail,
    )?;
    c.quit();
    Ok(())
}
