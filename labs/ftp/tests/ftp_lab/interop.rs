//! Clients nobody here wrote against `ftp-lab serve`: curl and Python's ftplib, in passive and
//! active mode. If our server only worked with our client, it would not be speaking FTP. Each
//! test skips visibly (a `SKIPPED` line) when the tool is missing; `.ci/run` installs them.

use std::path::Path;

use crate::util::{PASSWORD, TempDir, USER, World, curl, find_program, pattern, run_cli, skip};

/// curl's flags for each way of opening the data connection.
const CURL_MODES: [(&str, &[&str]); 4] = [
    ("EPSV", &[]),
    ("PASV", &["--disable-epsv"]),
    ("EPRT", &["-P", "-"]),
    ("PORT", &["-P", "-", "--disable-eprt"]),
];

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// curl lists (LIST and NLST), downloads, uploads, resumes a download (`-C -`) and resumes an
/// upload (`-C - -T`, which uses SIZE and APPE), in all four data connection modes.
#[test]
fn curl_in_every_mode() {
    if find_program("curl").is_none() {
        skip("curl_in_every_mode", "curl is not installed");
        return;
    }
    let world = World::start(&[]);
    let big = pattern(2 << 20);
    std::fs::write(world.root().join("big.bin"), &big).unwrap();
    let local = TempDir::new("curl");
    let base = format!("ftp://{}", world.addr());
    let writer = format!("ftp://{USER}:{PASSWORD}@{}", world.addr());
    for (mode, flags) in CURL_MODES {
        let with = |extra: &[&str]| -> Vec<String> {
            flags
                .iter()
                .chain(extra)
                .map(|arg| arg.to_string())
                .collect()
        };
        let run = |extra: &[&str]| {
            let args = with(extra);
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            curl(&refs)
        };

        let (code, listing, err) = run(&[&format!("{base}/")]);
        assert_eq!(code, 0, "{mode} LIST: {err}");
        // curl turns the CRLF line ends of an ASCII listing into local ones.
        let listing = String::from_utf8(listing).unwrap().replace("\r\n", "\n");
        let line_of = |name: &str| {
            listing
                .lines()
                .find(|line| line.ends_with(&format!(" {name}")))
                .unwrap_or_else(|| panic!("{mode}: no {name} in {listing}"))
                .to_string()
        };
        assert!(
            line_of("big.bin").starts_with("-rw-r--r-- 1 ftp ftp      2097152 "),
            "{mode}: {listing}"
        );
        assert!(line_of("docs").starts_with('d'), "{mode}: {listing}");
        assert!(line_of("hello.txt").contains(" 11 "), "{mode}: {listing}");

        let (code, names, err) = run(&["--list-only", &format!("{base}/docs/")]);
        let names = String::from_utf8(names).unwrap().replace("\r\n", "\n");
        assert_eq!(
            (code, names.as_str()),
            (0, "notes.txt\n"),
            "{mode} NLST: {err}"
        );

        let target = local.join(&format!("{mode}.bin"));
        let (code, _, err) = run(&["-o", path_str(&target), &format!("{base}/big.bin")]);
        assert_eq!(code, 0, "{mode} download: {err}");
        assert!(
            std::fs::read(&target).unwrap() == big,
            "{mode} download differs"
        );

        std::fs::write(&target, &big[..12_345]).unwrap();
        let (code, _, err) = run(&[
            "-C",
            "-",
            "-o",
            path_str(&target),
            &format!("{base}/big.bin"),
        ]);
        assert_eq!(code, 0, "{mode} resume: {err}");
        assert!(
            std::fs::read(&target).unwrap() == big,
            "{mode} resumed download differs"
        );

        let upload = format!("up-{mode}.bin");
        let (code, _, err) = run(&["-T", path_str(&target), &format!("{writer}/{upload}")]);
        assert_eq!(code, 0, "{mode} upload: {err}");
        assert!(
            std::fs::read(world.root().join(&upload)).unwrap() == big,
            "{mode} upload differs"
        );

        std::fs::write(world.root().join(&upload), &big[..100_000]).unwrap();
        let (code, _, err) = run(&[
            "-C",
            "-",
            "-T",
            path_str(&target),
            &format!("{writer}/{upload}"),
        ]);
        assert_eq!(code, 0, "{mode} upload resume: {err}");
        assert!(
            std::fs::read(world.root().join(&upload)).unwrap() == big,
            "{mode} resumed upload differs"
        );

        let (code, _, _) = run(&["-T", path_str(&target), &format!("{base}/anonymous.bin")]);
        assert_ne!(code, 0, "{mode}: anonymous upload succeeded");
        assert!(!world.root().join("anonymous.bin").exists());
    }
}

