//! # Two hosts in one program: the receiving end in another network namespace (Linux)
//!
//! On one machine the bench's two ends normally talk over loopback. An instructor comparing TCP
//! with the UDP schemes wants a *link* between two hosts that loses packets, where TCP and UDP
//! face the same network. `scripts/compare-protocols` builds one: two network namespaces (each a
//! private copy of the kernel's network stack, made with `ip netns add`) joined by a veth pair
//! (a virtual cable: what one end sends, the other receives), with loss on the link. The bench
//! itself runs in the first namespace (`ip netns exec A udp-chat bench ...`); `--peer-netns B
//! --peer-addr IP` puts the receiving end in the second.
//!
//! How one process can be on two hosts: a socket belongs to the namespace of the thread that
//! *created* it, for its whole life. So a short-lived thread moves itself into namespace B
//! (`setns(2)` on `/run/netns/B`, the file `ip netns add` made), creates the receiver's socket
//! there, and ends; the socket stays in B, and the rest of the program uses it like any other.
//! Packets between the two ends then really cross the veth "cable" and its loss.

use std::net::{IpAddr, SocketAddr};

use clap::Args;
use netlab_common::Error;

/// Where the bench's receiving end lives (`udp-chat bench`).
#[derive(Args, Debug, Clone, Default)]
pub struct PlacementArgs {
    /// Linux, root: create the receiving end's socket in this network namespace (one made with
    /// `ip netns add`), so the two ends talk over a real (virtual) link instead of loopback.
    /// Needs --peer-addr. Used by scripts/compare-protocols.
    #[arg(long, value_name = "NAME", requires = "peer_addr")]
    pub peer_netns: Option<String>,
    /// The receiving end's address inside --peer-netns (the sending end's address is whatever
    /// the route to it picks).
    #[arg(long, value_name = "IP", requires = "peer_netns")]
    pub peer_addr: Option<IpAddr>,
}

impl PlacementArgs {
    /// Where the receiver binds (port 0: any free port) and in which namespace, or `None` for
    /// plain loopback.
    pub fn peer(&self) -> Option<(&str, SocketAddr)> {
        let name = self.peer_netns.as_deref()?;
        let addr = self.peer_addr?;
        Some((name, SocketAddr::new(addr, 0)))
    }
}

/// Runs `open` on a thread that first moves into the network namespace `name`; what `open`
/// creates (sockets) belongs to that namespace for good. The calling thread is not moved.
#[cfg(target_os = "linux")]
pub fn in_namespace<T: Send>(
    name: &str,
    open: impl FnOnce() -> Result<T, Error> + Send,
) -> Result<T, Error> {
    use std::os::fd::AsFd;

    let path = std::path::Path::new("/run/netns").join(name);
    let namespace = std::fs::File::open(&path)
        .map_err(|err| Error::io(format!("opening {}", path.display()), err))?;
    std::thread::scope(|scope| {
        scope
            .spawn(move || {
                rustix::thread::move_into_link_name_space(
                    namespace.as_fd(),
                    Some(rustix::thread::LinkNameSpaceType::Network),
                )
                .map_err(|err| {
                    Error::io(
                        format!("entering network namespace {name} (setns; root needed)"),
                        err.into(),
                    )
                })?;
                open()
            })
            .join()
            .map_err(|_| Error::Failed("the namespace thread panicked".into()))?
    })
}

/// Elsewhere there are no network namespaces.
#[cfg(not(target_os = "linux"))]
pub fn in_namespace<T: Send>(
    name: &str,
    _open: impl FnOnce() -> Result<T, Error> + Send,
) -> Result<T, Error> {
    Err(Error::Usage(format!(
        "--peer-netns {name}: network namespaces exist only on Linux"
    )))
}
