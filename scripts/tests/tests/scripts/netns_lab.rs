//! `scripts/netns-lab` end to end: it builds three hosts in network namespaces, the real
//! `tcp-echo` lab server runs in h1, and `nc` in h2 and h3 gets every byte back over the virtual
//! switch; a link with `--loss 100` carries nothing, and `down` leaves no namespace behind.
//!
//! Namespaces belong to the whole machine, not to this test, so the test keeps out of everyone's
//! way: it is one test function (the other tests of this binary create no namespaces), its
//! namespaces carry a prefix of their own (`NETNS_LAB_PREFIX=netlab-tPID-`, so an instructor's lab named `netlab-`
//! is never touched), and a guard runs `down` even when an assertion fails half-way.
//!
//! It needs root, Linux, `ip` and OpenBSD `nc`, and prints a `SKIPPED` line where any is missing
//! or where `netns-lab up` answers that it cannot run here (its exit code 2).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use netlab_testkit::docs::workspace_root;
use netlab_testkit::{ServerProcess, find_program, skip};

const TEST: &str = "netns_lab_end_to_end";

/// Where host h1 is and where the echo server listens in it.
const SERVER: &str = "10.77.0.1";
const PORT: &str = "7007";

/// A lab made by `scripts/netns-lab` under this test's own prefix; dropping it runs `down`.
struct Lab {
    script: PathBuf,
    prefix: String,
}

impl Lab {
    fn new() -> Lab {
        Lab {
            script: workspace_root()
                .join("scripts/netns-lab")
                .canonicalize()
                .unwrap(),
            prefix: format!("netlab-t{}-", std::process::id()),
        }
    }

    /// `netns-lab ARGS...` with this lab's prefix, `stdin` as its input.
    fn run_with_input(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut child = Command::new(&self.script)
            .args(args)
            .env("NETNS_LAB_PREFIX", &self.prefix)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("run {}: {err}", self.script.display()));
        // A client whose connection fails may exit before reading its input: ignore a broken pipe.
        let _ = child.stdin.take().unwrap().write_all(stdin);
        child.wait_with_output().unwrap()
    }

    /// `netns-lab ARGS...`, which must succeed; returns what it printed (stdout, then stderr).
    fn run(&self, args: &[&str]) -> String {
        let output = self.run_with_input(args, b"");
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            output.status.success(),
            "netns-lab {} failed ({}):\n{printed}",
            args.join(" "),
            output.status
        );
        printed
    }

    /// This lab's namespaces, as `ip netns list` shows them.
    fn namespaces(&self) -> Vec<String> {
        let output = Command::new("ip").args(["netns", "list"]).output().unwrap();
        let mut names: Vec<String> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| line.split_whitespace().next())
            .filter(|name| name.starts_with(&self.prefix))
            .map(str::to_owned)
            .collect();
        names.sort();
        names
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Also after a panic: namespaces outlive the test process, so they must go explicitly.
        let _ = self.run_with_input(&["down"], b"");
    }
}