/// Python's ftplib: login, nlst, mlsd, retrbinary, storbinary, size, rename, REST, delete, in
/// passive and active mode (tests/fixtures/ftplib_client.py).
#[test]
fn python_ftplib_in_both_modes() {
    let Some(python) = crate::util::python_with("python_ftplib_in_both_modes", "ftplib") else {
        return;
    };
    let world = World::start(&[]);
    let port = world.addr().port().to_string();
    for mode in ["passive", "active"] {
        let script = crate::util::fixture("ftplib_client.py");
        let (code, out, err) = run_cli(
            python.to_str().unwrap(),
            &[&script, "127.0.0.1", &port, USER, PASSWORD, mode],
            b"",
        );
        assert_eq!(code, 0, "{mode}: {out}\n{err}");
        let expected = "nlst docs,hello.txt\n\
                        mlsd docs:dir:4096,hello.txt:file:11\n\
                        retr hello, ftp\n\
                        size 1048576\n\
                        roundtrip True\n\
                        rest True\n\
                        after delete docs,hello.txt\n\
                        done\n";
        let docs_size = std::fs::metadata(world.root().join("docs")).unwrap().len();
        let expected = expected.replace("docs:dir:4096", &format!("docs:dir:{docs_size}"));
        assert_eq!(out, expected, "{mode}: {err}");
    }
}

/// A real client process killed (SIGKILL) in the middle of STOR: the old file survives and no
/// partial file appears, and the server goes on.
#[cfg(unix)]
#[test]
fn killed_ftplib_upload_keeps_the_old_file() {
    let Some(python) =
        crate::util::python_with("killed_ftplib_upload_keeps_the_old_file", "ftplib")
    else {
        return;
    };
    let mut world = World::start(&[]);
    std::fs::write(world.root().join("keep.txt"), b"old content").unwrap();
    let port = world.addr().port().to_string();
    let script = crate::util::fixture("ftplib_killed_upload.py");
    let (code, out, err) = run_cli(
        python.to_str().unwrap(),
        &[&script, "127.0.0.1", &port, USER, PASSWORD, "keep.txt"],
        b"",
    );
    assert_eq!(code, -1, "the uploader was not killed: {out}\n{err}");
    world
        .server
        .wait_for(|line| line.contains("STOR /keep.txt failed") && line.contains("discarded"));
    assert_eq!(
        std::fs::read(world.root().join("keep.txt")).unwrap(),
        b"old content"
    );
    assert_eq!(world.names_in(""), ["docs", "hello.txt", "keep.txt"]);
    let mut ftp = world.anonymous();
    assert_eq!(ftp.retr("keep.txt"), b"old content");
}

/// Issue 23 item 6: ftplib's `abort()` (ABOR sent as TCP urgent data, MSG_OOB) during a RETR
/// the client stopped reading and during a STOR it stopped sending: each transfer ends with 426,
/// ABOR with 226, and NOOP and PWD are then answered in step; the old file survives.
#[test]
fn ftplib_abort_keeps_the_control_connection_in_step() {
    let Some(python) = crate::util::python_with(
        "ftplib_abort_keeps_the_control_connection_in_step",
        "ftplib",
    ) else {
        return;
    };
    let world = World::start(&[]);
    std::fs::write(world.root().join("large.bin"), pattern(64 << 20)).unwrap();
    std::fs::write(world.root().join("keep.txt"), b"old content").unwrap();
    let port = world.addr().port().to_string();
    let script = crate::util::fixture("ftplib_abort.py");
    let (code, out, err) = run_cli(
        python.to_str().unwrap(),
        &[&script, "127.0.0.1", &port, USER, PASSWORD],
        b"",
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(
        out,
        "RETR abort 426\nRETR then 226\nRETR noop 200\nRETR pwd /\n\
         STOR abort 426\nSTOR then 226\nSTOR noop 200\nSTOR pwd /\ndone\n",
        "{err}"
    );
    assert_eq!(
        std::fs::read(world.root().join("keep.txt")).unwrap(),
        b"old content"
    );
    assert_eq!(
        world.names_in(""),
        ["docs", "hello.txt", "keep.txt", "large.bin"]
    );
}
