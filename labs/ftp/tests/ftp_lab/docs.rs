//! Keeps docs/ftp.md true: its transcripts are replayed, in page order, with the real `ftp-lab`
//! (and curl and Python's ftplib where installed), and what they print is compared line by line
//! with what the page shows. A change to the server or the client that changes what a student
//! sees fails here until the walkthrough shows the new output.
//!
//! The page has no markers: each block is found by its section and its first line, and every
//! block of the page is either checked here or left out with a reason
//! ([`netlab_testkit::docs::Inventory`]), so a transcript added later cannot go unchecked
//! unnoticed. Like a reader, the replay works in one directory (the page's `/tmp/walk`, here a
//! fresh temp dir) against one server started as section 1 shows, so what one section creates is
//! there for the next. Commands run with `sh -c`, `umask 022` and `NO_COLOR` set, as the page
//! was captured, with the real binary and the real port in place of `ftp-lab` and 2121.
//!
//! ## What is checked, section by section
//! - 1: the `mkdir`/`printf` set-up, and the first lines of `ftp-lab serve` (given `--port 0`).
//! - 2: the `connect --trace` session: its standard output against the console block, its
//!   standard error (the trace) against the next block, and the server's log against the third.
//! - 4: the resumed download: `ls -l`, `get --resume --trace`, `get --resume`, and the log lines.
//!   Its two screens of the full-screen shell ("In the shell") are checked in tmux by
//!   `shell_tty::walkthrough_screens_are_true`.
//! - 5: the upload killed by `SIGKILL` (needs python3 with ftplib): the old file survives; the
//!   server's log.
//! - 6: `curl -v` (needs curl), and the ftplib script (needs python3) against the output under
//!   it.
//! - 7: the hostile session and the server's warnings; and the data connection that never comes,
//!   against a second server (`--data-timeout 2`), in its own test that runs alongside, since it
//!   spends 2 s waiting.
//! - 10: the `ftp-lab bench` runs, in their own test (they need no server of the walk's): every
//!   line they print, with the numbers masked (see below).
//! - 11, FTP over TLS, in its own test against its own server (`--tls-cert-out ca.pem`, over a
//!   directory set up by section 1's commands): the captures of a clear and an FTPS login with
//!   `scripts/capture`, and what tshark and `grep -c 'PASS secret'` find in them (these need
//!   root, tcpdump and tshark); the FTPS `get --trace` and the server's log of it; the
//!   certificate refused without a trust option and pinned by its fingerprint; curl and ftplib
//!   over TLS. `--require-tls` runs against a second server, as section 7's data timeout does:
//!   the clear logins refused, and curl's `--ftp-ssl-control` transfer refused (needs curl).
//!
//! Where a tool is missing, its checks are skipped with a `SKIPPED` line, as in the lab's other
//! interop tests.
//!
//! Where a capture cannot be made (not root, or no tcpdump or tshark), its blocks are skipped
//! the same way.
//!
//! Left out: section 3's diagram, section 6's list of curl commands without output (each runs in
//! `tests/ftp_lab/interop.rs`, in four modes), and section 9's benchmark (minutes, and vsftpd).
//!
//! ## How blocks are compared
//! - A console block: each `$` command's output against the lines under it.
//! - A block of the server's log: a window of what the server printed since the section began,
//!   showing only the levels the block shows (`[INFO]`, `[WARN]`, `[TRACE]`); `...` stands for
//!   lines left out.
//! - curl's `-v` lines: all `>` and `<` lines (the FTP dialogue) in order. The page leaves out
//!   the progress meter and some of curl's `*` comments, so the `*` lines it shows need only
//!   appear in order, and only with the curl the page was captured with (`CURL_ON_PAGE`): other
//!   versions word them differently. The downloaded file (standard output) comes last.
//!
//! ## What differs from run to run
//! Normalized on both sides before comparing, and nothing else:
//! - ports the OS picks. Each port the page shows stands for one real port throughout a section,
//!   and two for two, so "the port in the 229 reply is the one the client connects to" is still
//!   checked. `PORT h1,h2,h3,h4,p1,p2` holds port p1 * 256 + p2;
//! - the temp dir, shown as `/tmp/walk`;
//! - dates and times (in listings, from `ls -l`, MLSD's `modify`), and the seconds and rate of a
//!   transfer;
//! - directory sizes (the file system's: 4096 on ext4, other numbers elsewhere), and the owner
//!   and group `ls -l` shows;
//! - the server's certificate fingerprint (a new certificate on every start): where a command
//!   gives it (`--tls-fingerprint`), the run's own is typed in its place;
//! - in tshark's one-line summary, the frame number, time and frame length (the certificate and
//!   its signature differ by a byte or two); in `scripts/capture`'s output, how many segments it
//!   saved (ACKs depend on timing) and its hints on how to open the file, which name the FTP
//!   dissector only for the lab's own port 2121.
//!
//! ## Replayed differently, and why
//! - `timeout -s INT 0.1 ftp-lab get ...` (section 4) stops a download after 0.1 s, and how far
//!   it got depends on the machine. The harness makes the same cut deterministically: its own
//!   client starts the `RETR` and drops both connections part-way, as the kernel does when the
//!   interrupted client dies, and leaves `big.bin` holding as many bytes as the page's `ls -l`
//!   shows (the harness serves 300 MiB of zero bytes, so they are the right bytes).
//! - `printf ... | nc ...` (section 7): what `nc` does, copy its input to a socket and the
//!   replies to the terminal, is played over a socket; the `printf` parts run in the shell. A
//!   `sleep` between two parts becomes an event instead: every command sent so far has its final
//!   reply (a `1yz` reply is preliminary; RFC 959, 4.2). nc's `-q N`, how long nc waits after
//!   its input ends, changes nothing it prints: the server answers at once and closes after
//!   `QUIT`.
//! - A program killed by `SIGKILL` shows as `Killed`, the line an interactive shell prints.
//! - `sudo ~/netlab/scripts/capture ...` (section 11) runs without `sudo` (a capture runs only as root
//!   here), with this checkout's `scripts/capture`. curl and tshark are compared on their
//!   standard output (curl's progress meter and tshark's warning about running as root are on
//!   standard error).
//! - `ftp-lab bench` (section 10) runs with `--file-size 1M --rounds 1` instead of the page's
//!   hundreds of MiB and several rounds, with `TMPDIR` set to a fresh temp dir (shown as `/tmp`).
//!   Its figures differ on every run anyway, so they are masked on both sides: the measured
//!   columns of the table and the JSON lines' `bytes`, `seconds`, `mib_per_s` and `rounds`, and
//!   every number of the other lines ([`netlab_testkit::docs::mask_numbers`]). What is compared
//!   is each line's words, the table's rows (each direction and block size, in order) and the JSON
//!   lines' fields, block sizes included.
use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::{File, Permissions};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::util::{BIN, Ftp, PATIENCE, ServerProcess, TempDir, find_program, python_with, skip};
use netlab_testkit::docs::{
    Block, Doc, DocCommand, Inventory, commands, compare, lab_command, mask_numbers,
    missing_program, run_checks, uses_program, workspace_root,
};
use regex::{Captures, Regex};

