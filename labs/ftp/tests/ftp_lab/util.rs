//! Helpers shared by the ftp-lab integration tests: a served directory in a fresh temp dir, the
//! real `ftp-lab serve` binary on 127.0.0.1 port 0, and a raw FTP client over real sockets that
//! checks exact reply codes.
//!
//! Tests synchronize on events (a reply read, a line the server prints), never on sleeps. Every
//! socket has a read timeout so a broken server fails a test instead of hanging it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;

pub use netlab_testkit::{PATIENCE, ServerProcess, TempDir, find_program, run_cli, skip};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_ftp-lab");

/// The account with write access every test server has.
pub const USER: &str = "alice";
/// Its password.
pub const PASSWORD: &str = "s3cret";

/// A test world: `base/root` is served; `base/outside` holds a secret the server must never
/// reveal.
pub struct World {
    pub base: TempDir,
    pub server: ServerProcess,
}

impl World {
    /// Serves a fresh root with `hello.txt` and `docs/notes.txt`, plus `ARGS`.
    pub fn start(args: &[&str]) -> World {
        let base = TempDir::new("world");
        std::fs::create_dir_all(base.join("root/docs")).unwrap();
        std::fs::create_dir_all(base.join("outside")).unwrap();
        std::fs::write(base.join("root/hello.txt"), b"hello, ftp\n").unwrap();
        std::fs::write(base.join("root/docs/notes.txt"), b"notes\n").unwrap();
        std::fs::write(base.join("outside/secret.txt"), b"TOP SECRET\n").unwrap();
        let server = start_server(&base.join("root"), args);
        World { base, server }
    }

    pub fn root(&self) -> PathBuf {
        self.base.join("root")
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// A logged-in raw client (anonymous).
    pub fn anonymous(&self) -> Ftp {
        let mut ftp = Ftp::connect(self.addr());
        ftp.login("anonymous", "test@example.org");
        ftp
    }

    /// A logged-in raw client with write access.
    pub fn writer(&self) -> Ftp {
        let mut ftp = Ftp::connect(self.addr());
        ftp.login(USER, PASSWORD);
        ftp
    }

    /// The names in a directory of the real root (to check for leftovers).
    pub fn names_in(&self, dir: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.root().join(dir))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

/// `ftp-lab serve --port 0 --root ROOT --user alice:s3cret ARGS...`.
pub fn start_server(root: &Path, args: &[&str]) -> ServerProcess {
    let root = root.to_str().unwrap();
    let account = format!("{USER}:{PASSWORD}");
    let mut all = vec!["serve", "--port", "0", "--root", root, "--user", &account];
    all.extend_from_slice(args);
    ServerProcess::start(BIN, &all)
}

/// A raw FTP client: sends exact lines, reads exact replies.
pub struct Ftp {
    pub stream: TcpStream,
    reader: BufReader<TcpStream>,
    /// Every reply line received, for failure messages.
    pub heard: Vec<String>,
}

impl Ftp {
    /// Connects and reads the `220` greeting.
    pub fn connect(addr: SocketAddr) -> Ftp {
        let mut ftp = Ftp::connect_raw(addr);
        let (code, text) = ftp.reply();
        assert_eq!(code, 220, "greeting: {text}");
        ftp
    }

    /// Connects without reading anything.
    pub fn connect_raw(addr: SocketAddr) -> Ftp {
        let stream = TcpStream::connect(addr).expect("connect to the server");
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        stream.set_write_timeout(Some(PATIENCE)).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        Ftp {
            stream,
            reader,
            heard: Vec::new(),
        }
    }

    pub fn send(&mut self, line: &str) {
        self.stream
            .write_all(format!("{line}\r\n").as_bytes())
            .unwrap();
    }

    /// One reply: its code and its text (lines joined with `\n`, codes stripped from the first
    /// and last line). Multi-line replies are read to their end.
    pub fn reply(&mut self) -> (u16, String) {
        let first = self.line();
        let code: u16 = first
            .get(..3)
            .and_then(|digits| digits.parse().ok())
            .unwrap_or_else(|| panic!("not a reply: {first:?}; heard {:#?}", self.heard));
        let mut text = first[4.min(first.len())..].to_string();
        if first.as_bytes().get(3) == Some(&b'-') {
            loop {
                let line = self.line();
                if line.starts_with(&format!("{code} ")) {
                    text.push('\n');
                    text.push_str(&line[4..]);
                    break;
                }
                text.push('\n');
                text.push_str(&line);
            }
        }
        (code, text)
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => panic!("server closed the connection; heard {:#?}", self.heard),
            Ok(_) => {}
            Err(err) => panic!("read failed ({err}); heard {:#?}", self.heard),
        }
        assert!(line.ends_with("\r\n"), "reply line without CRLF: {line:?}");
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        self.heard.push(line.clone());
        line
    }

    /// Sends a command and returns its reply.
    pub fn cmd(&mut self, line: &str) -> (u16, String) {
        self.send(line);
        self.reply()
    }

    /// Sends a command, asserts the reply code, returns the text.
    pub fn expect(&mut self, line: &str, code: u16) -> String {
        let (got, text) = self.cmd(line);
        assert_eq!(got, code, "{line} -> {got} {text}");
        text
    }

    pub fn login(&mut self, user: &str, password: &str) {
        self.expect(&format!("USER {user}"), 331);
        self.expect(&format!("PASS {password}"), 230);
    }

    /// EPSV, and a connection to the announced port.
    pub fn passive(&mut self) -> TcpStream {
        let text = self.expect("EPSV", 229);
        let port: u16 = text
            .split('|')
            .nth(3)
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("no port in {text:?}"));
        let data = TcpStream::connect((self.stream.peer_addr().unwrap().ip(), port)).unwrap();
        data.set_read_timeout(Some(PATIENCE)).unwrap();
        data
    }

