//! # TLS on FTP's connections: explicit FTPS (RFC 4217)
//!
//! Plain FTP sends everything in the clear: an eavesdropper on the path reads the password of
//! `PASS` and every byte of every file. RFC 4217 adds TLS to FTP *explicitly*: the client
//! connects to the ordinary port, and asks for protection with a command,
//!
//! ```text
//!   AUTH TLS   ->  234 Proceed with TLS negotiation.     (RFC 4217 §4)
//!              ... TLS handshake on the control connection; from here on it is encrypted ...
//!   PBSZ 0     ->  200 PBSZ=0                           (§9: a relic of RFC 2228, always 0)
//!   PROT P     ->  200 Data connections will be protected (TLS).   (§9: P private, C clear)
//!   USER/PASS  ->  ... now invisible on the wire ...
//! ```
//!
//! The control connection and the data connections are protected *separately*: `AUTH TLS`
//! protects the commands, `PROT P` asks that every later data connection run its own TLS
//! handshake. Whoever opened the TCP connection (the client in passive mode, the server in
//! active mode), the FTP server is always the TLS *server* on it (RFC 4217 §7), so the client
//! checks the same certificate on every connection. A data connection may *resume* the control
//! connection's TLS session (an abbreviated handshake without a certificate); curl does,
//! Python's ftplib does not, and both are accepted here.
//!
//! ## Where a file ends
//! In stream mode the end of a file is the end of its data connection (RFC 959, 3.4.1). Over
//! TLS, a TCP close alone proves nothing: an attacker on the path can forge a FIN and cut a file
//! short (a *truncation attack*). So each side ends its protected data connection with a TLS
//! `close_notify` alert first (RFC 8446 §6.1), which is authenticated like the data. This lab
//! sends one at the end of every protected data connection, and treats an upload whose TCP
//! connection ends *without* one as cut short: it is answered `426` and never renamed into place
//! (`server::transfer`).
//!
//! ## Layout of this module
//! - [`Channel`]: a TCP connection, clear or protected, read and written the same way.
//! - [`Identity`]: the server's certificate and key: from `--tls-cert`/`--tls-key`, or made at
//!   start (a tiny CA and a certificate it signs), with the SHA-256 fingerprint a person can compare.
//! - [`client_config`]: how a client checks the server's certificate (`--tls-ca`,
//!   `--tls-fingerprint`, `--insecure`).

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{IpAddr, TcpStream};
use std::ops::DerefMut;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, ConnectionCommon, DigitallySignedStruct, ServerConfig, SideData};
use rustls::{RootCertStore, SignatureScheme, StreamOwned};
use sha2::{Digest, Sha256};

use netlab_common::{Error, Result};

/// A connection of the lab, clear or protected by TLS. `C` is the TLS side: a
/// `rustls::ServerConnection` in the server, a `rustls::ClientConnection` in the client.
#[derive(Debug)]
pub enum Channel<C> {
    /// Plain TCP: what anyone on the path can read.
    Clear(TcpStream),
    /// TLS over TCP: records encrypted and authenticated.
    Protected(Box<StreamOwned<C, TcpStream>>),
}

