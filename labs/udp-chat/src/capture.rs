//! # `--pcap`: every datagram the endpoint sent or received, as a file Wireshark opens
//!
//! `tcpdump` on the loopback interface cannot show this lab's losses: the
//! [fault injector](crate::fault) drops, duplicates and delays datagrams *inside the program*,
//! before they reach the kernel. So the endpoint writes its own capture: each datagram at the
//! moment it crossed the program's edge (handed to `send_to`, read by `recv_from`), and each
//! datagram the injector dropped at the moment it was dropped, with a comment saying so.
//!
//! ## The file: pcapng
//! pcapng (draft-ietf-opsawg-pcapng) is a sequence of *blocks*: one Section Header Block (the
//! byte order, the program that wrote it), one Interface Description Block (what kind of packets
//! follow and the unit of their timestamps), then one Enhanced Packet Block per packet: a
//! timestamp, the bytes, and *options*, among them `opt_comment`, free text that Wireshark shows
//! above the packet's layers and that `tshark -e frame.comment` prints. The older pcap format has
//! no per-packet comments, which is why this is pcapng. The blocks are written by the
//! `pcap-file` crate.
//!
//! ## The packets: IP and UDP headers around our bytes
//! A socket gives the program only the UDP payload, so the headers the kernel would put in front
//! are rebuilt (by the `etherparse` crate) from what the endpoint knows: source and destination
//! address and port, the lengths, TTL 64. Both checksums are computed: the IPv4 header checksum
//! (RFC 791 §3.1) and the UDP checksum over the pseudo-header, which is optional over IPv4
//! (0 means "none", RFC 768) but mandatory over IPv6 (RFC 8200 §8.1); computing it for both keeps
//! the packets valid if Wireshark is told to check checksums.
//!
//! The link type is `LINKTYPE_RAW` (101): each packet starts with its IP header, version 4 or 6
//! read from its first nibble. No Ethernet header is made up (loopback has no MAC addresses),
//! and one file can hold IPv4 and IPv6 packets, as a room bound to `::` receives both.
//!
//! When the socket is bound to a wildcard address (`serve --bind 0.0.0.0`), the address a peer
//! wrote to is not known per datagram; the capture uses the address the kernel's routing table
//! picks toward that peer (asked once per peer address, remembered for
//! [`MAX_ROUTES_REMEMBERED`] of them), which is the address replies leave from.
//!
//! ## Timestamps
//! The wall clock is read once, when the capture starts; each packet's time is that plus the
//! monotonic clock's progress since, so the times are real, at nanosecond resolution
//! (`if_tsresol` 9), and never go backwards when the wall clock is adjusted.
//!
//! ## Cost and failure
//! Packets go through a [`CAPTURE_BUFFER`]-byte buffer and reach the file in large writes, at the
//! latest [`FLUSH_EVERY`] after they were recorded (so a running room's capture can be opened)
//! and when the program ends: no system call per datagram. The file is written as it grows, as
//! `tcpdump -w` does, so it can be read while the program runs. A write error (disk full, the
//! file's disk gone) is reported once and ends the capture, never the chat.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use etherparse::PacketBuilder;
use netlab_common::{Error, term};
use pcap_file::DataLink;
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::blocks::section_header::{SectionHeaderBlock, SectionHeaderOption};

use crate::describe::millis;
use crate::fault::{Fate, FaultConfig, Release};

/// Bytes buffered before they are written to the file: about 200 datagrams of 1200 bytes.
pub const CAPTURE_BUFFER: usize = 256 * 1024;

/// Longest a recorded packet waits in the buffer before it is written out.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// Wildcard-bound sockets: peer addresses whose local address is remembered (see the module
/// docs). Past it, the route is asked again for each datagram of a new peer address: slower,
/// still right, and no memory grows with the number of strangers.
pub const MAX_ROUTES_REMEMBERED: usize = 256;

/// Time to live (IPv4) or hop limit (IPv6) written in the made-up IP headers: Linux's default.
const TTL: u8 = 64;