    /// Downloads `path` in passive mode; asserts 150 and 226.
    pub fn retr(&mut self, path: &str) -> Vec<u8> {
        let mut data = self.passive();
        self.expect(&format!("RETR {path}"), 150);
        let mut bytes = Vec::new();
        data.read_to_end(&mut bytes).unwrap();
        let (code, text) = self.reply();
        assert_eq!(code, 226, "after RETR: {text}");
        bytes
    }

    /// Uploads `bytes` to `path` in passive mode; asserts 150 and 226.
    pub fn stor(&mut self, path: &str, bytes: &[u8]) {
        let mut data = self.passive();
        self.expect(&format!("STOR {path}"), 150);
        data.write_all(bytes).unwrap();
        drop(data);
        let (code, text) = self.reply();
        assert_eq!(code, 226, "after STOR: {text}");
    }

    /// A listing command (LIST, NLST, MLSD) in passive mode, as text.
    pub fn listing(&mut self, line: &str) -> String {
        let mut data = self.passive();
        self.expect(line, 150);
        let mut text = String::new();
        data.read_to_string(&mut text).unwrap();
        assert_eq!(self.reply().0, 226);
        text
    }

    /// The server closed the control connection (after whatever was already read).
    pub fn expect_closed(&mut self) {
        let mut rest = String::new();
        match self.reader.read_line(&mut rest) {
            Ok(0) => {}
            Ok(_) => panic!("expected a close, got {rest:?}"),
            Err(err) if err.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(err) => panic!("expected a close, got {err}"),
        }
    }
}

/// A Python 3 interpreter that can `import module`, or `None` (after a visible SKIPPED line).
pub fn python_with(test: &str, module: &str) -> Option<PathBuf> {
    let Some(python) = find_program("python3") else {
        skip(test, "python3 is not installed");
        return None;
    };
    let works = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .output()
        .map(|output| output.status.success())
        .unwrap_or(false);
    // The package that installs the module, where its name differs.
    let package = match module {
        "OpenSSL" => "pyopenssl",
        other => other,
    };
    if works {
        Some(python)
    } else {
        skip(
            test,
            &format!("python3 cannot import {module} (pip install {package})"),
        );
        None
    }
}

/// A fixture script's path.
pub fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// `count` bytes of a repeating, position-dependent pattern (so a shifted copy differs).
pub fn pattern(count: usize) -> Vec<u8> {
    (0..count).map(|index| (index % 251) as u8).collect()
}

/// pyftpdlib's TLS server (`tests/fixtures/pyftpd_tls_server.py`: a third-party FTPS server)
/// serving `served` with `user`:`password`, its certificate in `work`, with the fixture's extra
/// `flags`; `None`, with a visible SKIPPED line, when python3, pyftpdlib or pyOpenSSL is missing.
pub fn start_pyftpd_tls(
    test: &str,
    served: &Path,
    work: &Path,
    (user, password): (&str, &str),
    flags: &[&str],
) -> Option<netlab_testkit::ServerProcess> {
    let python = python_with(test, "pyftpdlib")?;
    python_with(test, "OpenSSL")?;
    let script = fixture("pyftpd_tls_server.py");
    let mut args = vec![
        script.as_str(),
        served.to_str().unwrap_or_default(),
        user,
        password,
        work.to_str().unwrap_or_default(),
    ];
    args.extend_from_slice(flags);
    Some(netlab_testkit::ServerProcess::start(
        python.to_str().unwrap_or_default(),
        &args,
    ))
}

/// Runs curl with `args`; returns (exit code, stdout bytes, stderr text).
pub fn curl(args: &[&str]) -> (i32, Vec<u8>, String) {
    let output = Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "20"])
        .args(args)
        .output()
        .expect("run curl");
    (
        output.status.code().unwrap_or(-1),
        output.stdout,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
