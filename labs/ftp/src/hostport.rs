//! # Addresses inside FTP commands: PORT, PASV, EPRT, EPSV
//!
//! FTP tells the other side where to open the data connection *inside the control dialogue*:
//!
//! - `PORT h1,h2,h3,h4,p1,p2` (RFC 959, 4.1.2): "connect to me at h1.h2.h3.h4, port p1*256+p2"
//!   (active mode: the server connects to the client).
//! - `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)`: the reply to `PASV`, "connect to me there"
//!   (passive mode: the client connects to the server).
//! - `EPRT |1|132.235.1.2|6275|` and `229 Entering Extended Passive Mode (|||6446|)`
//!   (RFC 2428 §2, §3): the same for IPv6 as well as IPv4. EPSV gives only a port: the client connects
//!   to the address it already reached for the control connection, which is also what makes
//!   EPSV work through NAT, where the server often does not know the address clients see.
//!
//! Everything here is pure text <-> address conversion. The *policy* (to which address a
//! server may connect: see the FTP bounce attack in `server::session`) is elsewhere.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};

/// Parses the argument of `PORT` (`127,0,0,1,195,80`).
pub fn parse_port(arg: &str) -> Result<SocketAddrV4, String> {
    let numbers: Vec<u8> = arg
        .trim()
        .split(',')
        .map(|part| part.trim().parse::<u8>())
        .collect::<Result<_, _>>()
        .map_err(|_| "PORT needs six numbers 0-255: h1,h2,h3,h4,p1,p2".to_string())?;
    match numbers.as_slice() {
        &[a, b, c, d, high, low] => Ok(SocketAddrV4::new(
            Ipv4Addr::new(a, b, c, d),
            u16::from_be_bytes([high, low]),
        )),
        _ => Err("PORT needs six numbers 0-255: h1,h2,h3,h4,p1,p2".to_string()),
    }
}

/// Formats an IPv4 address and port as PORT/PASV numbers (`127,0,0,1,195,80`).
pub fn format_port(addr: SocketAddrV4) -> String {
    let [a, b, c, d] = addr.ip().octets();
    let [high, low] = addr.port().to_be_bytes();
    format!("{a},{b},{c},{d},{high},{low}")
}

/// Parses the argument of `EPRT` (`|1|127.0.0.1|50000|` or `|2|::1|50000|`). The first
/// character is the delimiter; 1 means IPv4 and 2 IPv6 (RFC 2428, section 2).
pub fn parse_eprt(arg: &str) -> Result<SocketAddr, String> {
    let usage = || "EPRT needs |1|IPv4|port| or |2|IPv6|port|".to_string();
    let arg = arg.trim();
    let delimiter = arg.chars().next().ok_or_else(usage)?;
    if !(33..=126).contains(&u32::from(delimiter)) {
        return Err(usage());
    }
    let fields: Vec<&str> = arg.split(delimiter).collect();
    let &["", family, address, port, ""] = fields.as_slice() else {
        return Err(usage());
    };
    let port: u16 = port.parse().map_err(|_| usage())?;
    let ip: IpAddr = match family {
        "1" => IpAddr::V4(address.parse::<Ipv4Addr>().map_err(|_| usage())?),
        "2" => IpAddr::V6(address.parse::<Ipv6Addr>().map_err(|_| usage())?),
        _ => return Err("EPRT network protocol must be 1 (IPv4) or 2 (IPv6)".to_string()),
    };
    Ok(SocketAddr::new(ip, port))
}

/// Formats an address as the argument of `EPRT`.
pub fn format_eprt(addr: SocketAddr) -> String {
    let family = if addr.is_ipv4() { 1 } else { 2 };
    format!("|{family}|{}|{}|", addr.ip(), addr.port())
}

/// Finds the address in a `227` reply: the six numbers after the first digit following the
/// code. RFC 959 (§4.1.2) does not fix the text around them, so we look for the numbers themselves.
pub fn parse_pasv_reply(text: &str) -> Result<SocketAddrV4, String> {
    let start = text
        .find(|character: char| character.is_ascii_digit())
        .ok_or_else(|| format!("no address in the PASV reply `{text}`"))?;
    let numbers: String = text
        .get(start..)
        .unwrap_or_default()
        .chars()
        .take_while(|character| character.is_ascii_digit() || *character == ',')
        .collect();
    parse_port(&numbers).map_err(|_| format!("no address in the PASV reply `{text}`"))
}

/// Finds the port in a `229` reply: `(|||6446|)`.
pub fn parse_epsv_reply(text: &str) -> Result<u16, String> {
    let bad = || format!("no port in the EPSV reply `{text}`");
    let open = text.find('(').ok_or_else(bad)?;
    let inside = text.get(open + 1..).unwrap_or_default();
    let close = inside.find(')').ok_or_else(bad)?;
    let fields: Vec<&str> = inside.get(..close).unwrap_or_default().split('|').collect();
    match fields.as_slice() {
        ["", "", "", port, ""] => port.parse().map_err(|_| bad()),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The RFC 959 §4.1.2 encoding: port = p1 * 256 + p2.
    #[test]
    fn port_numbers() {
        let addr = parse_port("127,0,0,1,195,80").unwrap();
        assert_eq!(addr, "127.0.0.1:50000".parse().unwrap());
        assert_eq!(format_port(addr), "127,0,0,1,195,80");
        assert_eq!(parse_port(" 10, 0, 0, 2, 0, 21").unwrap().port(), 21);
    }

    /// Wrong counts, out-of-range numbers and junk are errors.
    #[test]
    fn bad_port_arguments() {
        for arg in [
            "",
            "1,2,3,4,5",
            "1,2,3,4,5,6,7",
            "256,0,0,1,1,1",
            "a,b,c,d,e,f",
            "-1,0,0,0,0,0",
        ] {
            assert!(parse_port(arg).is_err(), "{arg:?}");
        }
    }

    /// EPRT in both families, with any delimiter, and round trips.
    #[test]
    fn eprt_both_families() {
        assert_eq!(
            parse_eprt("|1|132.235.1.2|6275|").unwrap(),
            "132.235.1.2:6275".parse().unwrap()
        );
        assert_eq!(
            parse_eprt("!2!::1!5282!").unwrap(),
            "[::1]:5282".parse().unwrap()
        );
        let addr: SocketAddr = "[::1]:40000".parse().unwrap();
        assert_eq!(parse_eprt(&format_eprt(addr)).unwrap(), addr);
    }

    /// A family that does not match the address, or missing fields, are errors.
    #[test]
    fn bad_eprt_arguments() {
        for arg in [
            "",
            "|1|::1|80|",
            "|2|1.2.3.4|80|",
            "|3|1.2.3.4|80|",
            "|1|1.2.3.4|",
            "|1|1.2.3.4|99999|",
            "x",
        ] {
            assert!(parse_eprt(arg).is_err(), "{arg:?}");
        }
    }

    /// Replies from different servers word the text differently; the numbers are found.
    #[test]
    fn passive_replies() {
        assert_eq!(
            parse_pasv_reply("Entering Passive Mode (127,0,0,1,195,80).").unwrap(),
            "127.0.0.1:50000".parse().unwrap()
        );
        assert_eq!(parse_pasv_reply("=127,0,0,1,4,1").unwrap().port(), 1025);
        assert_eq!(
            parse_epsv_reply("Entering Extended Passive Mode (|||6446|)").unwrap(),
            6446
        );
        assert!(parse_epsv_reply("Entering Extended Passive Mode").is_err());
        assert!(parse_pasv_reply("no numbers").is_err());
    }
}
