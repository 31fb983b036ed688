//! # Flags every lab spells the same way
//!
//! A student who learned `--bind`, `--port` and `--trace` on the echo lab should not have to
//! relearn them on the chat lab. These clap argument groups are flattened into each lab's
//! subcommands (`#[command(flatten)]`), so the flag names, their help text and their checks live
//! in one place. The defaults that differ per lab (port, client limit) are const parameters.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use clap::Args;

use crate::framing::{DEFAULT_MAX_FRAME, Framing};

/// Where a server listens and how many clients it takes. `PORT` and `MAX_CLIENTS` are the lab's
/// defaults.
///
/// Use one instantiation per binary. clap's derive keeps the text of a `default_value_t` in a
/// `static` inside the generic `augment_args`, and a static in a generic function is shared by
/// every instantiation: a second `ServerArgs<OTHER_PORT, ..>` in the same binary would show and
/// use the first one's defaults (tcp-chat hit this with two ports; see its `SideArgs`).
#[derive(Args, Debug, Clone)]
pub struct ServerArgs<const PORT: u16, const MAX_CLIENTS: usize> {
    /// IP address to listen on. 127.0.0.1 accepts only this machine; 0.0.0.0 (or ::) opens the
    /// server to your network.
    #[arg(long, value_name = "IP", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,

    /// Port to listen on; 0 lets the OS pick a free one (the chosen address is printed as
    /// "listening on IP:PORT").
    #[arg(long, default_value_t = PORT)]
    pub port: u16,

    /// Most clients served at once; the next one is refused and disconnected (told why, where the
    /// protocol has room for a message).
    #[arg(long, value_name = "N", default_value_t = MAX_CLIENTS,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub max_clients: usize,
}

impl<const PORT: u16, const MAX_CLIENTS: usize> ServerArgs<PORT, MAX_CLIENTS> {
    /// The socket address to bind.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.bind, self.port)
    }
}

/// The longest `--idle-timeout`: a day. Longer is as good as never (say 0), and a bound keeps
/// deadline arithmetic (`Instant + timeout`) far from overflowing.
pub const MAX_IDLE_TIMEOUT: u64 = 86_400;

/// `--idle-timeout SECONDS`, the same in every server: how long a connection may stay silent.
/// `SECONDS` is the lab's default. One instantiation per binary (see [`ServerArgs`]).
#[derive(Args, Debug, Clone, Copy)]
pub struct IdleTimeoutArgs<const SECONDS: u64> {
    /// Seconds a connection may stay silent before the server closes it (telling it why where
    /// the protocol allows); 0 means never, 86400 (a day) at most. A crashed machine or a pulled
    /// cable sends nothing, not even a FIN, so without this its place would be held for ever
    /// (TCP keep-alives are off by default and at least two hours apart, RFC 1122 section
    /// 4.2.3.6).
    #[arg(long = "idle-timeout", value_name = "SECONDS", default_value_t = SECONDS,
          value_parser = clap::value_parser!(u64).range(0..=MAX_IDLE_TIMEOUT))]
    pub seconds: u64,
}

impl<const SECONDS: u64> IdleTimeoutArgs<SECONDS> {
    /// The timeout, or `None` for never (`--idle-timeout 0`).
    pub fn timeout(&self) -> Option<std::time::Duration> {
        (self.seconds > 0).then(|| std::time::Duration::from_secs(self.seconds))
    }
}

/// `--trace`: show every chunk of bytes that crosses the wire; `--trace-bytes` and
/// `--trace-json` ([`TraceMoreArgs`]).
#[derive(Args, Debug, Clone)]
pub struct TraceArgs {
    /// Print every chunk sent and received (direction, peer, size, hex + ASCII dump) on stderr.
    #[arg(long)]
    pub trace: bool,

    /// How much of each chunk `--trace` shows, and where `--trace-json` writes.
    #[command(flatten)]
    pub more: TraceMoreArgs,
}

