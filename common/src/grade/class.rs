//! # Grading a whole class: one server, a started server, or a roster
//!
//! Every lab's `grade` takes the same ways of saying what to grade, and this module runs them
//! with the lab's checks (a function from an address to a [`Rubric`]):
//!
//! - `grade HOST:PORT`: a server someone else started.
//! - `grade --server-cmd 'CMD {port}'`: the grader starts the server itself on a free port
//!   ([`super::server`]), grades it, stops it and everything it started.
//! - `grade --roster class.csv --jobs N --out DIR`: one row per student, `student,address` or
//!   `student,command,workdir`; N students at a time. Writes `DIR/gradebook.csv` (student,
//!   points, max, one column per check), `DIR/STUDENT.md` (the rubric with its reasons, and the
//!   server's output when something failed), and prints a class summary: the distribution of
//!   points and the checks failed most, which is what to teach again.
//!
//! `--format gradescope` prints (or writes, per student, with a roster) Gradescope's
//! `results.json`; `--junit FILE` writes JUnit XML ([`super::report`]).
//!
//! **Bounded.** N jobs grade at most N servers at once, so the grader never holds more than
//! N servers' worth of ports, descriptors and threads; each server's output is kept up to a
//! bound ([`super::server::OUTPUT_KEPT`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::server::{Launch, MemorySeen, StudentServer, Transport};
use super::{Failure, Outcome, Rubric, report};
use crate::Error;

/// How to print a rubric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A Markdown table.
    Text,
    /// The rubric as one JSON object.
    Json,
    /// Gradescope's results.json.
    Gradescope,
}

/// What to grade and how to report it: the shared flags of every lab's `grade`, resolved.
#[derive(Debug, Clone)]
pub struct Plan {
    /// `HOST:PORT` of a running server.
    pub target: Option<String>,
    /// `--server-cmd`: the command that starts the server, `{port}` for its port.
    pub server_cmd: Option<String>,
    /// `--roster`: the class's CSV file.
    pub roster: Option<PathBuf>,
    /// `--jobs`: students graded at once.
    pub jobs: usize,
    /// `--out`: where a roster's files go.
    pub out: PathBuf,
    /// `--format`.
    pub format: Format,
    /// `--junit FILE`.
    pub junit: Option<PathBuf>,
    /// `--startup`: how long a started server may take to open its port.
    pub startup: Duration,
    /// `--student-timeout`: how long one started server's grading may take in all.
    pub student_timeout: Duration,
    /// `--student-memory`: the most resident memory a started server's processes may use
    /// together (Linux), `None` for no limit.
    pub memory_limit: Option<u64>,
    /// The lab's transport (how to tell that a started server's port is open).
    pub transport: Transport,
}

/// Where one student's server is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submission {
    /// Already running at this address.
    Address(String),
    /// Started by the grader: the command and the directory to run it in.
    Command(String, Option<PathBuf>),
}

/// One row of a roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Student {
    /// The student's name or id, as the gradebook shows it.
    pub name: String,
    /// Their server.
    pub submission: Submission,
}

/// One student's result.
#[derive(Debug, Clone)]
pub struct Graded {
    /// Who.
    pub student: String,
    /// The rubric (a single failed "server starts" when the server never came up).
    pub rubric: Rubric,
    /// What the server printed (started servers only).
    pub output: String,
    /// Whether the server came up at all.
    pub started: bool,
}

/// The name of the pseudo-check a server that never started fails.
pub const SERVER_STARTS: &str = "server starts";

/// The rubric line added when a student's grading hit `--student-timeout`.
pub const DEADLINE: &str = "within the time limit";

/// The rubric line added when a started server passed `--student-memory`.
pub const MEMORY: &str = "within the memory limit";

/// Runs the plan with the lab's checks; the verdict is the exit status (`Ok` only when every
/// required check passed, for every student).
pub fn run(plan: &Plan, grade: &(dyn Fn(SocketAddr) -> Rubric + Sync)) -> Result<(), Error> {
    if let Some(roster) = &plan.roster {
        return run_roster(plan, roster, grade);
    }
    let submission = match (&plan.server_cmd, &plan.target) {
        (Some(command), _) => Submission::Command(command.clone(), None),
        (None, Some(target)) => Submission::Address(target.clone()),
        (None, None) => {
            return Err(Error::Usage(
                "give HOST:PORT, --server-cmd 'CMD {port}' or --roster FILE.csv".into(),
            ));
        }
    };
    let graded = grade_one(plan, "server", &submission, grade)?;
    print_one(plan, &graded);
    if let Some(path) = &plan.junit {
        write_file(
            path,
            &report::junit([(
                graded.student.as_str(),
                &graded.rubric,
                graded.output.as_str(),
            )]),
        )?;
    }
    if graded.rubric.passed() {
        return Ok(());
    }
    let (earned, possible) = graded.rubric.score();
    Err(Error::Failed(format!(
        "{earned}/{possible} points: required checks failed (see the reasons above)"
    )))
}