const DOC: &str = "docs/ftp.md";
/// The server's port on the page (the lab's default).
const DOC_PORT: u16 = 2121;

/// How section 11 runs the capture script: the reader's checkout is `~/netlab` on the page.
const CAPTURE_ON_PAGE: &str = "sudo ~/netlab/scripts/capture";
/// The directory the page's commands ran in (its server prints `serving /tmp/walk/files`).
const DOC_DIR: &str = "/tmp/walk";
/// Section 4's file: "a 300 MiB download".
const BIG_BIN: u64 = 300 << 20;
/// The curl whose `-v` comments (`*` lines) section 6 shows; section 9 names it.
const CURL_ON_PAGE: &str = "7.88.1";

/// Every transcript of docs/ftp.md but the data timeout matches what the programs print today.
#[test]
fn walkthrough_transcripts_are_true() {
    let doc = Doc::read(DOC);
    // The table of contents: every block of the page, checked or left out.
    let mut blocks = Inventory::new(&doc);
    let start = blocks.take("## 1.", "$ mkdir");
    let session = blocks.take("## 2.", "$ printf 'ls");
    let client_trace = blocks.take("## 2.", "[TRACE]");
    let server_log = blocks.take("## 2.", "[INFO]");
    blocks.leave_out(
        "## 3.",
        "$ ftp-lab serve --root files --trace-json",
        "how the ladders below were made; scripts/ladders runs them",
    );
    let by_ladders = "generated by scripts/ladders; scripts/tests (ladders.rs) reruns and compares";
    blocks.leave_out(
        "## 3.",
        "server          client          server:",
        by_ladders,
    );
    blocks.leave_out(
        "## 3.",
        "server          client          server-data",
        by_ladders,
    );
    let resume = blocks.take("## 4.", "$ timeout");
    let resume_log = blocks.take("## 4.", "[WARN]");
    // Screen captures of the full-screen shell: checked in tmux by shell_tty.
    blocks.take("### In the shell", "$ ftp-lab connect");
    blocks.take("### In the shell", "[INFO] connected");
    let killed = blocks.take("## 5.", "$ echo");
    let killed_log = blocks.take("## 5.", "[INFO]");
    let curl = blocks.take("### curl", "$ curl -v");
    blocks.leave_out(
        "### curl",
        "$ curl ftp://",
        "no output shown; tests/ftp_lab/interop.rs runs each",
    );
    let ftplib = blocks.take("### Python's ftplib", "import ftplib");
    let ftplib_output = blocks.take("### Python's ftplib", "220 ");
    let hostile = blocks.take("## 7.", "$ printf 'USER anonymous");
    let hostile_log = blocks.take("## 7.", "[WARN]");
    // Checked by data_connection_that_never_comes, below.
    blocks.take("## 7.", "$ ftp-lab serve");
    blocks.leave_out("## 9.", "$ RUNS=", "the benchmark: minutes, with vsftpd");
    // Checked by measuring_transcripts_are_true, below.
    blocks.take("## 10.", "$ ftp-lab bench --file-size");
    blocks.take("## 10.", "$ ftp-lab bench --json");
    // Checked by ftps_transcripts_are_true and require_tls_transcript_is_true, below.
    TlsBlocks::take(&mut blocks);
    blocks.take("### Requiring TLS", "$ ftp-lab serve");
    blocks.finish();

    let walk = RefCell::new(Walk::start(&start));
    let sections: [&dyn Fn(); 6] = [
        &|| {
            walk.borrow_mut()
                .session(&session, &client_trace, &server_log)
        },
        &|| walk.borrow_mut().resumed_download(&resume, &resume_log),
        &|| walk.borrow_mut().killed_upload(&killed, &killed_log),
        &|| walk.borrow_mut().curl(&curl),
        &|| walk.borrow_mut().ftplib(&ftplib, &ftplib_output),
        &|| walk.borrow_mut().hostile(&hostile, &hostile_log),
    ];
    // Every section runs even after one fails, so one run lists everything to fix.
    run_checks(DOC, &sections, |section| section());
}

/// A second server of the page, started as its `$ ftp-lab serve ... --port N &` line shows
/// (on a free port instead of N) over an empty `files/` in a directory of its own: the
/// directory, the server, and the page's port N.
fn side_server(serve: &DocCommand, name: &str) -> (TempDir, ServerProcess, u16) {
    let doc_port: u16 = word_after(&serve.command, "--port")
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("{DOC} line {}: expected --port N", serve.line));
    let dir = TempDir::new(name);
    std::fs::create_dir(dir.join("files")).unwrap();
    let serve_command = serve.command.trim_end_matches('&').trim_end();
    let server = start_server(dir.path(), &real(serve_command, doc_port, 0));
    (dir, server, doc_port)
}

/// Section 7's data connection that never comes: `--data-timeout 2` on a second server.
#[test]
fn data_connection_that_never_comes() {
    let doc = Doc::read(DOC);
    let block = Inventory::new(&doc).take("## 7.", "$ ftp-lab serve");
    let [serve, client] = commands(DOC, &block).try_into().unwrap_or_else(|_| {
        panic!(
            "{DOC} line {}: expected `$ ftp-lab serve ... &` and one `nc` command",
            block.marker_line
        )
    });
    let (_dir, server, doc_port) = side_server(&serve, "docs-timeout");
    let port = server.addr.port();
    let patterns = Patterns::new();
    let mut ports = Ports::new(&patterns, doc_port, port);
    let actual = play_nc(&client.command, doc_port, port);
    same_lines(
        &patterns,
        &mut ports,
        client.line,
        &format!("`{}`", client.command),
        &actual,
        &client.output,
    );
}