impl TraceArgs {
    /// The tracer these flags ask for: printing when `--trace` or `--trace-bytes` is given,
    /// recording `lab`'s events when `--trace-json` is.
    pub fn tracer(&self, lab: &'static str) -> crate::Result<crate::Tracer> {
        let json = self
            .more
            .open_json(lab, crate::trace_json::Transport::Tcp)?;
        Ok(
            crate::Tracer::new(self.trace || self.more.trace_bytes.is_some())
                .with_limit(self.more.trace_bytes.unwrap_or_default())
                .with_json(json),
        )
    }
}

/// `--trace-bytes` and `--trace-json`, shared by [`TraceArgs`] and labs with their own
/// `--trace` (udp-chat decodes datagrams instead of dumping them).
#[derive(Args, Debug, Clone, Default)]
pub struct TraceMoreArgs {
    /// With --trace, show the first N bytes of each chunk (default 64), or `all` of it;
    /// implies --trace.
    #[arg(long, value_name = "N|all", value_parser = crate::trace::DumpLimit::parse)]
    pub trace_bytes: Option<crate::trace::DumpLimit>,

    /// Write every chunk and event as one JSON object per line to FILE (time, direction, both
    /// addresses, a summary): draw it with `netlab-ladder FILE...` (docs/ladder.md).
    #[arg(long, value_name = "FILE")]
    pub trace_json: Option<std::path::PathBuf>,
}

impl TraceMoreArgs {
    /// Opens the `--trace-json` file, if one was asked for.
    pub fn open_json(
        &self,
        lab: &'static str,
        transport: crate::trace_json::Transport,
    ) -> crate::Result<Option<crate::trace_json::JsonTrace>> {
        self.trace_json
            .as_deref()
            .map(|path| crate::trace_json::JsonTrace::create(path, lab, transport))
            .transpose()
    }
}

/// `--plain`: how an interactive client uses the terminal (see [`crate::console`]).
#[derive(Args, Debug, Clone, Copy)]
pub struct ConsoleArgs {
    /// Print line by line, as in a script, instead of keeping the line you type pinned at the
    /// bottom with the status above it. Automatic when standard input or output is not a
    /// terminal (a pipe, a file), or when TERM=dumb.
    #[arg(long)]
    pub plain: bool,
}

/// `--framing` and `--max-frame`: how messages are delimited on the byte stream.
#[derive(Args, Debug, Clone, Copy)]
pub struct FramingArgs {
    /// How messages are delimited: raw (no boundaries, RFC 862), line (newline-terminated text,
    /// works with nc) or length (4-byte big-endian length prefix). Server and client must agree.
    #[arg(long, value_enum, default_value_t = Framing::Line)]
    pub framing: Framing,

    /// Largest message in bytes; a bigger one is refused with an error.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_FRAME,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=16 * 1024 * 1024))]
    pub max_frame: usize,
}

/// `on`/`off` switches, spelled as words so the flag reads like the socket option it sets.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnOff {
    /// Enabled.
    On,
    /// Disabled.
    Off,
}

impl OnOff {
    /// `true` for `on`.
    pub fn is_on(self) -> bool {
        self == OnOff::On
    }
}

/// A byte count as typed on a command line: `4096`, `64K`, `64KiB`, `1M`, `1G` (binary units:
/// K = 1024), at least one byte. Every lab's size flags use this one parser, so they accept the
/// same spellings.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let bad = || format!("`{text}` is not a size in bytes (examples: 4096, 64K, 1M, 1G)");
    let upper = text.trim().to_ascii_uppercase();
    let upper = upper
        .strip_suffix("IB")
        .or_else(|| upper.strip_suffix('B'))
        .unwrap_or(&upper);
    let (digits, shift) = match upper.char_indices().last() {
        Some((at, 'K')) => (upper.get(..at), 10),
        Some((at, 'M')) => (upper.get(..at), 20),
        Some((at, 'G')) => (upper.get(..at), 30),
        _ => (Some(upper), 0),
    };
    let number: u64 = digits
        .unwrap_or_default()
        .trim()
        .parse()
        .map_err(|_| bad())?;
    number
        .checked_mul(1 << shift)
        .filter(|&bytes| bytes > 0)
        .ok_or_else(|| format!("`{text}` must be at least 1 byte and fit in 64 bits"))
}

/// `--student-memory`: a size in bytes, or no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryLimit(pub Option<u64>);