impl<C, S> Channel<C>
where
    C: DerefMut<Target = ConnectionCommon<S>>,
    S: SideData,
{
    /// The TCP socket under it (addresses, timeouts, shutdown).
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Channel::Clear(tcp) => tcp,
            Channel::Protected(tls) => &tls.sock,
        }
    }

    /// Is it protected by TLS?
    pub fn is_protected(&self) -> bool {
        matches!(self, Channel::Protected(_))
    }

    /// Runs the TLS handshake on `tcp` and returns the protected channel. A read or write that
    /// times out (the socket's own timeouts) fails the handshake, unless `deadline` is given:
    /// then waits that time out are retried until the deadline (data connections wait in short
    /// slices, `server::transfer`).
    pub fn handshake(
        mut connection: C,
        mut tcp: TcpStream,
        deadline: Option<Instant>,
    ) -> io::Result<Channel<C>> {
        while connection.is_handshaking() {
            match connection.complete_io(&mut tcp) {
                Ok(_) => {}
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err)
                    if is_timeout(&err) && deadline.is_some_and(|end| Instant::now() < end) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(Channel::Protected(Box::new(StreamOwned::new(
            connection, tcp,
        ))))
    }

    /// The protocol version and cipher suite agreed, for logs and traces (`None` when clear).
    pub fn describe(&self) -> Option<String> {
        let Channel::Protected(tls) = self else {
            return None;
        };
        let version = tls
            .conn
            .protocol_version()
            .map_or("TLS".to_string(), |version| format!("{version:?}"));
        let suite = tls
            .conn
            .negotiated_cipher_suite()
            .map_or("?".to_string(), |suite| format!("{:?}", suite.suite()));
        Some(format!("{version}, {suite}"))
    }

    /// What a data connection's handshake agreed, for traces: [`Channel::describe`], and
    /// whether it *resumed* the control connection's session (an abbreviated handshake with no
    /// certificate, module docs).
    pub fn describe_data_handshake(&self) -> String {
        let resumed = match self {
            Channel::Protected(tls)
                if tls.conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed) =>
            {
                ", resumed the control connection's session"
            }
            _ => "",
        };
        let agreed = self.describe().unwrap_or_default();
        format!("{agreed}{resumed}")
    }

    /// Sends TLS's `close_notify` (module docs), so the peer can tell our end of the data from
    /// a connection cut short. Nothing to do on a clear channel. The alert may still sit in the
    /// TLS buffer if the socket is full: [`Write::flush`] sends it.
    pub fn send_close_notify(&mut self) {
        if let Channel::Protected(tls) = self {
            tls.conn.send_close_notify();
        }
    }
}

impl<C, S> Read for Channel<C>
where
    C: DerefMut<Target = ConnectionCommon<S>>,
    S: SideData,
{
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        match self {
            Channel::Clear(tcp) => tcp.read(buffer),
            Channel::Protected(tls) => tls.read(buffer),
        }
    }
}

impl<C, S> Write for Channel<C>
where
    C: DerefMut<Target = ConnectionCommon<S>>,
    S: SideData,
{
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match self {
            Channel::Clear(tcp) => tcp.write(bytes),
            Channel::Protected(tls) => tls.write(bytes),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Channel::Clear(tcp) => tcp.flush(),
            Channel::Protected(tls) => tls.flush(),
        }
    }
}

/// Did a socket operation end because its timeout expired (`WouldBlock` on Unix, `TimedOut` on
/// Windows)?
fn is_timeout(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// The cryptography rustls uses here: *ring*, which builds with cargo alone on every system
/// students use (the workspace's Cargo.toml says why not aws-lc-rs).
///
/// rustls 0.23.48 marks ring's provider deprecated because ring has no post-quantum key
/// exchange (ML-KEM): a recording of today's traffic could be decrypted by a future quantum
/// computer. For a lab's loopback sessions we accept that, in exchange for a build that needs
/// no cmake or NASM; a production server would take aws-lc-rs.
#[allow(deprecated)]
fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

/// SHA-256 of a certificate (its DER bytes) as `AB:CD:...`, the form `openssl x509 -fingerprint
/// -sha256` and browsers show, so a person can compare it by eye.
pub fn fingerprint(certificate: &[u8]) -> String {
    let digest = Sha256::digest(certificate);
    let mut text = String::with_capacity(digest.len() * 3);
    for (index, byte) in digest.iter().enumerate() {
        if index > 0 {
            text.push(':');
        }
        let _ = write!(text, "{byte:02X}");
    }
    text
}

/// Parses a fingerprint as a person may paste it: hex digits, with or without `:` between
/// bytes, any case, optionally prefixed `sha256:`. `None` unless it is 32 bytes.
pub fn parse_fingerprint(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    let text = text
        .strip_prefix("sha256:")
        .or_else(|| text.strip_prefix("SHA256:"))
        .unwrap_or(text);
    let digits: Vec<u8> = text.bytes().filter(|&byte| byte != b':').collect();
    if digits.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (slot, pair) in out.iter_mut().zip(digits.chunks(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *slot = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

/// Where `ftp-lab serve` takes its certificate from.
#[derive(Debug, Clone, Default)]
pub struct TlsFiles {
    /// `--tls-cert FILE --tls-key FILE` (PEM); `None`: make one at start.
    pub cert_and_key: Option<(PathBuf, PathBuf)>,
    /// `--tls-cert-out FILE`: write the certificate clients should trust (PEM) there.
    pub cert_out: Option<PathBuf>,
}

/// The server's TLS identity, ready to serve.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The rustls configuration of control connections (with the session cache every
    /// connection shares, so data connections can resume the control connection's session).
    pub config: Arc<ServerConfig>,
    /// The same for data connections, but sending no TLS 1.3 session tickets. A client that
    /// only writes (an upload) never reads the tickets a server sends after the handshake, and
    /// closing a socket with unread bytes makes the kernel send RST instead of FIN (RFC 1122,
    /// 4.2.2.13), which throws away the end of the upload still on its way to us: curl's
    /// uploads of 2 MiB failed that way. Tickets from the control connection are enough to
    /// resume on data connections.
    pub data_config: Arc<ServerConfig>,
    /// SHA-256 of the certificate clients receive ([`fingerprint`]).
    pub fingerprint: String,
    /// The certificate a client should trust, in PEM: the made-up CA, or the given chain.
    pub trust_pem: String,
}

impl Identity {
    /// Loads `--tls-cert`/`--tls-key`, or makes a certificate valid for `localhost`,
    /// `127.0.0.1`, `::1` and `bound` (the `--bind` address, when it is a specific one).
    pub fn new(files: &TlsFiles, bound: IpAddr) -> Result<Identity> {
        let (chain, key, trust_pem) = match &files.cert_and_key {
            Some((cert, key)) => load_pem(cert, key)?,
            None => generate(bound)?,
        };
        let fingerprint = chain
            .first()
            .map(|leaf| fingerprint(leaf))
            .ok_or_else(|| Error::Usage("--tls-cert: the file holds no certificate".into()))?;
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, key))
            .map_err(|err| Error::Usage(format!("TLS certificate and key: {err}")))?;
        if let Some(out) = &files.cert_out {
            std::fs::write(out, &trust_pem)
                .map_err(|err| Error::io(format!("writing {}", out.display()), err))?;
        }
        let mut data_config = config.clone();
        data_config.send_tls13_tickets = 0;
        Ok(Identity {
            config: Arc::new(config),
            data_config: Arc::new(data_config),
            fingerprint,
            trust_pem,
        })
    }
}

/// A certificate chain and key from PEM files (`--tls-cert`, `--tls-key`).
type Loaded = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>, String);