/// Section 11's blocks (FTP over TLS) that run against its server.
struct TlsBlocks {
    serve: Block,
    clear_capture: Block,
    session: Block,
    client_trace: Block,
    server_log: Block,
    trust: Block,
    ftps_capture: Block,
    curl: Block,
    ftplib: Block,
    ftplib_output: Block,
}

impl TlsBlocks {
    fn take(blocks: &mut Inventory) -> TlsBlocks {
        let same_login = "### The same login over TLS";
        let clients = "### curl and Python's ftplib over TLS";
        TlsBlocks {
            serve: blocks.take("## 11.", "$ ftp-lab serve"),
            clear_capture: blocks.take(
                "### What the network sees",
                "$ sudo ~/netlab/scripts/capture",
            ),
            session: blocks.take(
                same_login,
                "$ ftp-lab get ftps://alice:secret@127.0.0.1:2121/notes.txt --tls-ca",
            ),
            client_trace: blocks.take(same_login, "[TRACE] 127.0.0.1:2121 "),
            server_log: blocks.take(same_login, "[TRACE] 127.0.0.1:"),
            trust: blocks.take(
                same_login,
                "$ ftp-lab get ftps://alice:secret@127.0.0.1:2121/notes.txt --force",
            ),
            ftps_capture: blocks.take(same_login, "$ sudo ~/netlab/scripts/capture"),
            curl: blocks.take(clients, "$ curl"),
            ftplib: blocks.take(clients, "import ftplib"),
            ftplib_output: blocks.take(clients, "220 "),
        }
    }
}

/// Section 11, FTP over TLS, against a server started as the section shows (over section 1's
/// files): the clear login's capture holds `PASS secret`, the FTPS login's trace and the
/// server's log, the certificate checks, the FTPS capture (TLS after `AUTH TLS`, no password),
/// curl and ftplib over TLS.
#[test]
fn ftps_transcripts_are_true() {
    let doc = Doc::read(DOC);
    let mut inventory = Inventory::new(&doc);
    let setup = inventory.take("## 1.", "$ mkdir");
    let blocks = TlsBlocks::take(&mut inventory);
    let walk = RefCell::new(Walk::start_tls(&setup, &blocks.serve));
    let sections: [&dyn Fn(); 6] = [
        &|| walk.borrow_mut().replay(&blocks.clear_capture),
        &|| {
            walk.borrow_mut()
                .session(&blocks.session, &blocks.client_trace, &blocks.server_log)
        },
        &|| walk.borrow_mut().replay(&blocks.trust),
        &|| walk.borrow_mut().replay(&blocks.ftps_capture),
        &|| walk.borrow_mut().replay(&blocks.curl),
        &|| {
            walk.borrow_mut()
                .ftplib(&blocks.ftplib, &blocks.ftplib_output)
        },
    ];
    run_checks(DOC, &sections, |section| section());
}

/// Section 11's `--require-tls`: a second server refuses a clear `USER` and `PASS` with `534`,
/// to `nc` and to `ftp-lab get`, and curl's `--ftp-ssl-control` transfer (TLS for the login,
/// `PROT C` for the data) with `521` (needs curl).
#[test]
fn require_tls_transcript_is_true() {
    let doc = Doc::read(DOC);
    let block = Inventory::new(&doc).take("### Requiring TLS", "$ ftp-lab serve");
    let [serve, typed, get, curl] = commands(DOC, &block).try_into().unwrap_or_else(|_| {
        panic!(
            "{DOC} line {}: expected `$ ftp-lab serve ... &`, one `nc`, one `ftp-lab get` and one `curl`",
            block.marker_line
        )
    });
    let (dir, server, doc_port) = side_server(&serve, "docs-require-tls");
    let port = server.addr.port();
    let patterns = Patterns::new();
    let mut ports = Ports::new(&patterns, doc_port, port);
    let what = format!("`{}`", typed.command);
    let replies = play_nc(&typed.command, doc_port, port);
    same_lines(
        &patterns,
        &mut ports,
        typed.line,
        &what,
        &replies,
        &typed.output,
    );
    for client in [get, curl] {
        if let Some(tool) = missing_program(&client.command, &["curl"]) {
            skip(
                &format!("{DOC} line {}", client.line),
                &format!("{tool} is not installed"),
            );
            continue;
        }
        let printed = run(dir.path(), &real(&client.command, doc_port, port), true);
        let what = format!("`{}`", client.command);
        same_lines(
            &patterns,
            &mut ports,
            client.line,
            &what,
            &printed.out,
            &client.output,
        );
    }
}

/// Whether this machine can capture on the loopback (root, tcpdump and tshark); prints why not
/// (`SKIPPED`, naming `place`) when it cannot.
fn can_capture(place: &str) -> bool {
    if let Some(tool) = ["tcpdump", "tshark"]
        .into_iter()
        .find(|tool| find_program(tool).is_none())
    {
        skip(
            place,
            &format!("{tool} is not installed (apt-get install tcpdump tshark)"),
        );
        return false;
    }
    let uid = Command::new("id").arg("-u").output();
    if !uid.is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0") {
        skip(place, "capturing on the loopback needs root");
        return false;
    }
    true
}

/// A line of tshark's one-line summary with what differs from run to run as placeholders: the
/// frame number, the time, and the frame length (a certificate made at start, and its
/// signature, differ by a byte or two from run to run).
fn mask_frame(line: &str) -> String {
    let summary =
        Regex::new(r"^\s*\d+\s+\d+\.\d+\s+(127\.0\.0\.1 → 127\.0\.0\.1)\s+(\S+) \d+ ").unwrap();
    summary
        .replace(line, "<frame> <time> $1 $2 <length> ")
        .into_owned()
}