/// `if_tsresol` 9: timestamps count nanoseconds (pcap-file writes them that way).
const NANOSECONDS: u8 = 9;

/// A pcapng file being written.
pub struct Capture {
    path: PathBuf,
    /// `None` once a write failed: the capture has stopped.
    writer: Option<PcapNgWriter<BufWriter<File>>>,
    /// The socket's own address (its IP may be a wildcard).
    local: SocketAddr,
    /// For a wildcard-bound socket: the local IP the route to each peer IP uses.
    routes: BTreeMap<IpAddr, IpAddr>,
    started: Instant,
    /// The wall clock when `started` was read, since the Unix epoch.
    started_wall: Duration,
    last_flush: Instant,
    /// One packet's bytes (IP and UDP headers, then the datagram), reused for every packet.
    packet: Vec<u8>,
    recorded: u64,
}

impl Capture {
    /// Creates (or truncates) `path` and writes the file's first two blocks. `local` is the
    /// socket's address, the source of what we send ([`Self::set_local`] changes it, for the
    /// bench's runs, each on new sockets, recorded in one file).
    pub fn create(path: &Path, local: SocketAddr) -> Result<Self, Error> {
        let context = || format!("creating the capture file {}", path.display());
        let file = File::create(path).map_err(|err| Error::io(context(), err))?;
        let buffered = BufWriter::with_capacity(CAPTURE_BUFFER, file);
        let section = SectionHeaderBlock {
            options: vec![SectionHeaderOption::UserApplication(Cow::Borrowed(
                concat!("udp-chat ", env!("CARGO_PKG_VERSION")),
            ))],
            ..SectionHeaderBlock::default()
        };
        let mut writer = PcapNgWriter::with_section_header(buffered, section)
            .map_err(|err| Error::Failed(format!("{}: {err}", context())))?;
        writer
            .write_pcapng_block(interface_block(local))
            .map_err(|err| Error::Failed(format!("{}: {err}", context())))?;
        let now = Instant::now();
        Ok(Self {
            path: path.to_path_buf(),
            writer: Some(writer),
            local,
            routes: BTreeMap::new(),
            started: now,
            started_wall: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default(),
            last_flush: now,
            packet: Vec::with_capacity(2048),
            recorded: 0,
        })
    }

    /// The path given to [`Self::create`].
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// From now on, what is recorded was sent from (and received on) a socket bound to `local`.
    pub fn set_local(&mut self, local: SocketAddr) {
        if local != self.local {
            self.local = local;
            self.routes.clear();
        }
    }

    /// Records a datagram we sent to `peer` (or that the fault injector dropped on its way).
    pub fn sent(&mut self, peer: SocketAddr, datagram: &[u8], comment: Option<&str>) {
        let local = self.local_toward(peer);
        self.record(local, peer, datagram, comment);
    }

    /// Records a datagram we received from `peer`.
    pub fn received(&mut self, peer: SocketAddr, datagram: &[u8], comment: Option<&str>) {
        let local = self.local_toward(peer);
        self.record(peer, local, datagram, comment);
    }

    /// Packets recorded so far.
    pub fn recorded(&self) -> u64 {
        self.recorded
    }

    /// True once a write failed and the capture stopped.
    pub fn stopped(&self) -> bool {
        self.writer.is_none()
    }

    /// Writes out what waits in the buffer if the oldest of it is [`FLUSH_EVERY`] old.
    pub fn flush_if_due(&mut self, now: Instant) {
        if now.saturating_duration_since(self.last_flush) >= FLUSH_EVERY {
            self.flush(now);
        }
    }

    /// Writes out everything buffered (done also when the capture is dropped).
    pub fn finish(&mut self) {
        self.flush(Instant::now());
    }

    fn flush(&mut self, now: Instant) {
        self.last_flush = now;
        let result = match self.writer.as_mut() {
            Some(writer) => writer.get_mut().flush(),
            None => return,
        };
        if let Err(err) = result {
            self.stop(&err.to_string());
        }
    }

