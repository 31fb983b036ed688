//! # Command line: `ftp-lab serve | connect | get | put | bench | grade`
//!
//! The clap `Args` structs live here and only here. [`run`] turns each subcommand's flags into a
//! plain Config ([`ServeConfig`], [`ConnectConfig`], [`GetConfig`], [`PutConfig`],
//! [`BenchConfig`], [`GradeConfig`]) and hands it to the program module, which never sees clap.
//! Flags that cannot work together are reported here as usage errors (exit status 2, as clap's
//! own are).
//!
//! Flags shared with the other labs (`--bind`, `--port`, `--max-clients`, `--idle-timeout`,
//! `--trace`, the grader's) come from `netlab_common::cli`, so every lab spells them the same
//! way.

use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use netlab_common::cli::{
    ConsoleArgs, GradingArgs, IdleTimeoutArgs, ServerArgs, TraceMoreArgs, parse_file_size,
};
use netlab_common::{Error, Result};

use crate::bench::{self, BenchConfig};
use crate::client::TlsOptions;
use crate::client::oneshot::{self, GetConfig, PutConfig};
use crate::client::shell::{self, ConnectConfig};
use crate::grade::{self, GradeConfig};
use crate::server::accounts::{Accounts, split_user_spec};
use crate::server::limits::DEFAULT_MAX_PER_IP;
use crate::server::{self, ServeConfig};
use crate::tls::{TlsFiles, Trust};

/// The lab's default port: FTP's own port 21 needs root; 2121 does not.
pub const DEFAULT_PORT: u16 = crate::client::url::LAB_PORT;

/// Control connections served at once unless `--max-clients` says otherwise.
pub const DEFAULT_MAX_CLIENTS: usize = 64;

/// Seconds a control connection may stay silent unless `--idle-timeout` says otherwise: five
/// minutes, long enough for a person reading a listing between two commands.
pub const DEFAULT_IDLE_TIMEOUT: u64 = 300;

/// netlab FTP lab: a control channel, and a data channel per transfer.
#[derive(Parser, Debug)]
#[command(name = "ftp-lab", version, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

const EXAMPLES: &str = "Examples:
  ftp-lab serve --root ./files                      # anonymous, read-only, port 2121
  ftp-lab serve --root ./files --user alice:secret --trace
  ftp-lab connect 127.0.0.1:2121                    # interactive: ls, cd, get, put, help
  ftp-lab connect 127.0.0.1                         # the same: a bare host means port 2121
  ftp-lab get ftp://127.0.0.1:2121/notes.txt --resume
  ftp-lab put report.pdf ftp://alice:secret@127.0.0.1:2121/uploads/
  curl ftp://127.0.0.1:2121/                        # any FTP client works
  ftp-lab serve --root ./files --tls-cert-out ca.pem --require-tls   # FTPS (RFC 4217)
  ftp-lab get --tls-ca ca.pem ftps://127.0.0.1:2121/notes.txt       # AUTH TLS, PROT P
  curl --ssl-reqd --cacert ca.pem ftp://127.0.0.1:2121/             # curl's explicit FTPS
  ftp-lab bench --file-size 64M --block-size 4K,64K,1M   # throughput vs block size
  ftp-lab grade 127.0.0.1:2121 --user alice:secret  # grade any FTP server (docs/protocols/ftp.md)
See docs/ftp.md for the walkthrough.";

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve a directory over FTP (prints `listening on IP:PORT`; Ctrl-C stops it).
    Serve(ServeArgs),
    /// Interactive FTP shell (ls, cd, get, put, ...; `help` lists them).
    Connect(ConnectArgs),
    /// Download one file: ftp://[user[:pass]@]host:port/path (ftps:// or --tls: over TLS).
    Get(GetArgs),
    /// Upload one file to ftp://[user[:pass]@]host:port/path (a path ending in / keeps the name;
    /// ftps:// or --tls: over TLS).
    Put(PutArgs),
    /// Measure RETR and STOR throughput against the client's block size, on a server of its own.
    Bench(BenchArgs),
    /// Grade an FTP server written by anyone, in any language, against docs/protocols/ftp.md:
    /// the dialogue, transfers in both modes, escapes from the root, the bounce attack, and
    /// clients that split commands, never read, or vanish; with --tls, explicit FTPS too.
    Grade(GradeArgs),
}