/// Section 10's `ftp-lab bench` runs, small and with their numbers masked (see the module
/// documentation).
#[test]
fn measuring_transcripts_are_true() {
    let doc = Doc::read(DOC);
    let mut blocks = Inventory::new(&doc);
    let shown = [
        blocks.take("## 10.", "$ ftp-lab bench --file-size"),
        blocks.take("## 10.", "$ ftp-lab bench --json"),
    ];
    for block in shown {
        for command in commands(DOC, &block) {
            let tmp = TempDir::new("docs-bench");
            let small = with_value(
                &with_value(&command.command, "--file-size", "1M"),
                "--rounds",
                "1",
            );
            let line = format!(
                "TMPDIR='{}' {}",
                tmp.path().display(),
                real(&small, DOC_PORT, 0)
            );
            let printed = run(tmp.path(), &line, true);
            let tmp_dir = tmp.path().to_string_lossy().into_owned();
            let masked = |lines: &[String]| -> Vec<String> {
                lines
                    .iter()
                    .map(|line| mask_figures(&line.replace(&tmp_dir, "/tmp")))
                    .collect()
            };
            compare(
                DOC,
                command.line,
                &format!("`{small}` (numbers masked)"),
                &masked(&printed.out),
                &masked(&command.output),
            );
        }
    }
}

