//! # A lossy link for TCP and UDP alike: two network namespaces and a veth pair (Linux, root)
//!
//! TCP retransmits inside the kernel, so the UDP lab's in-program fault injector cannot make TCP
//! lose anything. To compare them fairly the *network* must lose packets. A network namespace is
//! a private copy of the kernel's network stack (interfaces, routes, firewall), made with
//! `ip netns add`: to the programs in it, a separate host. We make two, `…-a` and `…-b`, and
//! join them with a veth pair, a virtual Ethernet cable whose two ends are network interfaces
//! (`veth0` in each, 10.99.0.1 and 10.99.0.2, MTU 1500 as on real Ethernet). The chat bench runs
//! in `a` and creates its receiving end in `b` (`udp-chat bench --peer-netns`): its TCP
//! connection and its UDP datagrams cross the same cable, and the cable loses packets. Nothing
//! outside the two namespaces is touched.
//!
//! Two ways to lose packets, tried in this order, in both namespaces (so each direction of the
//! link, data and acknowledgements, loses the chosen share):
//! - `tc qdisc add dev veth0 root netem loss P% delay D`: the kernel's network emulator, which
//!   can also delay. Many kernels are built without it (`sch_netem`).
//! - nftables: a rule in each namespace's own firewall that drops the chosen share of packets as
//!   they arrive (`numgen random mod 100 < P drop`, hook `prerouting`). Loss only: no delay.
//!   The drop happens on the way *in*, so the sender cannot notice it. (Dropped on the way out,
//!   a packet makes the sender's own `send` fail, and TCP simply tries again at once: that is
//!   not what a lossy network does, and TCP would look far better than it is.)
//!
//! Namespaces outlive the program that made them, so both are deleted (and the veth pair with
//! them) when their [`LossyLink`] is dropped, and on Ctrl-C ([`clean_up_on_interrupt`]).

use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use netlab_common::Error;

use crate::NetworkChoice;

/// Namespaces alive now, for the Ctrl-C handler.
static ALIVE: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// Numbers the namespaces of this run.
static NEXT: AtomicU32 = AtomicU32::new(0);

/// Where the chat comparison's loss comes from.
#[derive(Debug, Clone)]
pub enum Network {
    /// Two network namespaces joined by a lossy veth pair; `netem` says whether delay is
    /// possible.
    Namespace {
        /// `tc netem` works here (else nftables, loss only).
        netem: bool,
    },
    /// The UDP lab's fault injector; TCP sees no loss. Why the namespace was not used.
    InProgram {
        /// The reason, for the report.
        why: String,
    },
}

impl Network {
    /// Decides, by trying, as `choice` allows.
    pub fn probe(choice: NetworkChoice) -> Result<Network, Error> {
        if choice == NetworkChoice::InProgram {
            return Ok(Network::InProgram {
                why: "--network in-program was given".into(),
            });
        }
        match namespace_possible() {
            Ok(netem) => Ok(Network::Namespace { netem }),
            Err(why) if choice == NetworkChoice::Auto => Ok(Network::InProgram { why }),
            Err(why) => Err(Error::Usage(format!(
                "cannot make a network namespace: {why}"
            ))),
        }
    }
}

/// `Ok(netem available)` if a lossy namespace can be made here, or why not.
fn namespace_possible() -> Result<bool, String> {
    if !cfg!(target_os = "linux") {
        return Err("network namespaces are a Linux feature".into());
    }
    if !is_root() {
        return Err("not running as root (network namespaces need it)".into());
    }
    if !on_path("ip") {
        return Err("`ip` (iproute2) is not installed".into());
    }
    let probe = LossyLink::create().map_err(|err| err.to_string())?;
    let netem = probe.netem_works();
    if !netem && !on_path("nft") {
        return Err("neither tc netem nor nftables (nft) is available to drop packets".into());
    }
    Ok(netem)
}

/// The two ends' addresses on the link.
pub const SENDER_ADDR: &str = "10.99.0.1";
/// The receiving end's address (in the second namespace).
pub const RECEIVER_ADDR: &str = "10.99.0.2";

/// Two network namespaces joined by a veth pair that loses `loss_percent` of packets each way.
/// Deleted on drop.
pub struct LossyLink {
    /// The sending side's namespace (where the bench runs).
    sender: String,
    /// The receiving side's namespace (`udp-chat bench --peer-netns`).
    receiver: String,
}

