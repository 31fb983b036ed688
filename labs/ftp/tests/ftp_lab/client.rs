//! The `ftp-lab` client (`get`, `put`, `connect`) against our server and against a server
//! nobody here wrote (pyftpdlib): list, download, upload and resume, passive and active.

use std::net::SocketAddr;

use crate::util::{BIN, PASSWORD, ServerProcess, TempDir, USER, World, pattern, run_cli};

/// `ftp-lab ARGS...`; returns (exit code, stdout, stderr).
fn ftp_lab(args: &[&str]) -> (i32, String, String) {
    run_cli(BIN, args, b"")
}

/// get, resume (partial, complete, and a local file that is too long), put and a refused put,
/// against the server at `addr`, in passive and active mode.
fn get_put_resume(addr: SocketAddr, remote_dir: &str, server_root: &std::path::Path) {
    let big = pattern(3 << 20);
    std::fs::write(server_root.join("big.bin"), &big).unwrap();
    let local = TempDir::new("client");
    let reader = format!("ftp://{addr}/{remote_dir}");
    let writer = format!("ftp://{USER}:{PASSWORD}@{addr}/{remote_dir}");
    for mode in [&[][..], &["--active"][..]] {
        let label = if mode.is_empty() { "passive" } else { "active" };
        let copy = local.join(&format!("{label}.bin"));
        let copy_str = copy.to_str().unwrap();
        let with = |args: &[&str]| -> (i32, String, String) {
            let mut all = args.to_vec();
            all.extend_from_slice(mode);
            ftp_lab(&all)
        };

        let (code, out, err) = with(&["get", &format!("{reader}big.bin"), "-o", copy_str]);
        assert_eq!(code, 0, "{label} get: {out}{err}");
        assert!(
            std::fs::read(&copy).unwrap() == big,
            "{label}: download differs"
        );

        std::fs::write(&copy, &big[..10_000]).unwrap();
        let (code, out, err) = with(&[
            "get",
            &format!("{reader}big.bin"),
            "-o",
            copy_str,
            "--resume",
        ]);
        assert_eq!(code, 0, "{label} resume: {out}{err}");
        assert!(out.contains("resumed at byte 10000"), "{out}");
        assert!(
            std::fs::read(&copy).unwrap() == big,
            "{label}: resumed download differs"
        );

        let (code, out, _) = with(&[
            "get",
            &format!("{reader}big.bin"),
            "-o",
            copy_str,
            "--resume",
        ]);
        assert_eq!(code, 0);
        assert!(out.contains("already complete"), "{out}");

        std::fs::write(&copy, pattern((3 << 20) + 1)).unwrap();
        let (code, _, err) = with(&[
            "get",
            &format!("{reader}big.bin"),
            "-o",
            copy_str,
            "--resume",
        ]);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("it changed; not resuming"), "{err}");
        std::fs::write(&copy, &big).unwrap();

        let (code, out, err) = with(&["put", copy_str, &format!("{writer}up-{label}.bin")]);
        assert_eq!(code, 0, "{label} put: {out}{err}");
        assert!(std::fs::read(server_root.join(format!("up-{label}.bin"))).unwrap() == big);

        let (code, out, err) = with(&["put", copy_str, &writer]);
        assert_eq!(code, 0, "{label} put into a directory: {out}{err}");
        assert!(server_root.join(format!("{label}.bin")).exists());

        let (code, _, err) = with(&["put", copy_str, &format!("{reader}anonymous.bin")]);
        assert_eq!(code, 1, "anonymous put succeeded: {err}");
        assert!(err.contains("the server replied 5"), "{err}");
    }
}

/// Our client against our server.
#[test]
fn get_put_resume_against_our_server() {
    let world = World::start(&[]);
    get_put_resume(world.addr(), "", &world.root());
}