/// A line of `ftp-lab bench` with what is measured masked: a table row keeps its direction and
/// block size, a JSON line its `lab`, `direction` and `block_size`; any other line loses every
/// number.
fn mask_figures(line: &str) -> String {
    let row = Regex::new(r"^(\| [A-Z]+ \| [^|]+ \|)(.*)$").unwrap();
    let measured = Regex::new(r#"("(?:bytes|seconds|mib_per_s|rounds)":)[0-9.]+"#).unwrap();
    if let Some(cells) = row.captures(line) {
        format!("{}{}", &cells[1], mask_numbers(&cells[2]))
    } else if line.starts_with('{') {
        measured.replace_all(line, "${1}N").into_owned()
    } else {
        mask_numbers(line)
    }
}

/// `command` with the word after `flag` replaced by `value`; panics if there is no such flag.
fn with_value(command: &str, flag: &str, value: &str) -> String {
    let mut words: Vec<&str> = command.split_whitespace().collect();
    let at = words
        .iter()
        .position(|word| *word == flag)
        .unwrap_or_else(|| panic!("{DOC}: `{command}` has no {flag}"));
    words[at + 1] = value;
    words.join(" ")
}

/// The replay's state: the directory the commands run in, and section 1's server.
struct Walk {
    dir: TempDir,
    server: ServerProcess,
    patterns: Patterns,
    /// What the page's ports stand for in the current section.
    ports: Ports,
    /// Where in the server's log the current section began.
    mark: usize,
    /// How many sessions of the current section the log has shown ending.
    ended: usize,
    /// Text of the page's commands that stands for something else in this run (section 11's
    /// fingerprint), and what it stands for.
    swaps: Vec<(String, String)>,
}

impl Walk {
    /// Section 1: the set-up commands, then the server, checking the lines it prints first.
    fn start(block: &Block) -> Walk {
        let commands = commands(DOC, block);
        let (serve, setup) = commands
            .split_last()
            .filter(|(serve, _)| serve.command.starts_with("ftp-lab serve"))
            .unwrap_or_else(|| {
                panic!(
                    "{DOC} line {}: section 1 ends with `$ ftp-lab serve`",
                    block.marker_line
                )
            });
        Walk::start_with(setup, serve)
    }

    /// Section 11's server, in a fresh directory set up as section 1 does.
    fn start_tls(setup: &Block, serve: &Block) -> Walk {
        let setup = commands(DOC, setup);
        let [serve] = commands(DOC, serve).try_into().unwrap_or_else(|_| {
            panic!(
                "{DOC} line {}: expected one `$ ftp-lab serve`",
                serve.marker_line
            )
        });
        let setup = setup
            .split_last()
            .map(|(_, before)| before)
            .unwrap_or_default();
        let mut walk = Walk::start_with(setup, &serve);
        let fingerprint = |lines: &[String]| -> Option<String> {
            lines
                .iter()
                .find_map(|line| line.split_once("TLS certificate SHA-256 "))
                .map(|(_, fingerprint)| fingerprint.trim().to_string())
        };
        let page = fingerprint(&serve.output).unwrap_or_else(|| {
            panic!(
                "{DOC} line {}: the server prints no fingerprint",
                serve.line
            )
        });
        let seen = fingerprint(&walk.server.seen)
            .unwrap_or_else(|| panic!("no fingerprint: {:#?}", walk.server.seen));
        walk.swaps.push((page, seen));
        walk
    }

    /// Runs the set-up commands in a fresh directory, then starts the server.
    fn start_with(setup: &[DocCommand], serve: &DocCommand) -> Walk {
        let dir = TempDir::new("docs");
        let patterns = Patterns::new();
        for command in setup {
            let printed = run(dir.path(), &command.command, true);
            compare(
                DOC,
                command.line,
                &format!("`{}`", command.command),
                &printed.out,
                &command.output,
            );
        }
        let server = start_server(
            dir.path(),
            &format!("{} --port 0", real(&serve.command, DOC_PORT, 0)),
        );
        let ports = Ports::new(&patterns, DOC_PORT, server.addr.port());
        let mut walk = Walk {
            dir,
            server,
            patterns,
            ports,
            mark: 0,
            ended: 0,
            swaps: Vec::new(),
        };
        while walk.server.seen.len() < serve.output.len() {
            if walk.server.next_line().is_none() {
                break; // The comparison says what is missing.
            }
        }
        let printed: Vec<String> = walk.server.seen.clone();
        walk.same(serve.line, "the server", &printed, &serve.output);
        walk
    }

    /// Starts a section: its own ports (but for the server's), its own part of the log.
    fn begin(&mut self) {
        self.ports = Ports::new(&self.patterns, DOC_PORT, self.server.addr.port());
        self.mark = self.server.seen.len();
        self.ended = 0;
    }

    /// Section 2: the client's output, its trace, and the server's side of it.
    fn session(&mut self, console: &Block, trace: &Block, log: &Block) {
        self.begin();
        let [command] = self.commands(console);
        let printed = self.run(&command.command, false);
        self.same(
            command.line,
            "its standard output",
            &printed.out,
            &command.output,
        );
        let shown: Vec<String> = trace.lines.iter().map(|(_, line)| line.clone()).collect();
        self.same(trace.marker_line, "its --trace", &printed.err, &shown);
        self.check_log(log);
    }

    /// Section 4: a cut-off download, resumed.
    fn resumed_download(&mut self, console: &Block, log: &Block) {
        self.begin();
        let [cut, list, resume, again] = self.commands(console);
        let rest = cut
            .command
            .strip_prefix("timeout -s INT 0.1 ")
            .unwrap_or_else(|| {
                panic!(
                    "{DOC} line {}: expected `timeout -s INT 0.1 ftp-lab get URL`",
                    cut.line
                )
            });
        let name = rest.rsplit('/').next().unwrap_or_default();
        let kept: u64 = list
            .output
            .first()
            .and_then(|line| line.split_whitespace().nth(4))
            .and_then(|size| size.parse().ok())
            .unwrap_or_else(|| panic!("{DOC} line {}: expected `ls -l` output", list.line));
        let served = File::create(self.dir.join("files").join(name)).unwrap();
        served.set_len(BIG_BIN).unwrap();
        self.cut_off_download(name, kept);
        compare(DOC, cut.line, "the cut-off download", &[], &cut.output);
        // `ls -l` shows who ran it, which differs from machine to machine.
        let owner = Regex::new(r"^(\S+ +\d+) +\S+ +\S+ ").unwrap();
        let mask = |lines: &[String]| -> Vec<String> {
            lines
                .iter()
                .map(|line| owner.replace(line, "$1 <owner> <group> ").into_owned())
                .collect()
        };
        let printed = self.run(&list.command, true);
        self.same(
            list.line,
            "`ls -l`",
            &mask(&printed.out),
            &mask(&list.output),
        );
        for command in [resume, again] {
            let printed = self.run(&command.command, true);
            let what = format!("`{}`", command.command);
            self.same(command.line, &what, &printed.out, &command.output);
        }
        self.check_log(log);
    }

    /// What `timeout` leaves behind, made deterministically (see the module documentation): a
    /// RETR cut off part-way on the server, and the first `kept` bytes of the file here.
    fn cut_off_download(&mut self, name: &str, kept: u64) {
        let mut ftp = Ftp::connect(self.server.addr);
        ftp.login("anonymous", "ftp@example.com");
        ftp.expect("TYPE I", 200);
        let mut data = ftp.passive();
        ftp.expect(&format!("RETR {name}"), 150);
        // A first chunk: the transfer is under way. Then both connections close with data
        // still arriving, as when the client's process dies.
        let mut chunk = [0; 64 * 1024];
        let got = data.read(&mut chunk).unwrap();
        assert!(got > 0, "the download never started");
        drop(data);
        drop(ftp);
        self.session_ended();
        let local = File::create(self.dir.join(name)).unwrap();
        local.set_len(kept).unwrap();
        local
            .set_permissions(Permissions::from_mode(0o644))
            .unwrap();
    }

    /// Section 5: an upload whose client is killed half-way leaves the old file in place.
    fn killed_upload(&mut self, console: &Block, log: &Block) {
        self.begin();
        let commands = commands(DOC, console);
        let python = commands
            .iter()
            .find(|command| uses_program(&command.command, "python3"));
        if let Some(command) = python
            && python_with(&format!("{DOC} line {}", command.line), "ftplib").is_none()
        {
            return;
        }
        for command in commands {
            let printed = self.run(&command.command, true);
            let what = format!("`{}`", command.command);
            self.same(command.line, &what, &printed.out, &command.output);
        }
        self.check_log(log);
    }

    /// Section 6: `curl -v`.
    fn curl(&mut self, console: &Block) {
        self.begin();
        let [command] = self.commands(console);
        if find_program("curl").is_none() {
            skip(
                &format!("{DOC} line {}", command.line),
                "curl is not installed",
            );
            return;
        }
        let printed = self.run(&command.command, false);
        let verbose = |line: &String| ["* ", "< ", "> "].iter().any(|p| line.starts_with(p));
        let (page, body): (Vec<String>, Vec<String>) =
            command.output.iter().cloned().partition(verbose);
        let mut real: Vec<String> = printed.err.iter().filter(|l| verbose(l)).cloned().collect();
        let mut page = page;
        let version = Command::new("curl").arg("--version").output().unwrap();
        let same_curl =
            String::from_utf8_lossy(&version.stdout).starts_with(&format!("curl {CURL_ON_PAGE} "));
        if !same_curl {
            // Another curl words its comments differently: compare the dialogue only.
            page.retain(|line| !line.starts_with("* "));
            real.retain(|line| !line.starts_with("* "));
        }
        // The `*` lines the page leaves out, passed over: what remains must be the page.
        let mut shown = page.iter().peekable();
        let mut kept = Vec::new();
        for line in &real {
            let next = shown.peek().map(|page| self.fits(page, line));
            if next == Some(true) {
                shown.next();
                kept.push(line.clone());
            } else if !line.starts_with("* ") {
                kept.push(line.clone());
            }
        }
        self.same(command.line, "curl -v (its dialogue)", &kept, &page);
        self.same(command.line, "curl's download", &printed.out, &body);
    }

    /// Section 6: the ftplib script, and what it printed.
    fn ftplib(&mut self, script: &Block, output: &Block) {
        self.begin();
        let Some(python) = python_with(&format!("{DOC} line {}", script.marker_line), "ftplib")
        else {
            return;
        };
        let code: Vec<&str> = script.lines.iter().map(|(_, line)| line.as_str()).collect();
        let code = code.join("\n");
        let address = format!("\"127.0.0.1\", {DOC_PORT}");
        assert!(
            code.contains(&address),
            "{DOC} line {}: the script connects to {address}",
            script.marker_line
        );
        let code = code.replace(
            &address,
            &format!("\"127.0.0.1\", {}", self.server.addr.port()),
        );
        let ran = Command::new(python)
            .args(["-c", &code])
            .current_dir(self.dir.path())
            .output()
            .unwrap();
        let printed = text_lines(&ran.stdout);
        assert!(
            ran.status.success(),
            "{DOC} line {}: the script failed:\n{}\n{}",
            script.marker_line,
            printed.join("\n"),
            String::from_utf8_lossy(&ran.stderr)
        );
        self.session_ended();
        let shown: Vec<String> = output.lines.iter().map(|(_, line)| line.clone()).collect();
        self.same(output.marker_line, "the script", &printed, &shown);
    }

    /// Section 7: what a hostile client tries, and what the server logs about it.
    fn hostile(&mut self, console: &Block, log: &Block) {
        self.begin();
        let [command] = self.commands(console);
        let printed = play_nc(&command.command, DOC_PORT, self.server.addr.port());
        self.session_ended();
        let what = format!("`{}`", command.command);
        self.same(command.line, &what, &printed, &command.output);
        self.check_log(log);
    }

    /// Section 11's console blocks: each command as the reader types it, its output compared.
    /// `scripts/capture` and tshark need root, tcpdump and tshark: without them the whole block
    /// is skipped (`SKIPPED`), since its later commands read the capture. curl and tshark are
    /// compared on their standard output only (curl's progress meter and tshark's warning about
    /// running as root go to standard error); everything else as a terminal shows it.
    fn replay(&mut self, block: &Block) {
        self.begin();
        let commands = commands(DOC, block);
        let place = format!("{DOC} line {}", block.marker_line);
        let captures = commands
            .iter()
            .any(|command| command.command.starts_with(CAPTURE_ON_PAGE));
        if captures && !can_capture(&place) {
            return;
        }
        if let Some(tool) = commands
            .iter()
            .find_map(|command| missing_program(&command.command, &["curl"]))
        {
            skip(&place, &format!("{tool} is not installed"));
            return;
        }
        let segments = Regex::new(r"saved \d+ TCP segments").unwrap();
        for command in commands {
            let what = format!("`{}`", command.command);
            let typed = self.as_run_here(&command.command);
            let stdout_only = ["curl", "tshark"]
                .iter()
                .any(|program| uses_program(&command.command, program));
            let printed = self.run(&typed, !stdout_only);
            let bin = Path::new(BIN).to_string_lossy().into_owned();
            let mut real: Vec<String> = printed
                .out
                .iter()
                .map(|line| mask_frame(line.replace(&bin, "ftp-lab").trim_end()))
                .collect();
            let mut page: Vec<String> =
                command.output.iter().map(|line| mask_frame(line)).collect();
            if command.command.starts_with(CAPTURE_ON_PAGE) {
                // How to open the file: the script names the FTP dissector only for the lab's
                // own port 2121. And how many segments it saved: ACKs vary with timing.
                for lines in [&mut real, &mut page] {
                    if let Some(end) = lines.iter().position(|line| line == "open it:") {
                        lines.truncate(end);
                    }
                    for line in lines.iter_mut() {
                        *line = segments.replace(line, "saved N TCP segments").into_owned();
                    }
                }
            }
            self.same(command.line, &what, &real, &page);
        }
    }

    /// A command of section 11 as it runs here: the run's fingerprint for the page's, no `sudo`
    /// (the test already runs as root where it captures), this checkout's `scripts/capture` for
    /// the page's `~/netlab/scripts/capture`,
    /// and the real port for the page's in `scripts/capture 2121` and tshark's
    /// `-d tcp.port==2121,ftp`.
    fn as_run_here(&self, command: &str) -> String {
        let port = self.server.addr.port();
        let mut command = command.to_string();
        for (page, real) in &self.swaps {
            command = command.replace(page, real);
        }
        let capture = workspace_root().join("scripts/capture");
        let command = command.strip_prefix("sudo ").unwrap_or(&command);
        command
            .replace(
                &format!("~/netlab/scripts/capture {DOC_PORT} "),
                &format!("{} {port} ", capture.display()),
            )
            .replace(
                &format!("tcp.port=={DOC_PORT},"),
                &format!("tcp.port=={port},"),
            )
    }

    /// The `$` commands of a block, as many as the caller expects.
    fn commands<const N: usize>(&self, block: &Block) -> [DocCommand; N] {
        let found = commands(DOC, block);
        let count = found.len();
        found.try_into().unwrap_or_else(|_| {
            panic!(
                "{DOC} line {}: expected {N} `$` command(s), found {count}",
                block.marker_line
            )
        })
    }

    /// Runs a documented command in the walk's directory against the server; waits until the
    /// server has finished with the client, if it was one.
    fn run(&mut self, command: &str, merged: bool) -> Printed {
        let port = self.server.addr.port();
        let printed = run(self.dir.path(), &real(command, DOC_PORT, port), merged);
        if command.contains("127.0.0.1") {
            self.session_ended();
        }
        Printed {
            out: self.real_paths(printed.out),
            err: self.real_paths(printed.err),
        }
    }

    /// The temp dir written as the page's `/tmp/walk`.
    fn real_paths(&self, lines: Vec<String>) -> Vec<String> {
        let dir = self.dir.path().to_string_lossy().into_owned();
        let canonical = self.dir.path().canonicalize().unwrap();
        let canonical = canonical.to_string_lossy().into_owned();
        lines
            .into_iter()
            .map(|line| line.replace(&canonical, DOC_DIR).replace(&dir, DOC_DIR))
            .collect()
    }

    /// Compares what `what` printed with the page's lines under line `place`, learning ports.
    fn same(&mut self, place: usize, what: &str, actual: &[String], expected: &[String]) {
        let actual = self.real_paths(actual.to_vec());
        same_lines(
            &self.patterns,
            &mut self.ports,
            place,
            what,
            &actual,
            expected,
        );
    }

    /// Whether a real line is the page's, up to what varies (learning nothing).
    fn fits(&self, page: &str, real: &str) -> bool {
        let (page, page_ports) = self.ports.split(&self.patterns.tidy(page));
        let (real, real_ports) = self.ports.split(&self.patterns.tidy(real));
        page == real && self.ports.fits(&page_ports, &real_ports)
    }

    /// Waits until the server logs the end of one more of this section's sessions: the event
    /// that says it has finished with a client (a killed client's upload, say).
    fn session_ended(&mut self) {
        let ends = |seen: &[String]| {
            seen.iter()
                .filter(|line| {
                    [": disconnected (", ": vanished (", ": dropped: "]
                        .iter()
                        .any(|end| line.contains(end))
                })
                .count()
        };
        while ends(&self.server.seen[self.mark..]) <= self.ended {
            if self.server.next_line().is_none() {
                panic!(
                    "the server never logged the end of a session; since the section began:\n{}",
                    self.server.seen[self.mark..].join("\n")
                );
            }
        }
        self.ended += 1;
    }

    /// A block of the server's log: a window of what it printed since the section began, with
    /// only the levels the block shows; `...` stands for lines left out.
    ///
    /// Every session of the section has ended before this runs, and a session's last line is
    /// its end, so the log holds all it will: a line not found is missing, not late.
    fn check_log(&mut self, block: &Block) {
        let levels: Vec<String> = block
            .lines
            .iter()
            .filter_map(|(_, line)| line.split_once(']').map(|(level, _)| format!("{level}]")))
            .collect();
        let mut cursor = self.mark;
        // The window may start anywhere.
        let mut skipping = true;
        for (number, line) in &block.lines {
            if line == "..." {
                skipping = true;
                continue;
            }
            loop {
                let Some(real) = self.server.seen.get(cursor).cloned() else {
                    panic!(
                        "{DOC} line {number}: the server's log has no such line (after the lines above):\n  page: {line:?}\nits log since the section began:\n{}",
                        self.server.seen[self.mark..].join("\n")
                    );
                };
                cursor += 1;
                if !levels.iter().any(|level| real.starts_with(level.as_str())) {
                    continue;
                }
                let real = self.real_paths(vec![real]).remove(0);
                if self.fits(line, &real) {
                    let (_, page_ports) = self.ports.split(&self.patterns.tidy(line));
                    let (_, real_ports) = self.ports.split(&self.patterns.tidy(&real));
                    self.ports.learn(&page_ports, &real_ports).unwrap();
                    break;
                }
                if !skipping {
                    panic!(
                        "{DOC} line {number}: the server's log differs:\n  page: {line:?}\n  real: {real:?}\nits log since the section began:\n{}",
                        self.server.seen[self.mark..].join("\n")
                    );
                }
            }
            skipping = false;
        }
    }
}

/// What a command printed, as lines.
struct Printed {
    out: Vec<String>,
    err: Vec<String>,
}

/// Runs a command line in `dir` as the page's shell did. `merged`: standard error goes where
/// standard output goes, in the order written, as on a terminal.
fn run(dir: &Path, command: &str, merged: bool) -> Printed {
    let redirect = if merged { "exec 2>&1\n" } else { "" };
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!("{redirect}umask 022\n{command}"))
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run sh");
    let mut out = text_lines(&output.stdout);
    // A terminal's shell reports a program killed by SIGKILL as `Killed`; `sh -c` does too,
    // except when it ran the program in its own place (as its last command).
    if output.status.signal() == Some(9) {
        out.push("Killed".into());
    }
    Printed {
        out,
        err: text_lines(&output.stderr),
    }
}

