//! Explicit FTPS (RFC 4217) on `ftp-lab serve`: clients nobody here wrote (curl, Python's
//! `ftplib.FTP_TLS`) over TLS, `--require-tls`, and hostile or careless peers: garbage instead
//! of a ClientHello, plaintext injected after `AUTH TLS`, an upload cut without `close_notify`,
//! `ABOR` sent inside TLS during a transfer. Then our client (`--tls`, `ftps://`) against our
//! server and against pyftpdlib's TLS handler, and its certificate checks. Tests that need a
//! tool skip visibly (a `SKIPPED` line) when it is missing; `.ci/run` installs them.

use std::io::{BufRead, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use ftp_lab::tls::{Trust, client_config};
use rustls::pki_types::ServerName;
use rustls::{ClientConnection, StreamOwned};

use crate::util::{
    BIN, Ftp, PASSWORD, PATIENCE, TempDir, USER, World, curl, find_program, pattern, run_cli, skip,
};

/// curl's major version (`curl 7.88.1 ...` is 7).
fn curl_major() -> u32 {
    let output = Command::new("curl").arg("--version").output().unwrap();
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .nth(1)
        .and_then(|version| version.split('.').next()?.parse().ok())
        .unwrap_or(0)
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A server with `--trace` and `--tls-cert-out`; returns the world and the certificate file.
fn traced_world(base: &TempDir, extra: &[&str]) -> (World, String) {
    let ca = path_str(&base.join("ca.pem")).to_string();
    let mut args = vec!["--trace", "--tls-cert-out", &ca];
    args.extend_from_slice(extra);
    let mut world = World::start(&args);
    let line = world
        .server
        .wait_for(|line| line.contains("TLS certificate SHA-256 "));
    let fingerprint = line.rsplit(' ').next().unwrap();
    assert_eq!(fingerprint.len(), 95, "{line}");
    (world, ca)
}

/// curl `--ssl-reqd` trusting the lab's certificate (`--cacert`) and trusting anything
/// (`--insecure`), in EPSV and PASV mode (and EPRT where curl supports it): LIST, a download
/// and an upload byte-exact, every data connection protected (the server's trace shows a TLS
/// handshake on each), the control connection too (`[tls]` lines).
#[test]
fn curl_over_tls() {
    if find_program("curl").is_none() {
        skip("curl_over_tls", "curl is not installed");
        return;
    }
    let base = TempDir::new("ftps-curl");
    let (mut world, ca) = traced_world(&base, &[]);
    let big = pattern(2 << 20);
    std::fs::write(world.root().join("big.bin"), &big).unwrap();
    let url = format!("ftp://{USER}:{PASSWORD}@127.0.0.1:{}", world.addr().port());
    let mut modes: Vec<(&str, Vec<&str>)> = vec![
        ("EPSV --cacert", vec!["--cacert", &ca]),
        ("PASV --insecure", vec!["--insecure", "--disable-epsv"]),
    ];
    // curl before 8.0 accepts an active data connection and never starts TLS on it (fixed in
    // curl 8.0.0, "ftp: active mode with SSL, add the filter").
    if curl_major() >= 8 {
        modes.push(("EPRT --cacert", vec!["--cacert", &ca, "-P", "-"]));
    } else {
        skip(
            "curl_over_tls (active mode)",
            "curl < 8.0 hangs in active FTPS",
        );
    }
    let mut data_connections = 0;
    for (mode, flags) in modes {
        let run = |extra: &[&str]| {
            let mut args = vec!["--ssl-reqd"];
            args.extend_from_slice(&flags);
            args.extend_from_slice(extra);
            curl(&args)
        };
        let (code, listing, err) = run(&[&format!("{url}/")]);
        assert_eq!(code, 0, "{mode} LIST: {err}");
        let listing = String::from_utf8(listing).unwrap();
        assert!(listing.contains(" 2097152 "), "{mode}: {listing}");
        assert!(listing.contains(" hello.txt"), "{mode}: {listing}");

        let target = base.join("got.bin");
        let (code, _, err) = run(&["-o", path_str(&target), &format!("{url}/big.bin")]);
        assert_eq!(code, 0, "{mode} download: {err}");
        assert!(std::fs::read(&target).unwrap() == big, "{mode} download");

        let name = format!("up-{}.bin", mode.split(' ').next().unwrap());
        let (code, _, err) = run(&["-T", path_str(&target), &format!("{url}/{name}")]);
        assert_eq!(code, 0, "{mode} upload: {err}");
        assert!(
            std::fs::read(world.root().join(&name)).unwrap() == big,
            "{mode} upload"
        );
        data_connections += 3;
    }
    world.server.wait_for_count(data_connections, |line| {
        line.contains("data: TLS handshake done")
    });
    let seen = &world.server.seen;
    assert!(
        seen.iter().any(|line| line.contains("[tls] <- PASS ****")),
        "{seen:#?}"
    );
    assert!(
        !world
            .server
            .seen
            .iter()
            .any(|line| line.contains("] <- PASS") && !line.contains("[tls]")),
        "a PASS went in the clear: {:#?}",
        world.server.seen
    );
}

/// Python's `ftplib.FTP_TLS` checking the lab's certificate: `prot_p()`, NLST, LIST,
/// retrbinary and storbinary byte-exact, in passive and active mode
/// (tests/fixtures/ftplib_tls_client.py).
#[test]
fn python_ftplib_tls_in_both_modes() {
    let Some(python) = crate::util::python_with("python_ftplib_tls_in_both_modes", "ssl") else {
        return;
    };
    let base = TempDir::new("ftps-ftplib");
    let (world, ca) = traced_world(&base, &[]);
    let port = world.addr().port().to_string();
    for mode in ["passive", "active"] {
        let script = crate::util::fixture("ftplib_tls_client.py");
        let (code, out, err) = run_cli(
            python.to_str().unwrap(),
            &[&script, "127.0.0.1", &port, USER, PASSWORD, mode, &ca],
            b"",
        );
        assert_eq!(code, 0, "{mode}: {out}\n{err}");
        let expected = "control SSLSocket\n\
                        prot 200 Protection level P: data connections use TLS.\n\
                        nlst docs,hello.txt\n\
                        list 2\n\
                        retr hello, ftp\n\
                        stor 226 Transfer complete (1048576 bytes).\n\
                        size 1048576\n\
                        roundtrip True\n\
                        done\n";
        assert_eq!(out, expected, "{mode}: {err}");
    }
}

/// `--require-tls`: USER and PASS on a clear control connection get 534 naming AUTH TLS, even
/// with the right password, and the account is not tried: no login or failed-login line in the
/// server's log, and five wrong passwords do not trip the three-failures limit (which would
/// close the connection with 421). Over TLS the same account then logs in.
#[test]
fn require_tls_refuses_clear_logins_untried() {
    let base = TempDir::new("ftps-require");
    let (mut world, _ca) = traced_world(&base, &["--require-tls"]);
    let mut ftp = Ftp::connect(world.addr());
    let refusal = ftp.expect(&format!("USER {USER}"), 534);
    assert!(refusal.contains("AUTH TLS"), "{refusal}");
    ftp.expect(&format!("PASS {PASSWORD}"), 534);
    for _ in 0..5 {
        ftp.expect("USER alice", 534);
        ftp.expect("PASS wrong", 534);
    }
    ftp.expect("NOOP", 200);
    let mut secure = Secure::start(world.addr());
    secure.login();
    world
        .server
        .wait_for(|line| line.contains(&format!("logged in as {USER}")));
    let before: Vec<&String> = world
        .server
        .seen
        .iter()
        .take_while(|line| !line.contains("logged in as"))
        .collect();
    assert!(
        !before.iter().any(|line| line.contains("failed login")),
        "{before:#?}"
    );
    assert!(
        before
            .iter()
            .any(|line| line.contains("refused on a clear control connection")),
        "{before:#?}"
    );
}

/// `--require-tls` protects the files too: over a protected control connection, `RETR` with
/// clear data connections (no `PROT P` yet) gets 521 naming `PROT P` and the server never
/// accepts the data connection the client already opened to its passive port; `PROT C` gets
/// 534; after `PROT P` the download works, over one accepted, protected data connection.
#[test]
fn require_tls_refuses_clear_data_connections() {
    let base = TempDir::new("ftps-require-data");
    let (mut world, _ca) = traced_world(&base, &["--require-tls"]);
    let mut secure = Secure::start(world.addr());
    secure.login();
    assert_eq!(secure.cmd("PBSZ 0").0, 200);
    let (code, text) = secure.cmd("EPSV");
    assert_eq!(code, 229, "{text}");
    let port: u16 = text.split('|').nth(3).unwrap().parse().unwrap();
    let _waiting = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (code, text) = secure.cmd("RETR hello.txt");
    assert_eq!(code, 521, "{text}");
    assert!(text.contains("PROT P"), "{text}");
    let (code, text) = secure.cmd("PROT C");
    assert_eq!(code, 534, "{text}");
    assert_eq!(secure.cmd("PROT P").0, 200);
    let mut data = secure.data("RETR hello.txt");
    let mut got = Vec::new();
    data.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"hello, ftp\n");
    assert_eq!(secure.reply().0, 226);
    world
        .server
        .wait_for(|line| line.contains("data: TLS handshake done"));
    let seen = &world.server.seen;
    let accepted = seen
        .iter()
        .filter(|line| line.contains("data: accepted connection"))
        .count();
    assert_eq!(accepted, 1, "{seen:#?}");
    assert!(
        seen.iter()
            .any(|line| line.contains("[WARN]") && line.contains("RETR refused")),
        "{seen:#?}"
    );
}

/// curl's `--ftp-ssl-control` (TLS for the login, `PROT C` for the files) against
/// `--require-tls`: curl carries on after the 534 to `PROT C`, and its download is refused with
/// 521, so no byte of the file crosses the network in the clear.
#[test]
fn require_tls_refuses_curl_clear_data() {
    if find_program("curl").is_none() {
        skip(
            "require_tls_refuses_curl_clear_data",
            "curl is not installed",
        );
        return;
    }
    let base = TempDir::new("ftps-require-curl");
    let (world, ca) = traced_world(&base, &["--require-tls"]);
    let url = format!(
        "ftp://{USER}:{PASSWORD}@127.0.0.1:{}/hello.txt",
        world.addr().port()
    );
    let (code, got, err) = curl(&["--ftp-ssl-control", "--cacert", &ca, &url]);
    assert_ne!(code, 0, "curl downloaded {got:?} in the clear");
    assert!(got.is_empty(), "{got:?}");
    assert!(err.contains("521"), "{err}");
    let (code, got, err) = curl(&["--ssl-reqd", "--cacert", &ca, &url]);
    assert_eq!((code, got.as_slice()), (0, &b"hello, ftp\n"[..]), "{err}");
}

/// PBSZ and PROT before AUTH TLS are 503 (bad sequence), AUTH SSL is 504, and the connection
/// goes on in the clear.
#[test]
fn protection_before_auth_is_refused() {
    let world = World::start(&[]);
    let mut ftp = Ftp::connect(world.addr());
    ftp.expect("PROT P", 503);
    ftp.expect("PBSZ 0", 503);
    ftp.expect("AUTH SSL", 504);
    ftp.login("anonymous", "me@example.org");
    assert_eq!(ftp.retr("hello.txt"), b"hello, ftp\n");
}

/// Garbage instead of a ClientHello after 234: that connection is closed, the server logs why,
/// and the next client is served.
#[test]
fn garbage_instead_of_a_client_hello() {
    let mut world = World::start(&[]);
    let mut ftp = Ftp::connect(world.addr());
    ftp.expect("AUTH TLS", 234);
    ftp.stream
        .write_all(b"GET / HTTP/1.1\r\nHost: example.org\r\n\r\n")
        .unwrap();
    // At most a TLS alert comes back, then the end of the connection.
    let mut rest = Vec::new();
    let _ = ftp.stream.read_to_end(&mut rest);
    assert!(rest.len() < 64, "{rest:?}");
    world
        .server
        .wait_for(|line| line.contains("TLS handshake on the control connection failed"));
    let mut next = Ftp::connect(world.addr());
    next.login("anonymous", "me@example.org");
    next.expect("NOOP", 200);
}

/// Commands pipelined in the clear right after AUTH TLS (which anyone on the path could have
/// injected) are thrown away, not run once TLS is up: the first reply under TLS is for our
/// NOOP, not a 331 for the injected USER.
#[test]
fn plaintext_after_auth_tls_is_discarded() {
    let mut world = World::start(&[]);
    let mut ftp = Ftp::connect(world.addr());
    ftp.stream
        .write_all(b"AUTH TLS\r\nUSER injected\r\n")
        .unwrap();
    let mut secure = Secure::after_auth(ftp);
    assert_eq!(secure.cmd("NOOP").0, 200);
    world
        .server
        .wait_for(|line| line.contains("discarded 15 bytes sent in the clear after AUTH TLS"));
}

/// A protected upload whose TCP connection ends without TLS's close_notify is answered 426 and
/// leaves no file (it may have been cut short); the same upload ended with close_notify is
/// 226 and whole.
#[test]
fn upload_without_close_notify_is_discarded() {
    let world = World::start(&[]);
    let mut secure = Secure::start(world.addr());
    secure.login();
    secure.protect_data();
    let bytes = pattern(300_000);

    let mut data = secure.data("STOR cut.bin");
    data.write_all(&bytes).unwrap();
    data.flush().unwrap();
    data.sock.shutdown(std::net::Shutdown::Write).unwrap(); // TCP FIN, no close_notify
    let (code, text) = secure.reply();
    assert_eq!(code, 426, "{text}");
    assert!(text.contains("close_notify"), "{text}");
    assert_eq!(world.names_in(""), ["docs", "hello.txt"]);
    drop(data);

    let mut data = secure.data("STOR whole.bin");
    data.write_all(&bytes).unwrap();
    data.conn.send_close_notify();
    data.flush().unwrap();
    let mut rest = Vec::new();
    data.read_to_end(&mut rest).unwrap(); // until the server's own close_notify
    drop(data);
    assert_eq!(secure.reply().0, 226);
    assert!(std::fs::read(world.root().join("whole.bin")).unwrap() == bytes);
}

/// ABOR sent inside TLS while a protected RETR is stuck (the client reads nothing) is seen by
/// the server through the TLS session: 426 for the transfer, 226 for ABOR, and the control
/// connection stays in step.
#[test]
fn abor_inside_tls_stops_a_stuck_download() {
    let world = World::start(&[]);
    std::fs::write(world.root().join("large.bin"), pattern(64 << 20)).unwrap();
    let mut secure = Secure::start(world.addr());
    secure.login();
    secure.protect_data();
    let data = secure.data("RETR large.bin");
    secure.send("ABOR");
    assert_eq!(secure.reply().0, 426);
    assert_eq!(secure.reply().0, 226);
    drop(data);
    assert_eq!(secure.cmd("PWD").0, 257);
}

/// `ftp-lab get` and `put` against the server at `addr` (`ftp://` URLs with `--tls`), with
/// `trust` (the flags that say how to check the certificate), in passive and active mode:
/// byte-exact both ways. `server_root` is where the server keeps its files.
fn client_get_put(addr: SocketAddr, trust: &[&str], server_root: &Path, local: &TempDir) {
    let big = pattern(3 << 20);
    std::fs::write(local.join("big.bin"), &big).unwrap();
    let url = format!("ftp://{USER}:{PASSWORD}@{addr}");
    for mode in [&[][..], &["--active"][..]] {
        let label = if mode.is_empty() { "passive" } else { "active" };
        let mut common = vec!["--tls"];
        common.extend_from_slice(trust);
        common.extend_from_slice(mode);
        let name = format!("{label}.bin");
        let source = local.join("big.bin");
        let target = format!("{url}/{name}");
        let mut put = vec!["put", path_str(&source), &target];
        put.extend_from_slice(&common);
        let (code, out, err) = run_cli(BIN, &put, b"");
        assert_eq!(code, 0, "{label} put: {out}{err}");
        assert!(
            std::fs::read(server_root.join(&name)).unwrap() == big,
            "{label} put"
        );

        let copy = local.join(&format!("back-{name}"));
        let mut get = vec!["get", &target, "-o", path_str(&copy)];
        get.extend_from_slice(&common);
        let (code, out, err) = run_cli(BIN, &get, b"");
        assert_eq!(code, 0, "{label} get: {out}{err}");
        assert!(std::fs::read(&copy).unwrap() == big, "{label} get");
    }
}

/// Our client over TLS against our server: `put`/`get` byte-exact trusting the lab's CA
/// (`--tls-ca`), passive and active, and the shell (an `ftps://` URL, `--tls-fingerprint`)
/// says the session is protected; the server saw the password only inside TLS and a TLS
/// handshake on every data connection.
#[test]
fn our_client_over_tls_against_our_server() {
    let base = TempDir::new("ftps-client");
    let (mut world, ca) = traced_world(&base, &[]);
    let local = TempDir::new("ftps-client-local");
    client_get_put(world.addr(), &["--tls-ca", &ca], &world.root(), &local);
    world
        .server
        .wait_for_count(4, |line| line.contains("data: TLS handshake done"));

    let fingerprint = world
        .server
        .seen
        .iter()
        .find_map(|line| line.split("TLS certificate SHA-256 ").nth(1))
        .unwrap()
        .to_string();
    let url = format!("ftps://{USER}:{PASSWORD}@{}/", world.addr());
    let (code, out, err) = run_cli(
        BIN,
        &["connect", &url, "--tls-fingerprint", &fingerprint],
        b"ls\nquit\n",
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("TLS on the control and data connections"),
        "{out}"
    );
    assert!(out.contains(" passive.bin"), "{out}");
    world
        .server
        .wait_for(|line| line.contains("data: TLS handshake done"));
    let seen = &world.server.seen;
    assert!(
        !seen
            .iter()
            .any(|line| line.contains("] <- PASS") && !line.contains("[tls]")),
        "a PASS went in the clear: {seen:#?}"
    );
}

/// A certificate the client was not told to trust ends the session before USER, with exit
/// status 2 and a message: no trust flag at all (the three flags named), a wrong
/// `--tls-fingerprint`, a `--tls-ca` of another CA (these two warn of a man in the middle and do
/// not offer `--insecure`). `--insecure` connects, with a warning; a
/// trust flag without `--tls` is a usage error.
#[test]
fn untrusted_certificates_are_refused() {
    let base = TempDir::new("ftps-trust");
    let (mut world, _ca) = traced_world(&base, &[]);
    let other = TempDir::new("ftps-other-ca");
    let other_ca = path_str(&other.join("other.pem")).to_string();
    let mut elsewhere = World::start(&["--tls-cert-out", &other_ca]);
    elsewhere
        .server
        .wait_for(|line| line.contains("TLS certificate"));
    let wrong = ["AB"; 32].join(":");
    let target = local_target(&base, "refused.txt");
    let url = format!("ftps://{USER}:{PASSWORD}@{}/hello.txt", world.addr());
    for (flags, words) in [
        (vec![], "no certificate is trusted unless you say which"),
        (
            vec!["--tls-fingerprint", &wrong],
            "not the --tls-fingerprint given",
        ),
        (vec!["--tls-ca", &other_ca], "invalid peer certificate"),
    ] {
        let mut args = vec!["get", &url, "-o", &target];
        args.extend_from_slice(&flags);
        let (code, out, err) = run_cli(BIN, &args, b"");
        assert_eq!(code, 2, "{flags:?}: {out}{err}");
        assert!(err.contains(words), "{flags:?}: {err}");
        if flags.is_empty() {
            // Nothing trusted yet: the three ways to trust a certificate.
            for flag in ["--tls-ca FILE", "--tls-fingerprint SHA256", "--insecure"] {
                assert!(err.contains(flag), "{flags:?}: {err}");
            }
        } else {
            // A certificate was named and this is another: a warning, never --insecure.
            assert!(err.contains("someone in the middle"), "{flags:?}: {err}");
            assert!(!err.contains("--insecure"), "{flags:?}: {err}");
        }
        assert!(!Path::new(&target).exists(), "{flags:?}");
    }
    let (code, out, err) = run_cli(BIN, &["get", &url, "-o", &target, "--insecure"], b"");
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("[WARN] --insecure"), "{err}");
    assert_eq!(std::fs::read(&target).unwrap(), b"hello, ftp\n");

    let plain = format!("ftp://{}/hello.txt", world.addr());
    let (code, _, err) = run_cli(BIN, &["get", &plain, "--insecure"], b"");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("add --tls or use an ftps:// URL"), "{err}");

    world.server.wait_for(|line| line.contains("[tls] <- USER"));
    let users = world
        .server
        .seen
        .iter()
        .filter(|line| line.contains("<- USER"))
        .count();
    assert_eq!(
        users, 1,
        "only the --insecure run logged in: {:#?}",
        world.server.seen
    );
}