    /// One Enhanced Packet Block: IP and UDP headers from `from` to `to`, then `datagram`.
    fn record(&mut self, from: SocketAddr, to: SocketAddr, datagram: &[u8], comment: Option<&str>) {
        let Some(writer) = self.writer.as_mut() else {
            return;
        };
        self.packet.clear();
        if let Err(err) = build_packet(&mut self.packet, from, to, datagram) {
            // Only a datagram over 65,507 bytes could fail here, and a socket never reads one.
            term::warn(format!(
                "--pcap: a {}-byte datagram from {from} to {to} not recorded: {err}",
                datagram.len()
            ));
            return;
        }
        let now = Instant::now();
        let block = EnhancedPacketBlock {
            interface_id: 0,
            timestamp: self.started_wall + now.saturating_duration_since(self.started),
            original_len: u32::try_from(self.packet.len()).unwrap_or(u32::MAX),
            data: Cow::Borrowed(&self.packet),
            options: comment
                .map(|text| EnhancedPacketOption::Comment(Cow::Borrowed(text)))
                .into_iter()
                .collect(),
        };
        match writer.write_pcapng_block(block) {
            Ok(_) => self.recorded += 1,
            Err(err) => return self.stop(&err.to_string()),
        }
        self.flush_if_due(now);
    }

    /// Ends the capture after a write error, saying so once; the program goes on.
    fn stop(&mut self, why: &str) {
        self.writer = None;
        term::warn(format!(
            "--pcap {}: cannot write the capture ({why}); capturing stopped after {} packets, \
             everything else goes on",
            self.path.display(),
            self.recorded
        ));
    }

    /// Our address as seen by `peer`, of the same IP version as the peer's.
    fn local_toward(&mut self, peer: SocketAddr) -> SocketAddr {
        let peer_ip = peer.ip().to_canonical();
        let local_ip = if self.local.ip().is_unspecified() {
            match self.routes.get(&peer_ip) {
                Some(ip) => *ip,
                None => {
                    let ip = route_source(peer_ip).unwrap_or(self.local.ip());
                    if self.routes.len() < MAX_ROUTES_REMEMBERED {
                        self.routes.insert(peer_ip, ip);
                    }
                    ip
                }
            }
        } else {
            self.local.ip()
        };
        SocketAddr::new(local_ip, self.local.port())
    }
}

/// Ends a program's capture: writes it out and says where it is and how to read it.
pub fn finish(capture: Option<Capture>) {
    let Some(mut capture) = capture else {
        return;
    };
    capture.finish();
    if capture.stopped() {
        // The warning said why, once; the file holds at most what was written before it.
        return;
    }
    term::info(format!(
        "--pcap: {} packets in {} (open it in Wireshark; scripts/wireshark/udp-chat.lua \
         decodes our header, see docs/udp-chat.md)",
        capture.recorded(),
        capture.path().display()
    ));
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The capture's one interface: raw IP packets, nanosecond timestamps, named after the socket.
fn interface_block(local: SocketAddr) -> InterfaceDescriptionBlock<'static> {
    InterfaceDescriptionBlock {
        linktype: DataLink::RAW,
        snaplen: 0,
        options: vec![
            InterfaceDescriptionOption::IfName(Cow::Owned(format!("udp-chat on {local}"))),
            InterfaceDescriptionOption::IfDescription(Cow::Borrowed(
                "datagrams as the udp-chat program sent and received them, and those its fault \
                 injector dropped (see each packet's comment)",
            )),
            InterfaceDescriptionOption::IfTsResol(NANOSECONDS),
        ],
    }
}

/// IPv4 or IPv6 header, UDP header, `datagram`, appended to `out`. Both addresses are made the
/// same IP version (an IPv4 peer of a socket bound to `::` is written as IPv4 on both sides).
fn build_packet(
    out: &mut Vec<u8>,
    from: SocketAddr,
    to: SocketAddr,
    datagram: &[u8],
) -> Result<(), etherparse::err::packet::BuildWriteError> {
    let ip = match same_version(from.ip().to_canonical(), to.ip().to_canonical()) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => PacketBuilder::ipv4(src.octets(), dst.octets(), TTL),
        (src, dst) => PacketBuilder::ipv6(v6(src).octets(), v6(dst).octets(), TTL),
    };
    ip.udp(from.port(), to.port()).write(out, datagram)
}