#[derive(Args, Debug)]
struct GradeArgs {
    #[command(flatten)]
    grade: GradingArgs,
    /// An account with write access, as NAME:PASSWORD: adds the upload checks (STOR, RETR,
    /// SIZE, DELE, REST). Without it the grader logs in as anonymous.
    #[arg(long, value_name = "NAME:PASSWORD")]
    user: Option<String>,
    /// Add the explicit FTPS checks (RFC 4217 §4, §9): AUTH TLS, a login over TLS, PBSZ and
    /// PROT, transfers over TLS. The server's certificate is not checked unless --tls-ca or
    /// --tls-fingerprint says how (a student's server has a self-signed one).
    #[arg(long)]
    tls: bool,
    /// With --tls: trust only certificates signed by these CA certificates (PEM), for the
    /// address graded (`ftp-lab serve --tls-cert-out FILE` writes its CA).
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls",
        conflicts_with = "tls_fingerprint"
    )]
    tls_ca: Option<PathBuf>,
    /// With --tls: trust only the certificate with this SHA-256 fingerprint (hex, `:` optional;
    /// `ftp-lab serve` prints its own).
    #[arg(long, value_name = "HEX", requires = "tls")]
    tls_fingerprint: Option<String>,
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// The directory to serve; clients see it as `/` and cannot leave it.
    #[arg(long, value_name = "DIR")]
    root: PathBuf,
    #[command(flatten)]
    server: ServerArgs<DEFAULT_PORT, DEFAULT_MAX_CLIENTS>,
    /// Refuse anonymous logins (by default `anonymous` may list and download, never change).
    #[arg(long)]
    no_anonymous: bool,
    /// An account with write access, as NAME:PASSWORD (repeatable).
    #[arg(long = "user", value_name = "NAME:PASSWORD")]
    users: Vec<String>,
    /// A file of accounts with write access, one NAME:PASSWORD per line (# comments).
    #[arg(long = "users", value_name = "FILE")]
    users_file: Option<PathBuf>,
    /// Most connections from one IP address.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_PER_IP,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100_000))]
    max_per_ip: usize,
    /// Ports for passive data connections, e.g. 50000-50100 (to open exactly those in a
    /// firewall); any free port if not given.
    #[arg(long, value_name = "A-B", value_parser = parse_port_range)]
    pasv_ports: Option<RangeInclusive<u16>>,
    /// `--idle-timeout`: a control connection without a command (or with replies the client
    /// does not read) for that long is closed; 0 for never.
    #[command(flatten)]
    idle: IdleTimeoutArgs<DEFAULT_IDLE_TIMEOUT>,
    /// Seconds to wait for a data connection to open, and for a transfer that moves no byte.
    #[arg(long, value_name = "SECONDS", default_value_t = 30,
          value_parser = clap::builder::RangedU64ValueParser::<u64>::new().range(1..=3_600))]
    data_timeout: u64,
    #[command(flatten)]
    trace: FtpTraceArgs,
    /// Certificate (PEM, the server's first, then any chain) for explicit FTPS: `AUTH TLS`
    /// encrypts the control connection, `PROT P` each data connection (RFC 4217). Without it a
    /// certificate is made at start and its SHA-256 fingerprint printed.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Write the certificate clients should trust (PEM) to FILE, for `curl --cacert FILE` or
    /// `ftp-lab connect --tls-ca FILE`.
    #[arg(long, value_name = "FILE")]
    tls_cert_out: Option<PathBuf>,
    /// Require TLS for the password and the files: USER and PASS are refused (534) until the
    /// client has sent AUTH TLS, and every transfer (RETR, STOR, APPE, LIST, NLST, MLSD) until
    /// it has sent PROT P (521, before the server opens or accepts a data connection); PROT C is
    /// refused (534).
    #[arg(long)]
    require_tls: bool,
    /// Exit when standard input ends: for a parent program (`ftp-lab bench`) that starts the
    /// server with a pipe as its standard input. Not for people, so not in `--help`.
    #[arg(long, hide = true)]
    stop_on_stdin_eof: bool,
}