fn text_lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(|line| line.trim_end_matches('\r').to_string())
        .collect()
}

/// The documented command as it runs here: the real binary and port, and the page's relative
/// `labs/...` paths (the page runs fixtures from the workspace) made absolute.
fn real(command: &str, doc_port: u16, port: u16) -> String {
    let labs = workspace_root().join("labs");
    lab_command(command, "ftp-lab", BIN, doc_port, Some(port))
        .replace(" labs/", &format!(" {}/", labs.display()))
}

/// Starts a documented `ftp-lab serve` command line in `dir`, its output and errors together as
/// a terminal shows them.
fn start_server(dir: &Path, command: &str) -> ServerProcess {
    ServerProcess::start_in(
        Some(dir),
        "sh",
        &["-c", &format!("umask 022; exec {command} 2>&1")],
    )
}

/// The word after `flag` in a command line.
fn word_after<'a>(command: &'a str, flag: &str) -> Option<&'a str> {
    let mut words = command.split_whitespace();
    words.by_ref().find(|word| *word == flag)?;
    words.next()
}

/// Plays `printf A | nc ... HOST PORT`, or `(printf A; sleep N; printf B) | nc ... HOST PORT`,
/// over a socket (see the module documentation); returns the reply lines as nc prints them.
fn play_nc(command: &str, doc_port: u16, port: u16) -> Vec<String> {
    let (input, nc) = command
        .rsplit_once(" | nc ")
        .unwrap_or_else(|| panic!("expected `... | nc ... HOST PORT`, got {command:?}"));
    let target: Vec<&str> = nc.split_whitespace().rev().take(2).collect();
    let doc_port = doc_port.to_string();
    assert_eq!(target, [doc_port.as_str(), "127.0.0.1"], "{command}");
    // The input, in parts separated by `sleep`.
    let mut parts: Vec<Vec<u8>> = vec![Vec::new()];
    let input = input.trim();
    let input = input
        .strip_prefix('(')
        .and_then(|inner| inner.strip_suffix(')'))
        .unwrap_or(input);
    for step in input.split("; ") {
        if step.starts_with("sleep ") {
            parts.push(Vec::new());
        } else {
            let printed = Command::new("sh").args(["-c", step]).output().unwrap();
            parts.last_mut().unwrap().extend(printed.stdout);
        }
    }
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut replies = BufReader::new(stream.try_clone().unwrap());
    let mut next_line = || {
        let mut line = String::new();
        match replies.read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim_end_matches(['\r', '\n']).to_string()),
        }
    };
    let mut shown = Vec::new();
    // The greeting is a reply nobody asked for.
    let mut finals_due = 1;
    let (last, before) = parts.split_last().unwrap();
    for part in before {
        stream.write_all(part).unwrap();
        finals_due += part.windows(2).filter(|pair| pair == b"\r\n").count();
        // What the `sleep` waits for: every command sent so far has its final reply.
        while finals_due > 0 {
            let line = next_line().unwrap_or_else(|| {
                panic!(
                    "`{command}`: the server closed early:\n{}",
                    shown.join("\n")
                )
            });
            finals_due -= usize::from(is_final(&line));
            shown.push(line);
        }
    }
    stream.write_all(last).unwrap();
    // Then everything until the server closes.
    while let Some(line) = next_line() {
        shown.push(line);
    }
    shown
}

