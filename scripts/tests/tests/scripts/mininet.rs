//! `scripts/mininet-lab` end to end, on Mininet: every scenario runs and shows its lesson (the
//! echo and the chat room across the switch, udp-chat delivering everything over a 5% lossy WAN,
//! bots on three hosts, FTP passive through a NAT and active refused), the CLI's `shape` takes a
//! link down and up, and nothing of a network outlives it: no host shell, no program inside a
//! host, no bridge or switch port, no loss rule.
//!
//! What each scenario prints is also compared with its transcript in docs/README.md ("One
//! scenario per lab", "Mininet's CLI"), every number masked (ports, times, counts) and the loss
//! mechanism too (nftables here, tc netem on a kernel that has it), so the instructor guide
//! stays true.
//!
//! Mininet's names (s1, s1-eth1, ...) belong to the whole machine, so its networks cannot
//! overlap: the tests take turns ([`MININET`]), and each skips visibly where the script says it
//! cannot run (exit status 2: not root, no Mininet, another Mininet network running). A guard runs
//! `mininet-lab clean` if a test fails half-way.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::Instant;

use netlab_testkit::docs::{Doc, commands, compare, mask_numbers, workspace_root};
use netlab_testkit::{find_program, skip, workspace_binary};

/// One Mininet network at a time in this test binary.
static MININET: Mutex<()> = Mutex::new(());

/// The lab binaries a scenario runs: (package, binary).
const LAB_BINARIES: &[(&str, &str)] = &[
    ("tcp-echo", "tcp-echo"),
    ("tcp-chat", "tcp-chat"),
    ("udp-chat", "udp-chat"),
    ("ftp-lab", "ftp-lab"),
    ("netlab-game", "game-lab"),
];

/// Where this build's lab binaries are (all built, so `--bin-dir` finds every one).
fn bin_dir() -> PathBuf {
    let mut dir = PathBuf::new();
    for (package, bin) in LAB_BINARIES {
        dir = workspace_binary(package, bin)
            .parent()
            .unwrap()
            .to_path_buf();
    }
    dir
}

/// `scripts/mininet-lab ARGS... --bin-dir DIR` from the workspace root, its standard error
/// into the same pipe as its output (`stdout`), so the lines keep the order a terminal shows.
fn mininet_lab(args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(r#""$0" "$@" 2>&1"#)
        .arg(workspace_root().join("scripts/mininet-lab"))
        .args(args)
        .arg("--bin-dir")
        .arg(bin_dir())
        .current_dir(workspace_root())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `mininet-lab ARGS` in turn with the other tests; `None` (after a SKIPPED line) where it
/// cannot run here. Afterwards checks that the network left nothing behind.
fn run_in_turn(test: &str, args: &[&str]) -> Option<(Output, f64)> {
    if !cfg!(target_os = "linux") {
        skip(test, "Mininet is Linux only");
        return None;
    }
    let _turn = MININET
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let guard = CleanOnPanic;
    let started = Instant::now();
    let output = mininet_lab(args);
    let seconds = started.elapsed().as_secs_f64();
    if output.status.code() == Some(2) {
        std::mem::forget(guard); // nothing was started
        skip(test, text(&output.stdout).trim());
        return None;
    }
    assert_nothing_left(&format!("after mininet-lab {}", args.join(" ")));
    std::mem::forget(guard);
    Some((output, seconds))
}

/// Runs `mininet-lab clean` when a test panics while its network may be up.
struct CleanOnPanic;

impl Drop for CleanOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = mininet_lab(&["clean"]);
        }
    }
}

// ---- what a network must not leave behind ---------------------------------------------------