/// Flags every client command takes.
#[derive(Args, Debug)]
struct ClientFlags {
    /// Active mode: the server connects to us for each transfer (PORT/EPRT). The default,
    /// passive mode, has us connect to the server (EPSV/PASV), which works through NAT.
    #[arg(long)]
    active: bool,
    #[command(flatten)]
    trace: FtpTraceArgs,
    #[command(flatten)]
    tls: TlsArgs,
}

/// Explicit FTPS for the client commands (`--tls`, or an ftps:// URL).
#[derive(Args, Debug)]
struct TlsArgs {
    /// Explicit FTPS (RFC 4217): AUTH TLS encrypts the control connection (commands, the
    /// password) and PROT P each data connection (the files). An ftps:// URL does the same.
    /// The server's certificate must be trusted with --tls-ca, --tls-fingerprint or --insecure.
    #[arg(long)]
    tls: bool,
    /// Trust the server's certificate if a CA certificate in FILE (PEM) signed it for the host
    /// we connect to, e.g. the file of `ftp-lab serve --tls-cert-out FILE`.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["tls_fingerprint", "insecure"])]
    tls_ca: Option<PathBuf>,
    /// Trust exactly the certificate with this SHA-256 fingerprint (hex, colons optional), as
    /// `ftp-lab serve` prints it: compare it by eye, then pin it.
    #[arg(long, value_name = "SHA256", value_parser = parse_fingerprint, conflicts_with = "insecure")]
    tls_fingerprint: Option<[u8; 32]>,
    /// Accept any certificate: still encrypted, but whoever sits in the middle can read the
    /// session. For experiments only.
    #[arg(long)]
    insecure: bool,
}

impl TlsArgs {
    /// The client's TLS options; `url_tls` when the target is an ftps:// URL. A trust flag
    /// without TLS would do nothing: the user's mistake.
    fn options(&self, target: &str) -> Result<TlsOptions> {
        let wanted = self.tls || target.to_ascii_lowercase().starts_with("ftps://");
        let trust = match (&self.tls_ca, self.tls_fingerprint, self.insecure) {
            (Some(file), _, _) => Trust::Authorities(file.clone()),
            (None, Some(fingerprint), _) => Trust::Fingerprint(fingerprint),
            (None, None, true) => Trust::Anything,
            (None, None, false) => Trust::Nothing,
        };
        if !wanted && trust != Trust::Nothing {
            return Err(Error::Usage(
                "--tls-ca, --tls-fingerprint and --insecure check a TLS server: add --tls or use an ftps:// URL".to_string(),
            ));
        }
        Ok(TlsOptions { wanted, trust })
    }
}

/// `--tls-fingerprint`: 32 bytes of hex, with or without colons.
fn parse_fingerprint(text: &str) -> std::result::Result<[u8; 32], String> {
    crate::tls::parse_fingerprint(text).ok_or_else(|| {
        format!("`{text}` is not a SHA-256 fingerprint (64 hex digits, colons optional)")
    })
}

#[derive(Args, Debug)]
struct ConnectArgs {
    /// Server as HOST:PORT, or an ftp:// (ftps:// for TLS) URL. A bare HOST means port 2121, where `ftp-lab
    /// serve` listens by default; a URL without a port means FTP's standard port 21
    /// (RFC 1738 §3.2), as in every FTP client.
    #[arg(value_name = "HOST:PORT")]
    target: String,
    /// User name (anonymous if not given).
    #[arg(long)]
    user: Option<String>,
    /// Password (readable by anyone on the path, as everything in plain FTP, unless --tls or
    /// an ftps:// URL protects the session).
    #[arg(long)]
    password: Option<String>,
    #[command(flatten)]
    block: BlockArgs,
    #[command(flatten)]
    console: ConsoleArgs,
    #[command(flatten)]
    flags: ClientFlags,
}

#[derive(Args, Debug)]
struct GetArgs {
    /// ftp://[user[:pass]@]host:port/path of the file (ftps:// for TLS, like --tls). Without
    /// `:port` the URL means FTP's standard port 21 (RFC 1738 §3.2); `ftp-lab serve` listens
    /// on 2121.
    url: String,
    /// Where to save it (default: its name, in the current directory).
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Continue a partial download with REST, checked against SIZE.
    #[arg(long, conflicts_with = "force")]
    resume: bool,
    /// Replace the local file if it exists (without --force or --resume, an existing file is
    /// left alone and the download refused).
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    block: BlockArgs,
    #[command(flatten)]
    flags: ClientFlags,
}