/// Grades one submission: starts its server when it has a command, stops it afterwards.
pub fn grade_one(
    plan: &Plan,
    student: &str,
    submission: &Submission,
    grade: &(dyn Fn(SocketAddr) -> Rubric + Sync),
) -> Result<Graded, Error> {
    let (command, workdir) = match submission {
        Submission::Address(target) => {
            let rubric = grade(resolve(target)?);
            return Ok(Graded {
                student: student.into(),
                rubric,
                output: String::new(),
                started: true,
            });
        }
        Submission::Command(command, workdir) => (command, workdir),
    };
    let launch = Launch {
        command: command.clone(),
        workdir: workdir.clone(),
        startup: plan.startup,
        transport: plan.transport,
        memory_limit: plan.memory_limit,
    };
    let began = Instant::now();
    match StudentServer::start(&launch) {
        Ok(server) => {
            let mut rubric = within_deadline(&server, plan.student_timeout, || grade(server.addr));
            let (_, output, memory) = server.stop();
            note_memory(&mut rubric, memory, plan.memory_limit);
            Ok(Graded {
                student: student.into(),
                rubric,
                output,
                started: true,
            })
        }
        Err((failure, output)) => Ok(Graded {
            student: student.into(),
            rubric: Rubric {
                subject: format!("the server started by `{command}`"),
                outcomes: vec![Outcome {
                    name: SERVER_STARTS,
                    points: 0,
                    required: true,
                    concept: "the server opens the port it is given ({port})",
                    failure: Some(Failure::new(
                        "the server to open its port",
                        failure.to_string(),
                    )),
                    took: began.elapsed(),
                }],
            },
            output,
            started: false,
        }),
    }
}

/// Runs `grade` against `server`; if it is still running after `limit`, a watchdog stops the
/// server's whole process group, so every check still waiting on it fails at once instead of
/// each waiting out its own timeout, and the rubric gains a failed, pointless line saying so.
/// One student's server that hangs every check cannot hold a class's grading for hours.
fn within_deadline(
    server: &StudentServer,
    limit: Duration,
    grade: impl FnOnce() -> Rubric,
) -> Rubric {
    let (finished, done) = std::sync::mpsc::channel::<()>();
    let hit = std::sync::atomic::AtomicBool::new(false);
    let mut rubric = std::thread::scope(|scope| {
        let hit = &hit;
        scope.spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = done.recv_timeout(limit) {
                hit.store(true, Ordering::SeqCst);
                server.signal_group();
            }
        });
        let rubric = grade();
        let _ = finished.send(());
        rubric
    });
    if hit.load(Ordering::SeqCst) {
        rubric.outcomes.push(Outcome {
            name: DEADLINE,
            points: 0,
            required: false,
            concept: "grading a server has a time limit (--student-timeout)",
            failure: Some(Failure::new(
                "grading to finish within --student-timeout",
                format!(
                    "the grader stopped the server after {:.0} s; the checks still running then failed",
                    limit.as_secs_f64()
                ),
            )),
            took: limit,
        });
    }
    rubric
}

/// Adds a failed, pointless "within the memory limit" line to the rubric of a server the
/// memory watch killed: the checks that failed after it was killed failed for that reason, and
/// the student must read it there rather than guess it from "connection refused".
fn note_memory(rubric: &mut Rubric, memory: MemorySeen, limit: Option<u64>) {
    let (Some(seen), Some(limit)) = (memory.exceeded, limit) else {
        return;
    };
    rubric.outcomes.push(Outcome {
        name: MEMORY,
        points: 0,
        required: false,
        concept: "a server's memory must stay bounded whatever its clients do (--student-memory)",
        failure: Some(Failure::new(
            format!(
                "the server's processes to use at most {} of memory",
                crate::progress::human_bytes(limit)
            ),
            format!(
                "they used {} (resident); the grader killed them then, so the checks after that \
                 point failed for this reason",
                crate::progress::human_bytes(seen)
            ),
        )),
        took: Duration::ZERO,
    });
}