/// `nc` inside `host` sends `payload` to the echo server, closes its sending side and returns
/// what came back, or `Err` with what it printed when the connection failed. `-w 2`: give up on
/// a connection that gets no answer within 2 seconds (the lossy case ends that way).
fn echo_from(lab: &Lab, nc: &Path, host: &str, payload: &[u8]) -> Result<Vec<u8>, String> {
    let nc = nc.to_str().unwrap();
    let mut args = vec!["exec", host, nc];
    args.extend_from_slice(netlab_testkit::netcat::half_close_args());
    args.extend_from_slice(&["-w", "2", SERVER, PORT]);
    let output = lab.run_with_input(&args, payload);
    if output.status.success() {
        Ok(output.stdout)
    } else {
        Err(format!(
            "nc in {host} exited with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// The `tcp-echo` binary of the build this test belongs to.
fn tcp_echo() -> PathBuf {
    netlab_testkit::workspace_binary("tcp-echo", "tcp-echo")
}

/// The `nc` on the PATH (OpenBSD's or Ncat: both can half-close, see `netlab_testkit::netcat`).
fn local_nc() -> Result<PathBuf, String> {
    find_program("nc")
        .ok_or_else(|| "`nc` is not installed (apt-get install netcat-openbsd)".into())
}

/// Three hosts on the switch: h2 and h3 get every byte echoed by the lab server in h1, a link
/// with 100% loss carries nothing until it is cleared, and `down` removes every namespace.
#[test]
fn netns_lab_end_to_end() {
    if !cfg!(target_os = "linux") {
        skip(TEST, "network namespaces are a Linux feature");
        return;
    }
    if find_program("ip").is_none() {
        skip(TEST, "`ip` is not installed (apt-get install iproute2)");
        return;
    }
    let nc = match local_nc() {
        Ok(nc) => nc,
        Err(reason) => return skip(TEST, &reason),
    };

    // The guard exists before `up`, so even an `up` that dies half-way is cleaned up.
    let lab = Lab::new();
    let up = lab.run_with_input(&["up", "3"], b"");
    let up_printed = format!(
        "{}{}",
        String::from_utf8_lossy(&up.stdout),
        String::from_utf8_lossy(&up.stderr)
    );
    if up.status.code() == Some(2) {
        // netns-lab's "cannot run here": not root, no namespaces (a container), ...
        return skip(TEST, up_printed.trim());
    }
    assert!(up.status.success(), "netns-lab up 3 failed:\n{up_printed}");
    let p = &lab.prefix;
    assert_eq!(
        lab.namespaces(),
        [
            format!("{p}br"),
            format!("{p}h1"),
            format!("{p}h2"),
            format!("{p}h3")
        ]
    );
    assert!(up_printed.contains("h3   10.77.0.3/24"), "{up_printed}");

    // The real lab server in h1, bound to h1's address: reachable only through the switch. The
    // wait is for its `listening on` line, printed once the socket is listening.
    let tcp_echo = tcp_echo();
    let script = lab.script.to_str().unwrap();
    let prefix_env = format!("NETNS_LAB_PREFIX={p}");
    let server = ServerProcess::start(
        "env",
        &[
            &prefix_env,
            script,
            "exec",
            "h1",
            tcp_echo.to_str().unwrap(),
            "serve",
            "--bind",
            SERVER,
            "--port",
            PORT,
            "--framing",
            "raw",
        ],
    );
    assert_eq!(server.addr.to_string(), format!("{SERVER}:{PORT}"));

    // Raw framing (RFC 862): every byte comes back unchanged, CR, NUL and 0xFF included.
    let payload = b"hello from a namespace\r\n\x00\x01\xfe\xff binary too\n";
    for host in ["h2", "h3"] {
        let echoed = echo_from(&lab, &nc, host, payload).unwrap();
        assert_eq!(echoed, payload, "the echo to {host}");
    }

    // 100% loss on h2's link: h2's connection attempt never reaches h1, while h3 is unaffected.
    let link = lab.run(&["link", "h2", "--loss", "100"]);
    assert!(link.contains("h2   link: loss 100% by "), "{link}");
    let lost = echo_from(&lab, &nc, "h2", payload);
    assert!(
        lost.is_err(),
        "h2 got {lost:?} through a link that drops everything"
    );
    assert_eq!(echo_from(&lab, &nc, "h3", payload).unwrap(), payload);

    // `link h2` with no settings makes the link clean again.
    let link = lab.run(&["link", "h2"]);
    assert!(link.contains("h2   link: clean"), "{link}");
    assert_eq!(echo_from(&lab, &nc, "h2", payload).unwrap(), payload);

    let status = lab.run(&["status"]);
    for line in [
        "h1    10.77.0.1/24",
        "h2    10.77.0.2/24",
        "h3    10.77.0.3/24",
    ] {
        assert!(status.contains(line), "status lacks {line:?}:\n{status}");
    }

    // `down` stops the server inside h1 itself and removes every namespace; twice is fine.
    let down = lab.run(&["down"]);
    assert!(
        down.contains(&format!(
            "stopping the processes still inside the hosts: {}",
            server.pid()
        )),
        "{down}"
    );
    assert_eq!(lab.namespaces(), Vec::<String>::new(), "{down}");
    let again = lab.run(&["down"]);
    assert!(again.contains("nothing to remove"), "{again}");
    drop(server);
}