/// A memory limit as typed: [`parse_bytes`]' spellings, or `none`.
pub fn parse_memory_limit(text: &str) -> Result<MemoryLimit, String> {
    if text.trim().eq_ignore_ascii_case("none") {
        return Ok(MemoryLimit(None));
    }
    parse_bytes(text).map(|bytes| MemoryLimit(Some(bytes)))
}

/// A benchmark's test-file size: [`parse_bytes`], at most 64 GiB so a typo cannot fill the disk.
pub fn parse_file_size(text: &str) -> Result<u64, String> {
    const MAX: u64 = 64 << 30;
    match parse_bytes(text)? {
        bytes if bytes > MAX => Err(format!("`{text}`: the test file is at most 64G")),
        bytes => Ok(bytes),
    }
}

/// A duration in seconds as typed: `5`, `0.5` or `5s`; above zero and at most a day.
pub fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.trim().trim_end_matches('s').parse::<f64>() {
        Ok(seconds) if seconds > 0.0 && seconds <= 86_400.0 => Ok(seconds),
        _ => Err(format!(
            "`{text}` is not a duration in seconds above 0 and at most a day (e.g. 5 or 0.5)"
        )),
    }
}

/// The flags every lab's `grade` subcommand shares: whom to grade (a running server, a command
/// that starts one, or a class roster), how long a check may take, and how to report
/// (docs/grading.md). Each lab adds its own flags (a framing, an account, an idle timeout)
/// next to these.
#[derive(Args, Debug, Clone)]
pub struct GradingArgs {
    /// The server to grade, e.g. 127.0.0.1:7007 (any host the grader can reach). Not needed
    /// with --server-cmd or --roster.
    #[arg(value_name = "HOST:PORT", required_unless_present_any = ["server_cmd", "roster"])]
    pub target: Option<String>,
    /// Seconds each check may take before it fails as "timed out" (a hung server fails a
    /// check instead of hanging the grader).
    #[arg(long, value_name = "SECS", default_value_t = 10.0, value_parser = parse_seconds)]
    pub timeout: f64,
    /// Print the rubric as one JSON object (for automatic grading); the same as --format json.
    #[arg(long)]
    pub json: bool,
    /// How to print the rubric: text (a Markdown table), json, or gradescope (Gradescope's
    /// results.json; with --roster, DIR/STUDENT.results.json per student).
    #[arg(long, value_enum, default_value = "text")]
    pub format: crate::grade::class::Format,
    /// Start the server to grade: a shell command with {port} where the port goes, e.g.
    /// 'python3 server.py {port}'. The grader picks a free port, waits until it is open,
    /// grades, then stops the server and every process it started.
    #[arg(long, value_name = "CMD", conflicts_with_all = ["target", "roster"])]
    pub server_cmd: Option<String>,
    /// Seconds a started server may take to open its port.
    #[arg(long, value_name = "SECS", default_value_t = 10.0, value_parser = parse_seconds)]
    pub startup: f64,
    /// With --server-cmd or --roster: seconds one student's grading may take in all. At the
    /// deadline the grader stops that student's server; the checks still running fail at once,
    /// and the rubric says the deadline was hit.
    #[arg(long, value_name = "SECS", default_value_t = 300.0, value_parser = parse_seconds)]
    pub student_timeout: f64,
    /// With --server-cmd or --roster: the most memory a started server's processes may use
    /// together (resident: really in RAM), e.g. 512M or 2G; above it the grader kills them and
    /// the rubric says why. `none` for no limit. Measured on Linux only (from /proc).
    #[arg(long, value_name = "SIZE", default_value = "2G", value_parser = parse_memory_limit)]
    pub student_memory: MemoryLimit,
    /// Grade a class: a CSV file with one line per student, `student,address` or
    /// `student,command,workdir` (the command with {port}, as for --server-cmd).
    #[arg(long, value_name = "FILE.csv", conflicts_with = "target")]
    pub roster: Option<std::path::PathBuf>,
    /// With --roster: students graded at the same time (each runs its own server).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// With --roster: the directory for gradebook.csv and one STUDENT.md per student.
    #[arg(long, value_name = "DIR", default_value = "grades")]
    pub out: std::path::PathBuf,
    /// Also write the results as JUnit XML to FILE (for CI-based classrooms).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<std::path::PathBuf>,
}

