//! # A lossy network for TCP and UDP alike: a network namespace (Linux, root)
//!
//! TCP retransmits inside the kernel, so the UDP lab's in-program fault injector cannot make TCP
//! lose anything. To compare them fairly the *network* must lose packets. A network namespace is
//! a private copy of the kernel's network stack (interfaces, routes, firewall), made with
//! `ip netns add`; a program started with `ip netns exec NAME` sees only that copy. Inside it we
//! make the loopback interface lossy and run the whole chat bench there: its TCP connection and
//! its UDP datagrams cross the same lossy loopback. Nothing outside the namespace is touched.
//!
//! Two ways to lose packets, tried in this order:
//! - `tc qdisc add dev lo root netem loss P% delay D`: the kernel's network emulator, which can
//!   also delay. Many kernels are built without it (`sch_netem`).
//! - nftables: a rule in the namespace's own firewall that drops the chosen share of packets as
//!   they arrive (`numgen random mod 100 < P drop`, hook `prerouting`). Loss only: no delay.
//!   The drop happens on the way *in*, so the sender cannot notice it. (Dropped on the way out,
//!   a packet makes the sender's own `send` fail, and TCP simply tries again at once: that is
//!   not what a lossy network does, and TCP would look far better than it is.)
//!
//! The loopback's MTU is set to 1500 bytes, an Ethernet's, so TCP cuts the stream into segments
//! of a realistic size (on the usual 64 KiB loopback MTU one lost "packet" would be 40 messages).
//!
//! Namespaces outlive the program that made them, so every one is deleted when its
//! [`LossyNamespace`] is dropped, and on Ctrl-C ([`clean_up_on_interrupt`]).

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
    /// A network namespace with a lossy loopback; `netem` says whether delay is possible.
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
    let probe = LossyNamespace::create().map_err(|err| err.to_string())?;
    let netem = probe.try_netem(0, 0);
    if !netem && !on_path("nft") {
        return Err("neither tc netem nor nftables (nft) is available to drop packets".into());
    }
    Ok(netem)
}

/// A network namespace whose loopback loses `loss_percent` of packets. Deleted on drop.
pub struct LossyNamespace {
    name: String,
}

impl LossyNamespace {
    /// Makes the namespace, its loopback up with an MTU of 1500, and no loss yet.
    pub fn create() -> Result<Self, Error> {
        let name = format!(
            "netlab-cmp-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        run_ip(&["netns", "add", &name])?;
        if let Ok(mut alive) = ALIVE.lock() {
            alive.push(name.clone());
        }
        let namespace = LossyNamespace { name };
        namespace.exec_ok("ip", &["link", "set", "lo", "up"])?;
        namespace.exec_ok("ip", &["link", "set", "lo", "mtu", "1500"])?;
        Ok(namespace)
    }

    /// Makes the loopback lose `loss_percent` of packets (and delay them `delay_ms` where netem
    /// exists). Returns how, for the report.
    pub fn make_lossy(
        &self,
        loss_percent: u32,
        delay_ms: u32,
        netem: bool,
    ) -> Result<String, Error> {
        if netem && self.try_netem(loss_percent, delay_ms) {
            return Ok(format!(
                "tc netem: loss {loss_percent}%, delay {delay_ms} ms"
            ));
        }
        if loss_percent == 0 {
            return Ok("no loss".into());
        }
        let rules = format!(
            "table inet netlab_loss {{\n  chain arriving {{\n    type filter hook prerouting priority -300;\n    \
             meta l4proto {{ tcp, udp }} numgen random mod 100 < {loss_percent} drop\n  }}\n}}\n"
        );
        let mut nft = self.exec("nft");
        nft.args(["-f", "-"]).stdin(Stdio::piped());
        let mut child = nft
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
        if !output.status.success() {
            return Err(Error::Failed(format!(
                "nft refused the loss rule: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        Ok(format!(
            "nftables: {loss_percent}% of arriving packets dropped (numgen random), no delay"
        ))
    }

    /// Tries `tc netem` on the loopback; whether it worked.
    fn try_netem(&self, loss_percent: u32, delay_ms: u32) -> bool {
        let loss = format!("{loss_percent}%");
        let delay = format!("{delay_ms}ms");
        let args = [
            "qdisc", "replace", "dev", "lo", "root", "netem", "loss", &loss, "delay", &delay,
        ];
        self.exec("tc")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }

    /// A command that runs `program` inside the namespace.
    pub fn exec(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name]).arg(program);
        command
    }

    fn exec_ok(&self, program: &str, args: &[&str]) -> Result<(), Error> {
        let output = self
            .exec(program)
            .args(args)
            .output()
            .map_err(|err| Error::io(format!("running {program} in {}", self.name), err))?;
        if output.status.success() {
            return Ok(());
        }
        Err(Error::Failed(format!(
            "{program} {} in namespace {}: {}",
            args.join(" "),
            self.name,
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

impl Drop for LossyNamespace {
    fn drop(&mut self) {
        delete(&self.name);
        if let Ok(mut alive) = ALIVE.lock() {
            alive.retain(|name| name != &self.name);
        }
    }
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