#[derive(Args, Debug)]
struct PutArgs {
    /// The local file to upload.
    file: PathBuf,
    /// ftp://[user[:pass]@]host:port/path to upload to (ftps:// for TLS, like --tls; port 21
    /// if the URL names none; `ftp-lab serve` listens on 2121).
    url: String,
    #[command(flatten)]
    block: BlockArgs,
    #[command(flatten)]
    flags: ClientFlags,
}

/// `--block-size` of `get`, `put` and `connect`.
#[derive(Args, Debug)]
struct BlockArgs {
    /// Bytes per read (and per write) on the data connection, e.g. 4K, 64K, 1M; only our side
    /// changes (`ftp-lab bench` measures what it does).
    #[arg(long, value_name = "BYTES", default_value = "256K",
          value_parser = bench::parse_block_size)]
    block_size: usize,
}

#[derive(Args, Debug)]
struct BenchArgs {
    /// Size of the test file (binary suffixes: 64M, 1G). The scratch directory holds it and one
    /// copy at a time.
    #[arg(long, value_name = "BYTES", default_value = "256M", value_parser = parse_file_size)]
    file_size: u64,
    /// Client block sizes to measure, comma-separated.
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_value = "4K,16K,64K,256K,1M",
          value_parser = bench::parse_block_size)]
    block_size: Vec<usize>,
    /// Transfers per direction and block size; each row reports their median.
    #[arg(long, value_name = "N", default_value_t = 3,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1000))]
    rounds: usize,
    /// One JSON object per line, per direction and block size, instead of a table.
    #[arg(long)]
    json: bool,
    /// Every transfer over explicit FTPS: the bench's server makes a certificate at start and
    /// requires TLS; the client trusts that certificate, sends AUTH TLS, PBSZ 0 and PROT P.
    /// Rows say "over TLS", JSON lines end in "tls":true.
    #[arg(long)]
    tls: bool,
}

/// `50000-50100` -> `50000..=50100`.
fn parse_port_range(text: &str) -> std::result::Result<RangeInclusive<u16>, String> {
    let bad = || format!("`{text}` is not a port range like 50000-50100");
    let (low, high) = text.split_once('-').ok_or_else(bad)?;
    let low: u16 = low.trim().parse().map_err(|_| bad())?;
    let high: u16 = high.trim().parse().map_err(|_| bad())?;
    if low == 0 || low > high {
        return Err(format!(
            "{}: the first port must be 1 or more and not above the second",
            bad()
        ));
    }
    Ok(low..=high)
}

/// Runs the parsed command: each subcommand's flags become its plain Config here, and nothing
/// below this module sees clap.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) => server::run(serve_config(args)?),
        Command::Connect(args) => shell::run(&ConnectConfig {
            tls: args.flags.tls.options(&args.target)?,
            target: args.target,
            user: args.user,
            password: args.password,
            active: args.flags.active,
            block_size: args.block.block_size,
            plain: args.console.plain,
            tracer: args.flags.trace.tracer("ftp")?,
        }),
        Command::Get(args) => oneshot::get(&GetConfig {
            tls: args.flags.tls.options(&args.url)?,
            url: args.url,
            output: args.output,
            resume: args.resume,
            force: args.force,
            active: args.flags.active,
            block_size: args.block.block_size,
            tracer: args.flags.trace.tracer("ftp")?,
        }),
        Command::Put(args) => oneshot::put(&PutConfig {
            file: args.file,
            active: args.flags.active,
            block_size: args.block.block_size,
            tracer: args.flags.trace.tracer("ftp")?,
            tls: args.flags.tls.options(&args.url)?,
            url: args.url,
        }),
        Command::Bench(args) => bench::run(&BenchConfig {
            file_size: args.file_size,
            block_sizes: args.block_size,
            rounds: args.rounds,
            json: args.json,
            tls: args.tls,
        }),
        Command::Grade(args) => grade::run(
            &grade_config(&args)?,
            &args
                .grade
                .plan(netlab_common::grade::server::Transport::Tcp),
        ),
    }
}