fn load_pem(cert: &Path, key: &Path) -> Result<Loaded> {
    let unreadable = |path: &Path, err: rustls::pki_types::pem::Error| {
        Error::Usage(format!(
            "{}: not a PEM file we can use ({err})",
            path.display()
        ))
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|err| unreadable(cert, err))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|err| unreadable(key, err))?;
    let trust_pem = std::fs::read_to_string(cert)
        .map_err(|err| Error::io(format!("reading {}", cert.display()), err))?;
    Ok((chain, key, trust_pem))
}

/// Makes a tiny certificate authority and a server certificate it signs. Why two: a client
/// that checks certificates properly (rustls's webpki) refuses a CA certificate presented as
/// the server's own, and a self-signed server certificate that is not a CA cannot be a trust
/// anchor for it either. A client trusts the CA (`--tls-cert-out`), and the server presents
/// the certificate signed by it, as a real server presents one signed by a public CA.
fn generate(bound: IpAddr) -> Result<Loaded> {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };
    let failed = |err: rcgen::Error| Error::Usage(format!("making a TLS certificate: {err}"));
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(failed)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.distinguished_name
        .push(DnType::CommonName, "ftp-lab throwaway CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca =
        CertifiedIssuer::self_signed(ca, KeyPair::generate().map_err(failed)?).map_err(failed)?;
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    let bound = bound.to_canonical().to_string();
    if !bound.parse::<IpAddr>().is_ok_and(|ip| ip.is_unspecified()) && !names.contains(&bound) {
        names.push(bound);
    }
    let mut leaf = CertificateParams::new(names).map_err(failed)?;
    leaf.distinguished_name
        .push(DnType::CommonName, "ftp-lab server");
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate().map_err(failed)?;
    let leaf_cert = leaf.signed_by(&leaf_key, &ca).map_err(failed)?;
    let key = PrivateKeyDer::try_from(leaf_key.serialize_der())
        .map_err(|err| Error::Usage(format!("making a TLS key: {err}")))?;
    let chain = vec![leaf_cert.der().clone(), ca.der().clone()];
    Ok((chain, key, ca.pem()))
}