/// Whether a reply line ends a reply that is not preliminary: its code and a space (a `-` would
/// continue it), and a first digit other than 1 (RFC 959, 4.2).
fn is_final(line: &str) -> bool {
    let bytes = line.as_bytes();
    bytes.len() >= 4
        && bytes[..3].iter().all(u8::is_ascii_digit)
        && bytes[3] == b' '
        && bytes[0] != b'1'
}

/// What differs from run to run (but ports, see [`Ports`]), found by pattern.
struct Patterns {
    dates: Regex,
    timestamps: Regex,
    rates: Regex,
    dir_sizes: Regex,
    mlsd_dirs: Regex,
    fingerprints: Regex,
    ports: Regex,
}

impl Patterns {
    fn new() -> Patterns {
        let pattern = |text: &str| Regex::new(text).unwrap();
        Patterns {
            // `Nov 22 07:48` in a listing, `Dec  1 13:41` from ls; a year for older files.
            dates: pattern(
                r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2} +(?:\d{2}:\d{2}|\d{4})\b",
            ),
            // MLSD's `modify` fact: YYYYMMDDHHMMSS.
            timestamps: pattern(r"\b\d{14}\b"),
            // `in 0.10 s (1.55 GiB/s)`.
            rates: pattern(r"\b\d+(?:\.\d+)? s \(\d+(?:\.\d+)? [KMGT]?i?B/s\)"),
            // A directory's size in a LIST line, and in the ftplib script's MLSD lines.
            dir_sizes: pattern(r"^(d[rwxsStT-]{9} +\d+ +\S+ +\S+) +\d+ "),
            mlsd_dirs: pattern(r"^(\S+ dir) \d+ "),
            // A certificate's SHA-256, as `ftp-lab serve` prints it: new on every start.
            fingerprints: pattern(r"\b(?:[0-9A-F]{2}:){31}[0-9A-F]{2}\b"),
            ports: pattern(
                r"127\.0\.0\.1:(?P<address>\d+)|\(\|\|\|(?P<epsv>\d+)\|\)|\b(?P<host>\d{1,3}(?:,\d{1,3}){3}),(?P<hi>\d{1,3}),(?P<lo>\d{1,3})\b|\bport (?P<word>\d+)",
            ),
        }
    }

    /// The line with dates, times, rates, directory sizes and fingerprints as placeholders.
    fn tidy(&self, line: &str) -> String {
        let line = self.dates.replace_all(line, "<date>");
        let line = self.timestamps.replace_all(&line, "<time>");
        let line = self.rates.replace_all(&line, "<seconds> s (<rate>)");
        let line = self.dir_sizes.replace(&line, "$1 <size> ");
        let line = self.fingerprints.replace_all(&line, "<fingerprint>");
        self.mlsd_dirs.replace(&line, "$1 <size> ").into_owned()
    }
}