/// The interactive shell, driven through standard input: every command, a mistake, a refused
/// command, a switch to active mode, and quit.
#[test]
fn shell_session() {
    let world = World::start(&[]);
    let local = TempDir::new("shell");
    let notes = local.join("notes.txt");
    let script = format!(
        "ls\ncd docs\npwd\nget notes.txt {notes}\nPUT {notes} \"copy of notes.txt\"\nsize \"copy of notes.txt\"\n\
         mv \"copy of notes.txt\" moved.txt\nDIR\nrm moved.txt\nmkdir sub\nrmdir sub\nfrobnicate\ncd nowhere\nactive\nls\nbye\n",
        notes = notes.display()
    );
    let addr = world.addr().to_string();
    let (code, out, err) = run_cli(
        BIN,
        &["connect", &addr, "--user", USER, "--password", PASSWORD],
        script.as_bytes(),
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(std::fs::read(&notes).unwrap(), b"notes\n");
    assert!(
        out.contains(" docs\n") && out.contains(" hello.txt\n"),
        "{out}"
    );
    assert!(out.contains("\n/docs\n"), "{out}");
    assert!(out.contains("copy of notes.txt: 6 bytes"), "{out}");
    assert!(out.contains(" moved.txt\n"), "{out}");
    assert!(out.contains("[INFO] 257 \"/docs/sub\" created."), "{out}");
    assert!(err.contains("unknown command `frobnicate`"), "{err}");
    assert!(err.contains("CWD nowhere: the server replied 550"), "{err}");
    assert!(out.contains("[INFO] active mode"), "{out}");
    assert_eq!(
        world.names_in("docs"),
        ["notes.txt"],
        "the shell left files behind"
    );
    // The listing after `active` came through a connection the server opened.
    assert_eq!(out.matches(" notes.txt\n").count(), 2, "{out}");
}

/// `--trace` shows both channels: the dialogue with the password masked, and data events.
#[test]
fn trace_shows_both_channels() {
    let world = World::start(&[]);
    let local = TempDir::new("trace");
    let copy = local.join("hello.txt");
    let url = format!("ftp://{USER}:{PASSWORD}@{}/hello.txt", world.addr());
    let (code, out, err) = ftp_lab(&["get", &url, "-o", copy.to_str().unwrap(), "--trace"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("-> PASS ****"), "{err}");
    assert!(!err.contains(PASSWORD), "the password leaked: {err}");
    assert!(
        err.contains("<- 230 Login successful (read-write)."),
        "{err}"
    );
    assert!(err.contains("-> EPSV") && err.contains("<- 229 "), "{err}");
    assert!(err.contains("data: connecting to 127.0.0.1:"), "{err}");
    assert!(
        err.contains("data: 11 bytes received, connection closed"),
        "{err}"
    );
    assert!(err.contains("<- 226 "), "{err}");
}

/// Our client against pyftpdlib, a server nobody here wrote.
#[test]
fn get_put_resume_against_pyftpdlib() {
    let Some(python) = crate::util::python_with("get_put_resume_against_pyftpdlib", "pyftpdlib")
    else {
        return;
    };
    let served = TempDir::new("pyftpd");
    std::fs::write(served.join("hello.txt"), b"hello from pyftpdlib\n").unwrap();
    let script = crate::util::fixture("pyftpd_server.py");
    let server = ServerProcess::start(
        python.to_str().unwrap(),
        &[&script, served.path().to_str().unwrap(), USER, PASSWORD],
    );
    get_put_resume(server.addr, "", served.path());

    let (code, out, err) = run_cli(
        BIN,
        &["connect", &server.addr.to_string(), "--active"],
        b"ls\nsize hello.txt\nquit\n",
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(" hello.txt\n") && out.contains(" big.bin\n"),
        "{out}"
    );
    assert!(out.contains("hello.txt: 21 bytes"), "{out}");
}

/// A download the server refuses fails with its reply and creates no local file.
/// A download the server refuses (`550`) leaves no local file, and the error quotes the reply
/// without calling the server's correct answer a protocol error.
#[test]
fn refused_download_leaves_no_file() {
    let world = World::start(&[]);
    let local = TempDir::new("refused");
    let target = local.join("missing.txt");
    let url = format!("ftp://{}/missing.txt", world.addr());
    let (code, _, err) = ftp_lab(&["get", &url, "-o", target.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.contains("SIZE missing.txt: the server replied 550"),
        "{err}"
    );
    assert!(!err.contains("protocol error"), "{err}");
    assert!(!target.exists());
}

/// `get` into a file that exists is refused before connecting (status 2, the file untouched,
/// the message naming --resume and --force); `--force` replaces it; the two flags exclude each
/// other.
#[test]
fn get_never_replaces_a_local_file_unasked() {
    let world = World::start(&[]);
    std::fs::write(world.root().join("notes.txt"), b"server copy\n").unwrap();
    let local = TempDir::new("existing");
    let target = local.join("notes.txt");
    std::fs::write(&target, b"my own notes\n").unwrap();
    let url = format!("ftp://{}/notes.txt", world.addr());
    let target_str = target.to_str().unwrap();
    let (code, out, err) = ftp_lab(&["get", &url, "-o", target_str]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("already exists (13 B); not replacing it"),
        "{err}"
    );
    assert!(err.contains("--resume continues it"), "{err}");
    assert!(
        err.contains("--force downloads the whole file over it"),
        "{err}"
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"my own notes\n");
    let (code, _, err) = ftp_lab(&["get", &url, "-o", target_str, "--force", "--resume"]);
    assert_eq!(code, 2, "{err}");
    let (code, out, err) = ftp_lab(&["get", &url, "-o", target_str, "--force"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(std::fs::read(&target).unwrap(), b"server copy\n");
}

/// The shell's output closed (`ftp-lab connect ... | head -0`): `ls` ends the shell quietly with
/// status 0, not with a panic.
#[test]
fn shell_with_closed_output_ends_quietly() {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let world = World::start(&[]);
    let mut shell = Command::new(BIN)
        .args(["connect", &world.addr().to_string()])
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(shell.stdout.take());
    let mut stdin = shell.stdin.take().unwrap();
    let _ = stdin.write_all(b"ls\nls\npwd\n");
    drop(stdin);
    let output = shell.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