/// Panics naming every leftover: Mininet node shells, lab programs still running in another
/// network namespace, Mininet-named bridges and ports, `netlab_loss_*` nftables tables.
fn assert_nothing_left(when: &str) {
    let mut leftovers = Vec::new();
    let own_namespace = std::fs::read_link("/proc/self/ns/net").ok();
    let bin_dir = bin_dir();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let argv = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let argv: Vec<String> = argv
            .split(|&byte| byte == 0)
            .filter(|arg| !arg.is_empty())
            .map(text)
            .collect();
        if argv.last().is_some_and(|arg| arg.starts_with("mininet:")) {
            leftovers.push(format!("node shell pid {pid}: {}", argv.join(" ")));
            continue;
        }
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
        let namespace = std::fs::read_link(format!("/proc/{pid}/ns/net")).ok();
        if exe.as_deref().is_some_and(|exe| exe.starts_with(&bin_dir))
            && namespace.is_some()
            && namespace != own_namespace
        {
            leftovers.push(format!(
                "lab program pid {pid} in a host: {}",
                argv.join(" ")
            ));
        }
    }
    let links = Command::new("ip").args(["-o", "link", "show"]).output();
    for line in text(&links.map(|out| out.stdout).unwrap_or_default()).lines() {
        let name = line.split(": ").nth(1).unwrap_or("");
        let name = name.split('@').next().unwrap_or(name);
        if is_mininet_interface(name) {
            leftovers.push(format!("interface {name}"));
        }
    }
    if find_program("nft").is_some() {
        let tables = Command::new("nft")
            .args(["list", "tables"])
            .output()
            .unwrap();
        for table in text(&tables.stdout).lines() {
            if table.contains("netlab_loss_") {
                leftovers.push(format!("nftables {table}"));
            }
        }
    }
    assert!(
        leftovers.is_empty(),
        "{when}, these are left:\n  {}",
        leftovers.join("\n  ")
    );
}

/// `s1`, `s2` (Mininet's switches here) and `s1-eth1`, `h2-eth0`, `nat1-eth1` (its ports).
fn is_mininet_interface(name: &str) -> bool {
    let numbered = |part: &str| {
        let letters = part.trim_end_matches(|c: char| c.is_ascii_digit());
        letters.len() < part.len() && letters.chars().all(|c| c.is_ascii_lowercase())
    };
    match name.split_once("-eth") {
        Some((node, port)) => {
            numbered(node) && !port.is_empty() && port.chars().all(|c| c.is_ascii_digit())
        }
        None => name.starts_with('s') && numbered(name) && name[1..].parse::<u32>().is_ok(),
    }
}

// ---- the docs ------------------------------------------------------------------------------

/// The page whose transcripts these tests replay.
const GUIDE: &str = "docs/README.md";

/// The `$ COMMAND` line's number in the guide, and the lines under it, from the console block
/// that starts with it.
fn documented_output(command: &str) -> (usize, Vec<String>) {
    let doc = Doc::read(GUIDE);
    let block = doc
        .blocks()
        .into_iter()
        .find(|block| {
            block
                .lines
                .first()
                .is_some_and(|(_, line)| line == &format!("$ {command}"))
        })
        .unwrap_or_else(|| panic!("{GUIDE} has no console block starting with `$ {command}`"));
    let found = commands(GUIDE, &block);
    assert_eq!(found.len(), 1, "one command per Mininet transcript block");
    let found = found.into_iter().next().unwrap();
    (found.line, found.output)
}

/// A transcript line with what differs between runs and kernels made equal: every number, the
/// loss mechanism (an nftables rule, or tc netem), and Mininet's warning about bridge firewalling.
fn normalize(line: &str) -> Option<String> {
    if line.starts_with("Warning: Linux bridge may not work") {
        return None;
    }
    let mut line = mask_numbers(line.trim_end());
    if line.starts_with("  kernel: ") {
        line = "  kernel: (what this kernel has)".into();
    }
    for mechanism in ["by tc netem", "by nftables '"] {
        if let Some(at) = line.find(mechanism) {
            let end = line[at..].find(';').map_or(line.len(), |end| at + end);
            line.replace_range(at..end, "by MECHANISM");
        }
    }
    Some(line)
}

/// What `command` printed is what the guide shows under it, once both are normalized.
fn assert_matches_guide(command: &str, printed: &str) {
    let real: Vec<String> = printed.lines().filter_map(normalize).collect();
    let (line, output) = documented_output(command);
    let shown: Vec<String> = output.iter().filter_map(|line| normalize(line)).collect();
    compare(GUIDE, line + 1, &format!("`{command}`"), &real, &shown);
}