/// `grade`'s flags as a [`GradeConfig`]; a `--user` without a colon is a usage error.
fn grade_config(args: &GradeArgs) -> Result<GradeConfig> {
    Ok(GradeConfig {
        addr: args.grade.resolve()?,
        user: args.user.as_deref().map(split_account).transpose()?,
        deadline: args.grade.deadline(),
        json: args.grade.json,
        tls: args.tls.then(|| grade_trust(args)).transpose()?,
    })
}

/// `grade --tls`: whose certificate to trust (any, without --tls-ca or --tls-fingerprint).
fn grade_trust(args: &GradeArgs) -> Result<Trust> {
    if let Some(ca) = &args.tls_ca {
        return Ok(Trust::Authorities(ca.clone()));
    }
    match &args.tls_fingerprint {
        None => Ok(Trust::Anything),
        Some(hex) => crate::tls::parse_fingerprint(hex)
            .map(Trust::Fingerprint)
            .ok_or_else(|| {
                Error::Usage(format!(
                    "--tls-fingerprint `{hex}`: not a SHA-256 fingerprint (64 hex digits)"
                ))
            }),
    }
}

/// `grade --user NAME:PASSWORD` -> its halves (the password may contain `:`).
fn split_account(spec: &str) -> Result<(String, String)> {
    let (name, password) =
        split_user_spec(spec).map_err(|why| Error::Usage(format!("--user `{spec}`: {why}")))?;
    Ok((name.to_string(), password.to_string()))
}

/// `serve`'s flags as a [`ServeConfig`]. Accounts that cannot work together are the user's
/// mistake ([`Error::Usage`], exit status 2); a `--users` file that cannot be read is an I/O
/// error.
fn serve_config(args: ServeArgs) -> Result<ServeConfig> {
    let mut accounts = Accounts::new(!args.no_anonymous);
    for spec in &args.users {
        let name = spec.split(':').next().unwrap_or("");
        let (name, password) =
            split_user_spec(spec).map_err(|why| Error::Usage(format!("--user {name}: {why}")))?;
        accounts
            .add(name, password)
            .map_err(|why| Error::Usage(format!("--user: {why}")))?;
    }
    if let Some(path) = &args.users_file {
        accounts.add_file(path)?;
    }
    if !accounts.anonymous && accounts.named_count() == 0 {
        return Err(Error::Usage(
            "--no-anonymous without --user or --users: nobody could log in".to_string(),
        ));
    }
    Ok(ServeConfig {
        addr: args.server.addr(),
        root: args.root,
        accounts,
        max_clients: args.server.max_clients,
        max_per_ip: args.max_per_ip,
        pasv_ports: args.pasv_ports,
        idle_timeout: args.idle.timeout(),
        data_timeout: Duration::from_secs(args.data_timeout),
        tracer: args.trace.tracer("ftp")?,
        stop_on_stdin_eof: args.stop_on_stdin_eof,
        tls: TlsFiles {
            cert_and_key: args.tls_cert.zip(args.tls_key),
            cert_out: args.tls_cert_out,
        },
        require_tls: args.require_tls,
    })
}

/// `--trace` and `--trace-json` as FTP shows them. FTP's control connection is a dialogue of
/// text lines, so the trace prints the lines (not a hex dump of chunks, as the binary labs'
/// `--trace` does), and there is no `--trace-bytes`.
#[derive(Args, Debug, Clone)]
pub struct FtpTraceArgs {
    /// Print the FTP dialogue on stderr as it crosses the wire: every command and reply (the
    /// password masked), marked `[tls]` once protected, and each data connection's events
    /// (opened by whom, TLS handshake, closed).
    #[arg(long)]
    pub trace: bool,
    /// Write every command, reply and data-connection event as one JSON object per line to FILE
    /// (time, direction, both addresses, a summary): draw it with `netlab-ladder FILE...`
    /// (docs/ladder.md).
    #[arg(long, value_name = "FILE")]
    pub trace_json: Option<std::path::PathBuf>,
}