/// `HOST:PORT` to its first address.
fn resolve(target: &str) -> Result<SocketAddr, Error> {
    use std::net::ToSocketAddrs as _;
    target
        .to_socket_addrs()
        .map_err(|err| Error::Usage(format!("cannot resolve {target}: {err}")))?
        .next()
        .ok_or_else(|| Error::Usage(format!("{target} has no address")))
}

/// Prints one rubric in the plan's format; a started server's output comes after a failing
/// table.
fn print_one(plan: &Plan, graded: &Graded) {
    match plan.format {
        Format::Text => {
            println!("{}", graded.rubric.table());
            if !graded.rubric.passed() && !graded.output.is_empty() {
                println!("\nThe server's output:\n{}", printable(&graded.output));
            }
        }
        Format::Json => println!("{}", graded.rubric.json()),
        Format::Gradescope => {
            println!("{}", report::gradescope(&graded.rubric, &graded.output));
        }
    }
}

/// A server's output made safe to show: each line sanitized (control characters made
/// visible), the lines kept.
fn printable(output: &str) -> String {
    output
        .trim_end()
        .lines()
        .map(crate::term::sanitize)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Reads a roster: `student,address` or `student,command,workdir` per line; a first line
/// starting with `student` is a header; `#` starts a comment line. Fields may be quoted with
/// `"` (a command may hold commas). A relative workdir is relative to the roster's directory.
pub fn read_roster(path: &Path) -> Result<Vec<Student>, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| Error::Usage(format!("cannot read {}: {err}", path.display())))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut students = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields = csv_fields(line);
        if number == 0
            && fields
                .first()
                .is_some_and(|f| f.eq_ignore_ascii_case("student"))
        {
            continue;
        }
        let bad =
            |why: &str| Error::Usage(format!("{} line {}: {why}", path.display(), number + 1));
        let submission = match fields.as_slice() {
            [_, address] => Submission::Address(address.clone()),
            [_, command, workdir] => Submission::Command(
                command.clone(),
                (!workdir.is_empty()).then(|| base.join(workdir)),
            ),
            _ => return Err(bad("expected student,address or student,command,workdir")),
        };
        let name = fields.first().cloned().unwrap_or_default();
        if file_stem(&name).is_empty() {
            return Err(bad("the student's name is empty"));
        }
        if students
            .iter()
            .any(|s: &Student| file_stem(&s.name) == file_stem(&name))
        {
            return Err(bad(&format!("{name} is listed twice")));
        }
        students.push(Student { name, submission });
    }
    Ok(students)
}

/// Splits one CSV line: commas separate fields; `"..."` quotes one (`""` is a quote in it).
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        let field = fields.last_mut();
        match (c, quoted, field) {
            ('"', true, Some(field)) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', _, _) => quoted = !quoted,
            (',', false, _) => fields.push(String::new()),
            (c, _, Some(field)) => field.push(c),
            (_, _, None) => {}
        }
    }
    fields.into_iter().map(|f| f.trim().to_string()).collect()
}

/// A student's name as a file name: letters, digits, `.`, `_` and `-`; anything else becomes
/// `_`, and no name starts with a dot (so none is `..` or hidden).
pub fn file_stem(name: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    stem.trim_start_matches('.').to_string()
}

/// Grades a roster, N at a time, writes the gradebook and the per-student files, prints the
/// class summary.
fn run_roster(
    plan: &Plan,
    roster: &Path,
    grade: &(dyn Fn(SocketAddr) -> Rubric + Sync),
) -> Result<(), Error> {
    let students = read_roster(roster)?;
    std::fs::create_dir_all(&plan.out)
        .map_err(|err| Error::Usage(format!("cannot create {}: {err}", plan.out.display())))?;
    let started = Instant::now();
    let results = grade_all(plan, &students, grade);
    let mut graded = Vec::with_capacity(results.len());
    for result in results {
        graded.push(result?);
    }
    for g in &graded {
        write_file(
            &plan.out.join(format!("{}.md", file_stem(&g.student))),
            &student_page(g),
        )?;
        if plan.format == Format::Gradescope {
            let json = report::gradescope(&g.rubric, &g.output).to_string();
            write_file(
                &plan
                    .out
                    .join(format!("{}.results.json", file_stem(&g.student))),
                &json,
            )?;
        }
    }
    write_file(&plan.out.join("gradebook.csv"), &gradebook(&graded))?;
    if let Some(path) = &plan.junit {
        let suites = graded
            .iter()
            .map(|g| (g.student.as_str(), &g.rubric, g.output.as_str()));
        write_file(path, &report::junit(suites))?;
    }
    println!("{}", summary(&graded, started.elapsed(), &plan.out));
    Ok(())
}