impl GradingArgs {
    /// How long each check may take.
    pub fn deadline(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(self.timeout)
    }

    /// The target's first address (a name is looked up). Without a target (the grader starts
    /// the servers itself) it is 127.0.0.1:0, a placeholder: each server graded gets its own
    /// address from [`crate::grade::class::run`].
    pub fn resolve(&self) -> Result<SocketAddr, crate::Error> {
        use std::net::ToSocketAddrs as _;
        let Some(target) = &self.target else {
            return Ok(SocketAddr::from(([127, 0, 0, 1], 0)));
        };
        target
            .to_socket_addrs()
            .map_err(|err| crate::Error::Usage(format!("cannot resolve {target}: {err}")))?
            .next()
            .ok_or_else(|| crate::Error::Usage(format!("{target} has no address")))
    }

    /// What to grade and how to report it, for a lab whose servers listen on `transport`.
    pub fn plan(&self, transport: crate::grade::server::Transport) -> crate::grade::class::Plan {
        use crate::grade::class::{Format, Plan};
        Plan {
            target: self.target.clone(),
            server_cmd: self.server_cmd.clone(),
            roster: self.roster.clone(),
            jobs: usize::from(self.jobs),
            out: self.out.clone(),
            format: if self.json { Format::Json } else { self.format },
            junit: self.junit.clone(),
            startup: std::time::Duration::from_secs_f64(self.startup),
            student_timeout: std::time::Duration::from_secs_f64(self.student_timeout),
            memory_limit: self.student_memory.0,
            transport,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Demo {
        #[command(flatten)]
        server: ServerArgs<7007, 64>,
        #[command(flatten)]
        framing: FramingArgs,
        #[command(flatten)]
        idle: IdleTimeoutArgs<300>,
    }

    /// Sizes: binary suffixes, with or without `iB`; nonsense, zero and overflow refused.
    #[test]
    fn sizes_parse() {
        assert_eq!(parse_bytes("4096"), Ok(4096));
        assert_eq!(parse_bytes("64K"), Ok(64 << 10));
        assert_eq!(parse_bytes("64kib"), Ok(64 << 10));
        assert_eq!(parse_bytes("256M"), Ok(256 << 20));
        assert_eq!(parse_bytes("1G"), Ok(1 << 30));
        assert_eq!(parse_bytes("10B"), Ok(10));
        for bad in ["", "K", "lots", "0", "-4K", "99999999999G"] {
            assert!(parse_bytes(bad).is_err(), "{bad:?}");
        }
    }

    /// `--idle-timeout`: the lab's default in seconds, 0 for never, anything else refused.
    #[test]
    fn idle_timeout_seconds_and_never() {
        let parse = |args: &[&str]| Demo::try_parse_from([&["demo"], args].concat());
        let default = parse(&[]).unwrap().idle.timeout();
        assert_eq!(default, Some(std::time::Duration::from_secs(300)));
        assert_eq!(
            parse(&["--idle-timeout", "0"]).unwrap().idle.timeout(),
            None
        );
        assert!(parse(&["--idle-timeout", "-1"]).is_err());
        assert!(parse(&["--idle-timeout", "86400"]).is_ok());
        assert!(parse(&["--idle-timeout", "86401"]).is_err());
        assert!(parse(&["--idle-timeout", "soon"]).is_err());
    }

    /// Defaults: loopback only, the lab's port and limit, line framing of up to 4096 bytes.
    #[test]
    fn defaults_are_safe() {
        let demo = Demo::try_parse_from(["demo"]).unwrap();
        assert_eq!(demo.server.addr().to_string(), "127.0.0.1:7007");
        assert_eq!(demo.server.max_clients, 64);
        assert_eq!(demo.framing.framing, Framing::Line);
        assert_eq!(demo.framing.max_frame, 4096);
    }

    /// A client limit of zero would refuse everyone, so it is rejected at parse time.
    #[test]
    fn zero_clients_rejected() {
        assert!(Demo::try_parse_from(["demo", "--max-clients", "0"]).is_err());
    }
}