/// The page's ports and the real ones they stand for, within a section. The OS picks new
/// ports on every run, but where the page shows one port twice the run must show one port
/// twice, and where it shows two ports, two. Ports below 1024 are never picked by the OS (they
/// are typed, as in `PORT 10,0,0,5,0,25`) and are compared as they are.
#[derive(Clone)]
struct Ports {
    /// Page port -> real port, and back.
    real: HashMap<u32, u32>,
    page: HashMap<u32, u32>,
    pattern: Regex,
}

impl Ports {
    /// A section's ports: so far only the server's, `doc_port` on the page.
    fn new(patterns: &Patterns, doc_port: u16, port: u16) -> Ports {
        let (doc_port, port) = (u32::from(doc_port), u32::from(port));
        Ports {
            real: HashMap::from([(doc_port, port)]),
            page: HashMap::from([(port, doc_port)]),
            pattern: patterns.ports.clone(),
        }
    }

    /// The line with each port as `<port>`, and the ports, in order. `PORT 127,0,0,1,166,179`
    /// holds port 166 * 256 + 179.
    fn split(&self, line: &str) -> (String, Vec<u32>) {
        let mut ports = Vec::new();
        let text = self.pattern.replace_all(line, |caps: &Captures| {
            let number = |name: &str| -> u32 { caps[name].parse().unwrap() };
            let (port, shape) = if caps.name("address").is_some() {
                (number("address"), "127.0.0.1:<port>".to_string())
            } else if caps.name("epsv").is_some() {
                (number("epsv"), "(|||<port>|)".to_string())
            } else if caps.name("host").is_some() {
                let port = number("hi") * 256 + number("lo");
                (port, format!("{},<port>", &caps["host"]))
            } else {
                (number("word"), "port <port>".to_string())
            };
            if port < 1024 {
                return caps[0].to_string();
            }
            ports.push(port);
            shape
        });
        (text.into_owned(), ports)
    }

    /// Whether the real ports can be what the page's stand for.
    fn fits(&self, page: &[u32], real: &[u32]) -> bool {
        self.clone().learn(page, real).is_ok()
    }

    /// Learns what the page's ports stand for; an error if that contradicts what it learned.
    fn learn(&mut self, page: &[u32], real: &[u32]) -> Result<(), String> {
        for (&shown, &seen) in page.iter().zip(real) {
            let known = *self.real.entry(shown).or_insert(seen);
            if known != seen {
                return Err(format!(
                    "the page's port {shown} stands for port {known} elsewhere in this section, but here it is {seen}"
                ));
            }
            let other = *self.page.entry(seen).or_insert(shown);
            if other != shown {
                // A closed socket's number can come back, by chance: Linux picks from about
                // 14,000 numbers per kind of socket, so with the few ports a section shows this
                // happens about once in 2,000 runs.
                return Err(format!(
                    "the page shows ports {other} and {shown} where this run had one port, {seen} \
                     (if the page is right, the OS happened to pick that number twice: run again)"
                ));
            }
        }
        Ok(())
    }
}

/// Compares lines a command really printed with the page's, up to what differs on every run.
fn same_lines(
    patterns: &Patterns,
    ports: &mut Ports,
    place: usize,
    what: &str,
    actual: &[String],
    expected: &[String],
) {
    let split = |lines: &[String]| -> (Vec<String>, Vec<Vec<u32>>) {
        lines
            .iter()
            .map(|line| ports.split(&patterns.tidy(line)))
            .unzip()
    };
    let (real, real_ports) = split(actual);
    let (page, page_ports) = split(expected);
    compare(DOC, place, what, &real, &page);
    for (index, (shown, seen)) in page_ports.iter().zip(&real_ports).enumerate() {
        if let Err(why) = ports.learn(shown, seen) {
            panic!(
                "{DOC} line {place}: {what}, its line {}: {why}\n  page: {:?}\n  real: {:?}",
                index + 1,
                expected[index],
                actual[index]
            );
        }
    }
}