// ---- the scenarios ---------------------------------------------------------------------------

/// Runs scenario `name`, asserts it passed and matches the guide, and returns its output.
fn scenario(test: &str, name: &str) -> Option<String> {
    let (output, seconds) = run_in_turn(test, &["run", name])?;
    let printed = text(&output.stdout);
    assert!(
        output.status.success(),
        "mininet-lab run {name} failed ({}):\n{printed}",
        output.status
    );
    assert!(
        printed
            .lines()
            .last()
            .is_some_and(|line| line.starts_with(&format!("PASS {name}: "))),
        "{printed}"
    );
    eprintln!("mininet-lab run {name}: {seconds:.1} s");
    assert_matches_guide(&format!("scripts/mininet-lab run {name}"), &printed);
    Some(printed)
}

/// Asserts that `printed` has each of `lines`, whole.
fn assert_lines(printed: &str, lines: &[&str]) {
    for line in lines {
        assert!(
            printed.lines().any(|printed| printed == *line),
            "no line {line:?} in:\n{printed}"
        );
    }
}

/// The echo server on h1 answers clients on h2 and h3, and lists them at their own addresses.
#[test]
fn mininet_echo_across_the_switch() {
    let Some(printed) = scenario("mininet_echo_across_the_switch", "echo") else {
        return;
    };
    assert_lines(
        &printed,
        &["h2  < ACK hello from h2", "h3  < ACK hello from h3"],
    );
    assert!(printed.contains("h3  < Client01 10.0.0.2:"), "{printed}");
    assert!(printed.contains("h3  < Client02 10.0.0.3:"), "{printed}");
}

/// The chat room on h1 relays each member's line to the two members on the other hosts.
#[test]
fn mininet_chat_room_relays_between_three_hosts() {
    let Some(printed) = scenario("mininet_chat_room_relays_between_three_hosts", "chat") else {
        return;
    };
    assert_lines(
        &printed,
        &[
            "h3  < MSG Client01 hello from h2",
            "h4  < MSG Client01 hello from h2",
            "h2  < MSG Client02 hello from h3",
            "h4  < MSG Client02 hello from h3",
            "h2  < MSG Client03 hello from h4",
            "h3  < MSG Client03 hello from h4",
        ],
    );
}

/// udp-chat over a WAN losing 5% each way delivers all 20 lines each way, in order.
#[test]
fn mininet_udp_chat_delivers_everything_at_5_percent_loss() {
    let Some(printed) = scenario(
        "mininet_udp_chat_delivers_everything_at_5_percent_loss",
        "udp-chat",
    ) else {
        return;
    };
    assert!(
        printed.contains("  link r1-s2: loss 5% each way by "),
        "{printed}"
    );
    assert_lines(
        &printed,
        &[
            "h2  received all 20 of bob's lines, in order",
            "h3  received all 20 of ada's lines, in order",
        ],
    );
}

/// Bots on h2, h3 and h4 finish their games on h1's server without an error.
#[test]
fn mininet_game_bots_on_three_hosts() {
    let Some(printed) = scenario("mininet_game_bots_on_three_hosts", "game") else {
        return;
    };
    for host in ["h2", "h3", "h4"] {
        assert!(
            printed
                .lines()
                .any(|line| line.starts_with(&format!("{host}  "))
                    && line.contains("games finished by 4 bots")
                    && line.ends_with(" 0 errors")),
            "{host}'s bots: {printed}"
        );
    }
}

/// Through the NAT, a passive download arrives whole and an active one is refused, the server
/// seeing the NAT's address where `PORT` names the private one.
#[test]
fn mininet_ftp_passive_works_and_active_fails_through_nat() {
    let Some(printed) = scenario(
        "mininet_ftp_passive_works_and_active_fails_through_nat",
        "ftp-nat",
    ) else {
        return;
    };
    assert_lines(
        &printed,
        &[
            "h2  saved passive.txt: 'hello through the NAT', exit status 0",
            "h2  exit status 1",
            "h1  RTNETLINK answers: Network is unreachable",
        ],
    );
    assert!(
        printed.contains("refused PORT to 192.168.1.2:")
            || printed.contains("refused EPRT to 192.168.1.2:"),
        "{printed}"
    );
    assert!(
        printed.contains("your own address 10.0.0.254, not 192.168.1.2"),
        "{printed}"
    );
}