/// A path for a file the client may write, as a string.
fn local_target(base: &TempDir, name: &str) -> String {
    path_str(&base.join(name)).to_string()
}

/// Our client over TLS against pyftpdlib's TLS_FTPHandler (pyOpenSSL), a server nobody here
/// wrote, whose self-signed certificate is pinned with `--tls-fingerprint`: put and get
/// byte-exact in passive and active mode.
#[test]
fn our_client_over_tls_against_pyftpdlib() {
    let test = "our_client_over_tls_against_pyftpdlib";
    let served = TempDir::new("pyftpd-tls");
    let work = TempDir::new("pyftpd-tls-work");
    let Some(server) =
        crate::util::start_pyftpd_tls(test, served.path(), work.path(), (USER, PASSWORD), &[])
    else {
        return;
    };
    // Printed before `listening on`, which `start` waited for.
    let fingerprint = server
        .seen
        .iter()
        .find_map(|line| line.strip_prefix("fingerprint "))
        .unwrap()
        .to_string();
    let local = TempDir::new("pyftpd-tls-local");
    client_get_put(
        server.addr,
        &["--tls-fingerprint", &fingerprint],
        served.path(),
        &local,
    );
}

/// `--trace-json` marks what travelled inside TLS: on the client, AUTH TLS and its 234 are
/// `"tls": false` and USER/PASS `"tls": true`; on the server, the protected data connection's
/// events are `"tls": true`.
#[test]
fn trace_json_marks_protected_events() {
    let traces = TempDir::new("ftps-trace-json");
    let server_trace = traces.join("server.jsonl");
    let client_trace = traces.join("client.jsonl");
    let world = World::start(&["--trace-json", path_str(&server_trace)]);
    let url = format!("ftps://{USER}:{PASSWORD}@{}/hello.txt", world.addr());
    let copy = traces.join("copy.txt");
    let (code, out, err) = run_cli(
        BIN,
        &[
            "get",
            &url,
            "-o",
            path_str(&copy),
            "--insecure",
            "--trace-json",
            path_str(&client_trace),
        ],
        b"",
    );
    assert_eq!(code, 0, "{out}{err}");
    let client = netlab_testkit::traces::events_once(&client_trace, |events| !events.is_empty());
    let sent: Vec<(String, bool)> = client
        .iter()
        .filter(|event| event["event"] == "send" && event["fields"]["channel"] == "control")
        .map(|event| {
            let fields = &event["fields"];
            (
                fields["command"].as_str().unwrap().to_string(),
                fields["tls"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        &sent[..3],
        [
            ("AUTH".to_string(), false),
            ("USER".to_string(), true),
            ("PASS".to_string(), true)
        ]
    );
    let server = netlab_testkit::traces::events_once(&server_trace, |events| {
        events.iter().any(|event| event["event"] == "close")
    });
    let data: Vec<bool> = server
        .iter()
        .filter(|event| event["fields"]["channel"] == "data")
        .map(|event| event["fields"]["tls"].as_bool().unwrap())
        .collect();
    assert!(
        !data.is_empty() && data.iter().all(|&tls| tls),
        "{server:#?}"
    );
}

/// A CA and a certificate it signs for `localhost`, as PEM files in `dir`: `ca.pem`,
/// `cert.pem` (the server's certificate, then the CA's), `key.pem`. Returns the server
/// certificate's fingerprint as `ftp-lab serve` prints it.
fn make_certificates(dir: &TempDir) -> String {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    // Distinct names: a certificate whose issuer is its own subject looks self-signed.
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "test CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    let leaf = leaf.signed_by(&key, &ca).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("cert.pem"), leaf.pem() + &ca.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
    ftp_lab::tls::fingerprint(leaf.der())
}

/// `--tls-cert`/`--tls-key`: the server presents the given certificate (its fingerprint is
/// the one printed), curl `--cacert` and our client `--tls-ca` trust it through its CA for
/// `localhost`, and a key file that is not PEM stops the server with a usage error (exit 2).
#[test]
fn given_certificate_is_served() {
    let certs = TempDir::new("ftps-given");
    let fingerprint = make_certificates(&certs);
    let cert = path_str(&certs.join("cert.pem")).to_string();
    let key = path_str(&certs.join("key.pem")).to_string();
    let ca = path_str(&certs.join("ca.pem")).to_string();
    let mut world = World::start(&["--tls-cert", &cert, "--tls-key", &key]);
    let line = world
        .server
        .wait_for(|line| line.contains("TLS certificate SHA-256 "));
    assert!(line.ends_with(&fingerprint), "{line} vs {fingerprint}");
    let url = format!("ftp://localhost:{}/hello.txt", world.addr().port());
    if find_program("curl").is_some() {
        let (code, body, err) = curl(&["--ssl-reqd", "--cacert", &ca, &url]);
        assert_eq!((code, body.as_slice()), (0, &b"hello, ftp\n"[..]), "{err}");
    } else {
        skip(
            "given_certificate_is_served (curl)",
            "curl is not installed",
        );
    }
    let copy = certs.join("copy.txt");
    let (code, out, err) = run_cli(
        BIN,
        &["get", "--tls", "--tls-ca", &ca, &url, "-o", path_str(&copy)],
        b"",
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(std::fs::read(&copy).unwrap(), b"hello, ftp\n");

    let root = path_str(&world.root()).to_string();
    let (code, out, err) = run_cli(
        BIN,
        &[
            "serve",
            "--root",
            &root,
            "--port",
            "0",
            "--tls-cert",
            &cert,
            "--tls-key",
            &cert,
        ],
        b"",
    );
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("cert.pem: not a PEM file we can use"), "{err}");
}

/// A raw FTP client over TLS (rustls, accepting any certificate): exact lines, exact replies.
struct Secure {
    control: StreamOwned<ClientConnection, TcpStream>,
}

impl Secure {
    /// Connects, sends AUTH TLS and runs the handshake.
    fn start(addr: SocketAddr) -> Secure {
        let mut ftp = Ftp::connect(addr);
        ftp.send("AUTH TLS");
        Secure::after_auth(ftp)
    }

    /// Reads the 234 of an AUTH TLS already sent, then runs the handshake.
    fn after_auth(mut ftp: Ftp) -> Secure {
        assert_eq!(ftp.reply().0, 234);
        let control = protect(ftp.stream.try_clone().unwrap());
        Secure { control }
    }

    fn login(&mut self) {
        assert_eq!(self.cmd(&format!("USER {USER}")).0, 331);
        assert_eq!(self.cmd(&format!("PASS {PASSWORD}")).0, 230);
    }

    fn protect_data(&mut self) {
        assert_eq!(self.cmd("PBSZ 0").0, 200);
        assert_eq!(self.cmd("PROT P").0, 200);
    }

    fn send(&mut self, line: &str) {
        self.control
            .write_all(format!("{line}\r\n").as_bytes())
            .unwrap();
        self.control.flush().unwrap();
    }

    fn cmd(&mut self, line: &str) -> (u16, String) {
        self.send(line);
        self.reply()
    }

    /// One single-line reply.
    fn reply(&mut self) -> (u16, String) {
        let mut line = String::new();
        self.control.read_line(&mut line).unwrap();
        let code = line.get(..3).and_then(|code| code.parse().ok());
        let code = code.unwrap_or_else(|| panic!("not a reply: {line:?}"));
        (
            code,
            line.get(4..).unwrap_or_default().trim_end().to_string(),
        )
    }

    /// EPSV, the command, its 150, and the protected data connection.
    fn data(&mut self, command: &str) -> StreamOwned<ClientConnection, TcpStream> {
        let (code, text) = self.cmd("EPSV");
        assert_eq!(code, 229, "{text}");
        let port: u16 = text.split('|').nth(3).unwrap().parse().unwrap();
        let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
        assert_eq!(self.cmd(command).0, 150);
        let mut data = protect(tcp);
        while data.conn.is_handshaking() {
            data.conn.complete_io(&mut data.sock).unwrap();
        }
        data
    }
}

/// TLS in the client role on `tcp`, trusting any certificate (the certificate checks are the
/// client tests' business); the handshake runs on first use.
fn protect(tcp: TcpStream) -> StreamOwned<ClientConnection, TcpStream> {
    tcp.set_read_timeout(Some(PATIENCE)).unwrap();
    tcp.set_write_timeout(Some(PATIENCE)).unwrap();
    let config = client_config(&Trust::Anything).unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let connection = ClientConnection::new(Arc::clone(&config), name).unwrap();
    StreamOwned::new(connection, tcp)
}
