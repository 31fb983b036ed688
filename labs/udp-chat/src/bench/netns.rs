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

use netlab_common::Error;

/// Where the receiving end lives when it is not on loopback: a network namespace made with
/// `ip netns add`, and the receiving end's address inside it (`--peer-netns NAME --peer-addr
/// IP`; the sending end's address is whatever the route to it picks).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerNamespace {
    /// The namespace's name (a file in `/run/netns`).
    pub name: String,
    /// The receiving end's address in it.
    pub addr: IpAddr,
}

impl PeerNamespace {
    /// Where the receiver binds: its address, any free port.
    pub fn bind_addr(&self) -> SocketAddr {
        SocketAddr::new(self.addr, 0)
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
        std::thread::Builder::new()
            .name(format!("netns {name}"))
            .spawn_scoped(scope, move || {
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
            .map_err(|err| Error::io("starting the namespace thread", err))?
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