// ---- the CLI, and the rest of the entry --------------------------------------------------------

/// The guide's CLI script: `shape h2 loss=100` stops h2's pings and `shape h2` restores them.
#[test]
fn mininet_cli_shape_takes_a_link_down_and_up() {
    const TEST: &str = "mininet_cli_shape_takes_a_link_down_and_up";
    if find_program("ping").is_none() {
        return skip(
            TEST,
            "`ping` is not installed (apt-get install iputils-ping)",
        );
    }
    let script = "scripts/mininet/examples/lossy-h2.cli";
    let Some((output, _)) = run_in_turn(TEST, &["cli", "star", "--script", script]) else {
        return;
    };
    let printed = text(&output.stdout);
    assert!(output.status.success(), "{printed}");
    let received: Vec<&str> = printed
        .lines()
        .filter(|line| line.contains("packets transmitted"))
        .collect();
    assert_eq!(received.len(), 3, "{printed}");
    assert!(
        received[0].contains(" 2 received, 0% packet loss"),
        "{printed}"
    );
    assert!(
        received[1].contains(" 0 received, 100% packet loss"),
        "{printed}"
    );
    assert!(
        received[2].contains(" 1 received, 0% packet loss"),
        "{printed}"
    );
    assert!(
        printed.contains("  link h2-s1: loss 100% each way by "),
        "{printed}"
    );
    assert_matches_guide(
        &format!("scripts/mininet-lab cli star --script {script}"),
        &printed,
    );
}

/// Only whole, numbered switch and port names count as Mininet's (the leftover check).
#[test]
fn mininet_interface_names() {
    for name in ["s1", "s12", "s1-eth1", "h2-eth0", "nat1-eth1", "r1-eth0"] {
        assert!(is_mininet_interface(name), "{name}");
    }
    for name in [
        "eth0",
        "lo",
        "docker0",
        "s",
        "sx",
        "veth1-eth",
        "br0",
        "ifb0",
    ] {
        assert!(!is_mininet_interface(name), "{name}");
    }
}

/// `scripts/netns-lab` is retired: it does nothing and names the Mininet command for each of
/// its own.
#[test]
fn netns_lab_points_to_mininet_lab() {
    let script = workspace_root().join("scripts/netns-lab");
    let output = Command::new(&script).args(["up", "3"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let said = text(&output.stderr);
    assert!(
        said.starts_with("netns-lab is retired: use scripts/mininet-lab"),
        "{said}"
    );
    assert!(
        said.contains("netns-lab link h2 --loss 30      ->  mininet> shape h2 loss=30"),
        "{said}"
    );
    let help = Command::new(&script).arg("--help").output().unwrap();
    assert!(help.status.success());
}

/// Every scenario `mininet-lab list` names has a test above and a transcript in the guide.
#[test]
fn mininet_every_scenario_is_tested_and_documented() {
    let tested = ["echo", "chat", "udp-chat", "game", "ftp-nat"];
    let python = std::env::var("MININET_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".into());
    let has_mininet = Path::new(&python).is_file()
        && Command::new(&python)
            .args(["-c", "import mininet"])
            .status()
            .is_ok_and(|status| status.success());
    if !has_mininet {
        return skip(
            "mininet_every_scenario_is_tested_and_documented",
            "Mininet is not installed (apt-get install mininet bridge-utils)",
        );
    }
    let output = mininet_lab(&["list"]);
    let listed = text(&output.stdout);
    assert!(output.status.success(), "{listed}");
    let scenarios: Vec<&str> = listed
        .split("scenarios (mininet-lab run NAME):")
        .nth(1)
        .unwrap_or("")
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert_eq!(scenarios, tested, "{listed}");
    for name in tested {
        documented_output(&format!("scripts/mininet-lab run {name}"));
    }
}