/// Grades every student, `plan.jobs` at a time, results in roster order.
fn grade_all(
    plan: &Plan,
    students: &[Student],
    grade: &(dyn Fn(SocketAddr) -> Rubric + Sync),
) -> Vec<Result<Graded, Error>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<Graded, Error>>>> =
        Mutex::new(students.iter().map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..plan.jobs.clamp(1, students.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let at = next.fetch_add(1, Ordering::SeqCst);
                    let Some(student) = students.get(at) else {
                        break;
                    };
                    let result = grade_one(plan, &student.name, &student.submission, grade);
                    let mut results = results
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    if let Some(slot) = results.get_mut(at) {
                        *slot = Some(result);
                    }
                    let done = results.iter().filter(|r| r.is_some()).count();
                    crate::term::progress(format!(
                        "graded {} ({done}/{})",
                        student.name,
                        students.len()
                    ));
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(Error::Failed("a grading thread ended early".into()))))
        .collect()
}

/// The class's most common possible total: the max of a student whose server never started.
fn class_max(graded: &[Graded]) -> u32 {
    let mut counts: BTreeMap<u32, usize> = BTreeMap::new();
    for g in graded.iter().filter(|g| g.started) {
        *counts.entry(g.rubric.score().1).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by_key(|&(_, n)| n)
        .map_or(0, |(max, _)| max)
}

/// Every check's name, in the order of first appearance.
fn check_names(graded: &[Graded]) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for o in graded.iter().flat_map(|g| &g.rubric.outcomes) {
        if o.name != SERVER_STARTS && !names.contains(&o.name) {
            names.push(o.name);
        }
    }
    names
}