impl LossyLink {
    /// Makes both namespaces, the cable between them with an address at each end, and no loss
    /// yet.
    pub fn create() -> Result<Self, Error> {
        let base = format!(
            "netlab-cmp-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let link = LossyLink {
            sender: format!("{base}-a"),
            receiver: format!("{base}-b"),
        };
        for name in [&link.sender, &link.receiver] {
            run_ip(&["netns", "add", name])?;
            if let Ok(mut alive) = ALIVE.lock() {
                alive.push(name.clone());
            }
        }
        // One command makes both ends of the cable, one in each namespace.
        run_ip(&[
            "-n",
            &link.sender,
            "link",
            "add",
            "veth0",
            "type",
            "veth",
            "peer",
            "name",
            "veth0",
            "netns",
            &link.receiver,
        ])?;
        for (name, addr) in [(&link.sender, SENDER_ADDR), (&link.receiver, RECEIVER_ADDR)] {
            run_ip(&["-n", name, "link", "set", "lo", "up"])?;
            run_ip(&[
                "-n",
                name,
                "addr",
                "add",
                &format!("{addr}/24"),
                "dev",
                "veth0",
            ])?;
            run_ip(&["-n", name, "link", "set", "veth0", "up"])?;
        }
        Ok(link)
    }

    /// The receiving side's namespace, for `udp-chat bench --peer-netns`.
    pub fn receiver(&self) -> &str {
        &self.receiver
    }

    /// Makes the link lose `loss_percent` of packets each way (and delay them `delay_ms` where
    /// netem exists). Returns how, for the report.
    pub fn make_lossy(
        &self,
        loss_percent: u32,
        delay_ms: u32,
        netem: bool,
    ) -> Result<String, Error> {
        if netem
            && self
                .ends()
                .all(|end| try_netem(end, loss_percent, delay_ms))
        {
            return Ok(format!(
                "tc netem on both ends: loss {loss_percent}%, delay {delay_ms} ms"
            ));
        }
        if loss_percent == 0 {
            return Ok("no loss".into());
        }
        for end in self.ends() {
            drop_arriving(end, loss_percent)?;
        }
        Ok(format!(
            "nftables: {loss_percent}% of the packets arriving at each end dropped (numgen random), \
             no delay"
        ))
    }

    fn ends(&self) -> impl Iterator<Item = &str> {
        [self.sender.as_str(), self.receiver.as_str()].into_iter()
    }

    /// A command that runs `program` on the sending side.
    pub fn exec(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        exec_in(&self.sender, program)
    }

    /// Whether `tc netem` works here (tried on a throwaway link).
    pub fn netem_works(&self) -> bool {
        try_netem(&self.sender, 0, 0)
    }
}

impl Drop for LossyLink {
    fn drop(&mut self) {
        for name in [&self.sender, &self.receiver] {
            delete(name);
            if let Ok(mut alive) = ALIVE.lock() {
                alive.retain(|alive| alive != name);
            }
        }
    }
}

/// A command that runs `program` inside namespace `name`.
fn exec_in(name: &str, program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new("ip");
    command.args(["netns", "exec", name]).arg(program);
    command
}

/// Tries `tc netem` on the namespace's end of the link; whether it worked.
fn try_netem(namespace: &str, loss_percent: u32, delay_ms: u32) -> bool {
    let loss = format!("{loss_percent}%");
    let delay = format!("{delay_ms}ms");
    let args = [
        "qdisc", "replace", "dev", "veth0", "root", "netem", "loss", &loss, "delay", &delay,
    ];
    exec_in(namespace, "tc")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// An nftables rule in the namespace: drop `loss_percent` of the TCP and UDP packets arriving.
fn drop_arriving(namespace: &str, loss_percent: u32) -> Result<(), Error> {
    let rules = format!(
        "table inet netlab_loss {{\n  chain arriving {{\n    type filter hook prerouting priority -300;\n    \
         meta l4proto {{ tcp, udp }} numgen random mod 100 < {loss_percent} drop\n  }}\n}}\n"
    );
    let mut child = exec_in(namespace, "nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| Error::io("starting nft", err))?;
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write as _;
        stdin
            .write_all(rules.as_bytes())
            .map_err(|err| Error::io("writing the nftables rule", err))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|err| Error::io("running nft", err))?;
    if output.status.success() {
        return Ok(());
    }
    Err(Error::Failed(format!(
        "nft refused the loss rule in {namespace}: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    )))
}

fn delete(name: &str) {
    let _ = Command::new("ip")
        .args(["netns", "del", name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// On Ctrl-C, deletes every namespace this run made before exiting (status 130, as a shell
/// reports a program stopped by SIGINT).
pub fn clean_up_on_interrupt() -> Result<(), Error> {
    ctrlc::set_handler(|| {
        if let Ok(alive) = ALIVE.lock() {
            for name in alive.iter() {
                delete(name);
            }
        }
        eprintln!("interrupted: network namespaces removed");
        std::process::exit(130);
    })
    .map_err(|err| Error::Failed(format!("cannot catch Ctrl-C: {err}")))
}

fn run_ip(args: &[&str]) -> Result<(), Error> {
    let output = Command::new("ip")
        .args(args)
        .output()
        .map_err(|err| Error::io("running ip", err))?;
    if output.status.success() {
        return Ok(());
    }
    Err(Error::Failed(format!(
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr).trim()
    )))
}

/// Effective user id 0, from `/proc/self/status` (Linux).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find(|line| line.starts_with("Uid:"))
            .and_then(|line| line.split_whitespace().nth(2))
            == Some("0")
    })
}

/// Whether `program` is found on `PATH`.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}