/// How a client decides to trust the server's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// `--tls-ca FILE`: a certificate chain to one of these CA certificates (PEM), for the
    /// host name or address we connected to, as browsers check.
    Authorities(PathBuf),
    /// `--tls-fingerprint HEX`: exactly this certificate (SHA-256), whoever signed it: the
    /// "pinning" of a certificate a person compared by eye.
    Fingerprint([u8; 32]),
    /// `--insecure`: any certificate. The connection is encrypted but not authenticated: a
    /// machine in the middle can decrypt it. For experiments only.
    Anything,
    /// None of the flags: no trusted certificate at all, so every server is refused, with a
    /// message naming the three flags (system roots are not used: lab servers are self-signed).
    Nothing,
}

/// The rustls client configuration for `trust`.
pub fn client_config(trust: &Trust) -> Result<Arc<ClientConfig>> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|err| Error::Usage(format!("TLS: {err}")))?;
    let config = match trust {
        Trust::Authorities(path) => {
            let mut roots = RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<std::result::Result<Vec<_>, _>>())
                .map_err(|err| Error::Usage(format!("--tls-ca {}: {err}", path.display())))?;
            let (added, _ignored) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(Error::Usage(format!(
                    "--tls-ca {}: no usable certificate in it",
                    path.display()
                )));
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        Trust::Fingerprint(expected) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Pinned::new(Some(*expected))))
            .with_no_client_auth(),
        Trust::Anything => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Pinned::new(None)))
            .with_no_client_auth(),
        Trust::Nothing => builder
            .with_root_certificates(RootCertStore::empty())
            .with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// The name a client checks the certificate against: the host of `target` (`host:port`, with
/// an IPv6 address in brackets), as it was typed: a name, or an IP address.
pub fn server_name(target: &str) -> Result<ServerName<'static>> {
    let host = match target.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or(bracketed),
        None => target.rsplit_once(':').map_or(target, |(host, _port)| host),
    };
    ServerName::try_from(host.to_string())
        .map_err(|err| Error::Usage(format!("{host}: not a name TLS can check ({err})")))
}

/// Accepts the one certificate whose SHA-256 is `expected` (`None`: any certificate). The
/// handshake's signatures are still checked: the server must hold the certificate's key.
#[derive(Debug)]
struct Pinned {
    expected: Option<[u8; 32]>,
    provider: Arc<CryptoProvider>,
}

impl Pinned {
    fn new(expected: Option<[u8; 32]>) -> Pinned {
        Pinned {
            expected,
            provider: provider(),
        }
    }
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let Some(expected) = self.expected else {
            return Ok(ServerCertVerified::assertion());
        };
        let seen: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        if seen == expected {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "the server's certificate has SHA-256 {}, not the --tls-fingerprint given",
                fingerprint(end_entity.as_ref())
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            certificate,
            signature,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            certificate,
            signature,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A fingerprint prints as colon-separated upper-case hex and parses back in any form.
    #[test]
    fn fingerprints_round_trip() {
        let shown = fingerprint(b"certificate");
        assert_eq!(shown.len(), 32 * 3 - 1);
        let bytes = parse_fingerprint(&shown).unwrap();
        assert_eq!(
            parse_fingerprint(&shown.replace(':', "").to_lowercase()),
            Some(bytes)
        );
        assert_eq!(parse_fingerprint(&format!("sha256:{shown}")), Some(bytes));
        assert_eq!(parse_fingerprint("AB:CD"), None);
        assert_eq!(parse_fingerprint(&"zz".repeat(32)), None);
    }

    /// The certificate is checked for the host of `host:port`: a name, or an IP address.
    #[test]
    fn server_names_from_targets() {
        let name = |target| server_name(target).unwrap().to_str().into_owned();
        assert_eq!(name("localhost:2121"), "localhost");
        assert_eq!(name("127.0.0.1:21"), "127.0.0.1");
        assert_eq!(name("[::1]:2121"), "::1");
    }

    /// The made-up certificate is a leaf signed by a CA, and the CA is what clients trust.
    #[test]
    fn generated_identity_is_a_leaf_under_a_ca() {
        let identity = Identity::new(&TlsFiles::default(), [127, 0, 0, 1].into()).unwrap();
        assert!(
            identity
                .trust_pem
                .starts_with("-----BEGIN CERTIFICATE-----")
        );
        assert_eq!(identity.fingerprint.len(), 95);
        let ca = CertificateDer::from_pem_slice(identity.trust_pem.as_bytes()).unwrap();
        assert_ne!(fingerprint(&ca), identity.fingerprint);
    }
}