/// Both addresses as IPv4 if both are, otherwise both as IPv6 (IPv4 ones mapped, RFC 4291
/// §2.5.5.2).
fn same_version(a: IpAddr, b: IpAddr) -> (IpAddr, IpAddr) {
    match (a, b) {
        (IpAddr::V4(_), IpAddr::V4(_)) => (a, b),
        _ => (IpAddr::V6(v6(a)), IpAddr::V6(v6(b))),
    }
}

fn v6(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// The local address the kernel would send from toward `peer`: connecting a UDP socket sends
/// nothing, it only picks a route and a source address.
fn route_source(peer: IpAddr) -> Option<IpAddr> {
    let any: IpAddr = match peer {
        IpAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        IpAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let probe = UdpSocket::bind((any, 0)).ok()?;
    probe.connect((peer, 9)).ok()?;
    probe.local_addr().ok().map(|addr| addr.ip())
}

/// The comment on a datagram the outgoing fault injector dropped. `queue_full`: the link
/// already held [`crate::fault::MAX_IN_AIR`] delayed datagrams (the drop was the queue's, not
/// `--loss`'s).
pub fn dropped_comment(faults: &FaultConfig, queue_full: bool) -> String {
    if queue_full {
        format!(
            "fault injector: dropped, {} delayed datagrams already in the air (a full queue drops \
             the newest), never sent",
            crate::fault::MAX_IN_AIR
        )
    } else {
        format!(
            "fault injector: dropped by --loss {} (seed {}), never sent",
            crate::describe::percent(faults.loss),
            faults.seed
        )
    }
}

/// The comment on one copy the outgoing fault injector let go, or `None` when it did nothing to
/// it.
pub fn release_comment(release: &Release, faults: &FaultConfig) -> Option<String> {
    let mut parts = Vec::new();
    if release.copies > 1 {
        parts.push(match release.copy {
            1 => format!(
                "sent twice by --dup {} (seed {}), first copy",
                crate::describe::percent(faults.duplicate),
                faults.seed
            ),
            _ => format!(
                "duplicate: second copy made by --dup {} (seed {})",
                crate::describe::percent(faults.duplicate),
                faults.seed
            ),
        });
    }
    if release.reordered {
        parts.push(format!(
            "held back {} by --reorder, so later datagrams overtake it",
            millis(release.delay)
        ));
    } else if !release.delay.is_zero() {
        parts.push(format!(
            "delayed {} by --delay/--jitter",
            millis(release.delay)
        ));
    }
    (!parts.is_empty()).then(|| format!("fault injector: {}", parts.join("; ")))
}

/// The comment on a datagram received and then given to the incoming fault injector
/// (`--faults-incoming`), or `None` when it let the datagram through at once.
pub fn incoming_comment(fate: &Fate, faults: &FaultConfig) -> Option<String> {
    let what = match fate {
        Fate::Dropped => format!(
            "dropped by --loss {} (seed {}), never handed to the protocol",
            crate::describe::percent(faults.loss),
            faults.seed
        ),
        Fate::Duplicated { .. } => format!(
            "handed to the protocol twice by --dup {} (seed {})",
            crate::describe::percent(faults.duplicate),
            faults.seed
        ),
        Fate::Delivered {
            delay,
            reordered: true,
        } => format!("held back {} by --reorder", millis(*delay)),
        Fate::Delivered { delay, .. } if !delay.is_zero() => {
            format!("delayed {} by --delay/--jitter", millis(*delay))
        }
        Fate::Delivered { .. } => return None,
    };
    Some(format!("incoming fault injector: {what}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    /// An IPv4 packet carries the right addresses, ports, lengths and valid checksums.
    #[test]
    fn ipv4_packet_has_real_headers() {
        let mut out = Vec::new();
        let datagram = b"0123456789";
        build_packet(
            &mut out,
            addr("127.0.0.1:5000"),
            addr("127.0.0.2:7075"),
            datagram,
        )
        .unwrap();
        let packet = etherparse::SlicedPacket::from_ip(&out).unwrap();
        let Some(etherparse::NetSlice::Ipv4(ip)) = packet.net else {
            panic!("not IPv4: {out:?}");
        };
        let header = ip.header().to_header();
        assert_eq!(header.source, [127, 0, 0, 1]);
        assert_eq!(header.destination, [127, 0, 0, 2]);
        assert_eq!(header.total_len, 20 + 8 + 10);
        assert_eq!(header.header_checksum, header.calc_header_checksum());
        let Some(etherparse::TransportSlice::Udp(udp)) = packet.transport else {
            panic!("not UDP");
        };
        assert_eq!((udp.source_port(), udp.destination_port()), (5000, 7075));
        assert_eq!(udp.length(), 18);
        assert_eq!(udp.payload(), datagram);
        let expected = udp
            .to_header()
            .calc_checksum_ipv4(&header, datagram)
            .unwrap();
        assert_eq!(udp.checksum(), expected);
        assert_ne!(udp.checksum(), 0);
    }

    /// Over IPv6, and with an IPv4 peer of an IPv6 socket, the packet is of one IP version.
    #[test]
    fn ipv6_and_mapped_addresses() {
        let mut out = Vec::new();
        build_packet(&mut out, addr("[::1]:5000"), addr("[::1]:7075"), b"x").unwrap();
        assert_eq!(out[0] >> 4, 6);
        assert_eq!(out.len(), 40 + 8 + 1);
        out.clear();
        build_packet(
            &mut out,
            addr("[::ffff:127.0.0.1]:5000"),
            addr("127.0.0.1:7075"),
            b"x",
        )
        .unwrap();
        assert_eq!(
            out[0] >> 4,
            4,
            "both IPv4 once the mapped address is unwrapped"
        );
    }

    /// The comments say what the injector did, with the flag and the seed.
    #[test]
    fn comments_name_the_fault() {
        let faults = FaultConfig {
            loss: 0.3,
            duplicate: 0.1,
            seed: 2,
            ..FaultConfig::default()
        };
        assert_eq!(
            dropped_comment(&faults, false),
            "fault injector: dropped by --loss 30% (seed 2), never sent"
        );
        let release = Release {
            bytes: vec![],
            delay: Duration::from_millis(40),
            reordered: false,
            copy: 2,
            copies: 2,
        };
        assert_eq!(
            release_comment(&release, &faults).unwrap(),
            "fault injector: duplicate: second copy made by --dup 10% (seed 2); delayed 40.0 ms \
             by --delay/--jitter"
        );
        let plain = Release {
            delay: Duration::ZERO,
            copy: 1,
            copies: 1,
            ..release
        };
        assert_eq!(release_comment(&plain, &faults), None);
    }

    /// The file starts with a section header block and reads back with our packet and comment.
    #[test]
    fn file_reads_back() {
        let dir = std::env::temp_dir().join(format!("udp-chat-capture-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("unit.pcapng");
        let mut capture = Capture::create(&path, addr("127.0.0.1:4000")).unwrap();
        capture.sent(addr("127.0.0.1:7075"), b"hello", Some("a comment"));
        capture.received(addr("127.0.0.1:7075"), b"back", None);
        assert_eq!(capture.recorded(), 2);
        drop(capture);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..4], &[0x0a, 0x0d, 0x0d, 0x0a]);
        let mut reader = pcap_file::pcapng::PcapNgReader::new(&bytes[..]).unwrap();
        let mut packets = Vec::new();
        while let Some(block) = reader.next_block() {
            if let pcap_file::pcapng::Block::EnhancedPacket(packet) = block.unwrap() {
                packets.push(packet.into_owned());
            }
        }
        assert_eq!(packets.len(), 2);
        assert_eq!(
            packets[0].options,
            [EnhancedPacketOption::Comment("a comment".into())]
        );
        assert!(packets[0].data.ends_with(b"hello"));
        assert!(packets[1].data.ends_with(b"back"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
