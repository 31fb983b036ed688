//! # Which netcat is `nc` here?
//!
//! "netcat" is a family, not one program, and the walkthroughs' `nc` commands must work with the
//! member a student has:
//! - **OpenBSD netcat**, `nc` on Debian and Ubuntu (package `netcat-openbsd`): when its input
//!   ends it keeps the connection open, unless `-N` asks it to half-close (send FIN) so the
//!   server sees the end of the stream and answers the last line before closing.
//! - **Ncat**, from the Nmap project, `nc` on Fedora and RHEL (and on Debian with the `ncat`
//!   package chosen by update-alternatives): it half-closes on end of input by default (its
//!   `--no-shutdown` turns that off) and answers `-N` with `invalid option`.
//! - **macOS's nc** (from FreeBSD's, itself from OpenBSD's): recent versions take `-N` as
//!   OpenBSD's does.
//!
//! The walkthroughs write the OpenBSD form (`nc -N`) and say what to type with the others; the
//! tests that replay them ask [`flavor`] and type what *this* machine's `nc` understands
//! ([`for_local_nc`]).

use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::find_program;

/// The kind of netcat `nc` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// OpenBSD netcat (Debian's `netcat-openbsd`, macOS): `-N` half-closes at end of input.
    OpenBsd,
    /// Nmap's Ncat: half-closes at end of input by itself; no `-N`.
    Ncat,
    /// Something else (traditional netcat, busybox): taken to behave as OpenBSD's.
    Other,
}

/// What `nc` on the PATH is, or `None` when there is none. Asked once per test process.
pub fn flavor() -> Option<Flavor> {
    static FOUND: OnceLock<Option<Flavor>> = OnceLock::new();
    *FOUND.get_or_init(|| find_program("nc").map(|_| ask_nc()))
}

/// Ncat names itself in `--version`; OpenBSD's lists its `-N` in the usage `-h` prints.
fn ask_nc() -> Flavor {
    let says = |arg: &str| {
        Command::new("nc")
            .arg(arg)
            .stdin(Stdio::null())
            .output()
            .map(|out| {
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                )
            })
            .unwrap_or_default()
    };
    if says("--version").contains("Ncat") {
        Flavor::Ncat
    } else if says("-h").contains("OpenBSD netcat") {
        Flavor::OpenBsd
    } else {
        Flavor::Other
    }
}

/// The arguments that make this `nc` half-close when its input ends (`-N`, or nothing for Ncat).
pub fn half_close_args() -> &'static [&'static str] {
    match flavor() {
        Some(Flavor::Ncat) => &[],
        _ => &["-N"],
    }
}

/// `command` (a documented shell line) as this machine's `nc` takes it: `nc -N` becomes `nc`
/// where `nc` is Ncat, which half-closes without being asked.
pub fn for_local_nc(command: &str) -> String {
    rewrite_for(flavor(), command)
}

fn rewrite_for(flavor: Option<Flavor>, command: &str) -> String {
    match flavor {
        Some(Flavor::Ncat) => command.replace("nc -N ", "nc "),
        _ => command.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only Ncat loses the `-N`; other words containing "nc" are left alone.
    #[test]
    fn rewrites_only_for_ncat() {
        let line = "printf 'x' | nc -N 127.0.0.1 7080 | sync-nc -N";
        assert_eq!(
            rewrite_for(Some(Flavor::Ncat), line),
            "printf 'x' | nc 127.0.0.1 7080 | sync-nc -N"
        );
        assert_eq!(rewrite_for(Some(Flavor::OpenBsd), line), line);
        assert_eq!(rewrite_for(None, line), line);
    }
}