/// A CSV field, quoted when it must be.
fn csv(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// `gradebook.csv`: student, points, max, one column per check (points earned; empty when the
/// check did not run for that student).
pub fn gradebook(graded: &[Graded]) -> String {
    let names = check_names(graded);
    let max = class_max(graded);
    let mut out = String::from("student,points,max");
    for name in &names {
        out.push(',');
        out.push_str(&csv(name));
    }
    out.push('\n');
    for g in graded {
        let (earned, possible) = g.rubric.score();
        let possible = if g.started { possible } else { max };
        let _ = write!(out, "{},{earned},{possible}", csv(&g.student));
        for name in &names {
            out.push(',');
            if let Some(o) = g.rubric.outcomes.iter().find(|o| o.name == *name) {
                out.push_str(&o.earned().to_string());
            }
        }
        out.push('\n');
    }
    out
}

/// `STUDENT.md`: the rubric with its reasons; the server's output when anything failed.
pub fn student_page(g: &Graded) -> String {
    let mut page = format!("# {}\n\n{}\n", g.student, g.rubric.table());
    if !g.rubric.passed() && !g.output.is_empty() {
        let output = printable(&g.output).replace("```", "'''");
        let _ = write!(page, "\n## The server's output\n\n```text\n{output}\n```\n");
    }
    page
}

/// The class summary: how many passed, the distribution of points, the checks failed most.
pub fn summary(graded: &[Graded], took: Duration, out: &Path) -> String {
    let max = class_max(graded);
    let passed = graded.iter().filter(|g| g.rubric.passed()).count();
    let mut text = format!(
        "Graded {} students in {:.1} s: {passed} passed every required check.\n\nPoints (of {max}):\n",
        graded.len(),
        took.as_secs_f64()
    );
    let mut by_points: BTreeMap<u32, usize> = BTreeMap::new();
    for g in graded {
        *by_points.entry(g.rubric.score().0).or_default() += 1;
    }
    for (points, count) in by_points.iter().rev() {
        let _ = writeln!(text, "  {points:>4}  {} {count}", "#".repeat(*count));
    }
    let mut failed: BTreeMap<&str, usize> = BTreeMap::new();
    for o in graded.iter().flat_map(|g| &g.rubric.outcomes) {
        if o.failure.is_some() {
            *failed.entry(o.name).or_default() += 1;
        }
    }
    let mut failed: Vec<_> = failed.into_iter().collect();
    failed.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    if failed.is_empty() {
        text.push_str("\nNo check failed.\n");
    } else {
        text.push_str("\nChecks failed most (what to teach again):\n");
        for (name, count) in failed {
            let _ = writeln!(text, "  {count:>4}  {name}");
        }
    }
    let _ = write!(
        text,
        "\nWrote {}/gradebook.csv and one STUDENT.md per student.",
        out.display()
    );
    text
}

/// Writes `text` to `path` through a temporary name, so a file is never half-written.
fn write_file(path: &Path, text: &str) -> Result<(), Error> {
    let temporary = path.with_extension("partial");
    std::fs::write(&temporary, text)
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|err| Error::Failed(format!("cannot write {}: {err}", path.display())))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Roster lines: a header, comments, quoted commands with commas, relative workdirs.
    #[test]
    fn rosters_are_read() {
        let dir = std::env::temp_dir().join(format!("netlab-roster-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("class.csv");
        std::fs::write(
            &path,
            "student,address\n# a comment\nann,127.0.0.1:9000\nbob,\"python3 s.py {port},x\",bob\ncat,./run {port},\n",
        )
        .unwrap();
        let students = read_roster(&path).unwrap();
        assert_eq!(students.len(), 3);
        assert_eq!(
            students[0].submission,
            Submission::Address("127.0.0.1:9000".into())
        );
        assert_eq!(
            students[1].submission,
            Submission::Command("python3 s.py {port},x".into(), Some(dir.join("bob")))
        );
        assert_eq!(
            students[2].submission,
            Submission::Command("./run {port}".into(), None)
        );
        std::fs::write(&path, "ann,a:1\nann,b:2\n").unwrap();
        assert!(read_roster(&path).is_err(), "a name twice");
        std::fs::write(&path, "ann\n").unwrap();
        assert!(read_roster(&path).is_err(), "no address");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A started server that the memory watch killed gets a failed "within the memory limit"
    /// line naming the limit, after the lab's own checks, and its peers' checks are untouched.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_server_over_its_memory_limit_gets_a_rubric_line() {
        use std::io::Read as _;
        if crate::grade::server::which("python3").is_none() {
            return;
        }
        let python = "import socket,sys\n\
            s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen()\n\
            c, _ = s.accept(); hoard = []\n\
            while True: hoard.append(b'x' * (20 << 20))";
        let plan = Plan {
            target: None,
            server_cmd: None,
            roster: None,
            jobs: 1,
            out: PathBuf::from("unused"),
            format: Format::Text,
            junit: None,
            startup: Duration::from_secs(5),
            student_timeout: Duration::from_secs(60),
            memory_limit: Some(64 << 20),
            transport: Transport::Tcp,
        };
        let submission = Submission::Command(format!("python3 -c \"{python}\" {{port}}"), None);
        // The lab's one check: the server answers a byte (this one never does; it hoards).
        let check = |addr: SocketAddr| {
            let mut client = std::net::TcpStream::connect(addr).unwrap();
            client
                .set_read_timeout(Some(Duration::from_secs(20)))
                .unwrap();
            let answered = matches!(client.read(&mut [0u8; 1]), Ok(1));
            Rubric {
                subject: "a hoarder".into(),
                outcomes: vec![Outcome {
                    name: "answers",
                    points: 1,
                    required: true,
                    concept: "",
                    failure: (!answered).then(|| Failure::new("a byte", "the connection ended")),
                    took: Duration::ZERO,
                }],
            }
        };
        let graded = grade_one(&plan, "hoarder", &submission, &check).unwrap();
        let names: Vec<&str> = graded.rubric.outcomes.iter().map(|o| o.name).collect();
        assert_eq!(names, ["answers", MEMORY]);
        let memory = graded.rubric.outcomes.last().unwrap();
        let failure = memory.failure.as_ref().unwrap();
        assert!(failure.expected.contains("at most 64 MiB"), "{failure:?}");
        assert_eq!(memory.points, 0);
    }

    /// A name never leaves the output directory.
    #[test]
    fn names_become_safe_file_names() {
        assert_eq!(file_stem("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(file_stem("Ann Lee"), "Ann_Lee");
        assert_eq!(file_stem(".."), "");
    }
}