impl FtpTraceArgs {
    /// The tracer these flags ask for.
    pub fn tracer(&self, lab: &'static str) -> netlab_common::Result<netlab_common::Tracer> {
        let json = TraceMoreArgs {
            trace_bytes: None,
            trace_json: self.trace_json.clone(),
        }
        .open_json(lab, netlab_common::trace_json::Transport::Tcp)?;
        Ok(netlab_common::Tracer::new(self.trace).with_json(json))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::client::DEFAULT_BLOCK_SIZE;

    /// Port ranges: valid, reversed, zero, junk.
    #[test]
    fn port_ranges() {
        assert_eq!(parse_port_range("50000-50010").unwrap(), 50000..=50010);
        assert!(parse_port_range("50010-50000").is_err());
        assert!(parse_port_range("0-10").is_err());
        assert!(parse_port_range("abc").is_err());
    }

    /// The bench's defaults, and a block-size list with suffixes; a zero or huge block refused.
    #[test]
    fn bench_flags() {
        let cli = Cli::try_parse_from(["ftp-lab", "bench"]).unwrap();
        let Command::Bench(args) = cli.command else {
            panic!("not bench")
        };
        assert_eq!(args.file_size, 256 << 20);
        assert_eq!(
            args.block_size,
            [4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20]
        );
        assert_eq!((args.rounds, args.json, args.tls), (3, false, false));
        let cli = Cli::try_parse_from([
            "ftp-lab",
            "bench",
            "--block-size",
            "512,8K",
            "--file-size",
            "1G",
        ]);
        let Command::Bench(args) = cli.unwrap().command else {
            panic!("not bench")
        };
        assert_eq!(
            (args.block_size, args.file_size),
            (vec![512, 8192], 1 << 30)
        );
        for bad in [
            ["--block-size", "0"],
            ["--block-size", "4K,,8K"],
            ["--block-size", "65M"],
            ["--file-size", "65G"],
            ["--rounds", "0"],
        ] {
            let mut argv = vec!["ftp-lab", "bench"];
            argv.extend(bad);
            assert!(Cli::try_parse_from(&argv).is_err(), "{bad:?}");
        }
        let cli =
            Cli::try_parse_from(["ftp-lab", "get", "ftp://h/x", "--block-size", "4K"]).unwrap();
        let Command::Get(args) = cli.command else {
            panic!("not get")
        };
        assert_eq!(args.block.block_size, 4096);
        let cli = Cli::try_parse_from(["ftp-lab", "put", "x", "ftp://h/"]).unwrap();
        let Command::Put(args) = cli.command else {
            panic!("not put")
        };
        assert_eq!(
            args.block.block_size, DEFAULT_BLOCK_SIZE,
            "--help shows 256K"
        );
    }

    /// `grade --user`: the account splits at the first colon; no name, or no colon, is refused.
    #[test]
    fn accounts_split_at_the_first_colon() {
        assert_eq!(
            split_account("alice:s:cret").unwrap(),
            ("alice".into(), "s:cret".into())
        );
        assert!(split_account("alice").is_err());
        assert!(split_account(":pw").is_err());
    }

    /// `serve --idle-timeout`: 300 s unless given; 0 is accepted and means never.
    #[test]
    fn serve_idle_timeout() {
        let idle = |extra: &[&str]| {
            let mut argv = vec!["ftp-lab", "serve", "--root", "."];
            argv.extend(extra);
            let Command::Serve(args) = Cli::try_parse_from(argv).unwrap().command else {
                panic!("not serve")
            };
            args.idle.timeout()
        };
        assert_eq!(idle(&[]), Some(Duration::from_secs(300)));
        assert_eq!(idle(&["--idle-timeout", "0"]), None);
        assert_eq!(idle(&["--idle-timeout", "7"]), Some(Duration::from_secs(7)));
    }

    /// The server's defaults: port 2121 on loopback, anonymous on.
    #[test]
    fn serve_defaults() {
        let cli = Cli::try_parse_from(["ftp-lab", "serve", "--root", "."]).unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        assert_eq!(args.server.addr().to_string(), "127.0.0.1:2121");
        assert!(!args.no_anonymous);
        assert_eq!(args.data_timeout, 30);
    }
}
