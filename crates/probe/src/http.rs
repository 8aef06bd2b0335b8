//! One health request on a connection of its own: TCP to an address resolved once, the TLS
//! handshake (timed apart), `GET`, and the answer read within the time left. No redirect is
//! followed and the name is never resolved again, so the time of each step is its own.
//!
//! Failures are told apart by the error's type: the `rustls::Error` inside an `io::Error`, or
//! the `io::ErrorKind`, never by its text.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::{AlertDescription, CertificateError, ClientConnection, StreamOwned};

use crate::{HttpAttempt, HttpFailure, TlsProblem};

/// The most of an answer's body kept.
const BODY_LIMIT: usize = 16 * 1024;
/// The most of an answer's head read.
const HEAD_LIMIT: usize = 64 * 1024;

/// How to speak TLS to the server.
pub struct Tls {
    /// The verifying client configuration.
    pub config: Arc<rustls::ClientConfig>,
    /// SNI, and the name the certificate must be for.
    pub server_name: ServerName<'static>,
    /// Set when the server asked for a client certificate (none is sent).
    pub asked_for_client_certificate: Arc<ClientCertificateAsked>,
}

/// A client-certificate "resolver" that has none, and records that the server asked.
#[derive(Debug, Default)]
pub struct ClientCertificateAsked(AtomicBool);

impl ClientCertificateAsked {
    fn take(&self) -> bool {
        self.0.swap(false, Ordering::SeqCst)
    }
}

impl rustls::client::ResolvesClientCert for ClientCertificateAsked {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        self.0.store(true, Ordering::SeqCst);
        None
    }

    fn has_certs(&self) -> bool {
        false
    }
}

/// A request to make.
pub struct Request<'a> {
    /// Where to connect.
    pub address: SocketAddr,
    /// The `Host` header.
    pub host_header: &'a str,
    /// Path and query (`/readyz?verbose`, after the server's own path).
    pub path: &'a str,
    /// How long the whole request may take.
    pub timeout: Duration,
    /// The tunnel to open through a proxy first (`address` is then the proxy's).
    pub tunnel: Option<Tunnel<'a>>,
}

/// A tunnel through a proxy to the API server.
#[derive(Clone, Copy)]
pub struct Tunnel<'a> {
    /// The proxy.
    pub proxy: &'a crate::Proxy,
    /// The API server's host, which the proxy resolves.
    pub host: &'a str,
    /// The API server's port.
    pub port: u16,
}

impl Tunnel<'_> {
    /// Opens the tunnel on `tcp` (connected to the proxy) before `deadline`.
    pub fn open(&self, tcp: &mut TcpStream, deadline: Instant) -> Result<(), crate::proxy::Refused> {
        crate::proxy::open(tcp, self.proxy, self.host, self.port, deadline)
    }
}

enum Conn {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Conn {
    fn socket(&self) -> &TcpStream {
        match self {
            Conn::Plain(s) => s,
            Conn::Tls(s) => s.get_ref(),
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

/// Sets the socket's timeouts to the time left before `deadline`; `TimedOut` when none is.
fn time_left(socket: &TcpStream, deadline: Instant) -> io::Result<()> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(io::Error::new(io::ErrorKind::TimedOut, "timed out"));
    }
    socket.set_read_timeout(Some(left))?;
    socket.set_write_timeout(Some(left))
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock)
}

fn is_cut(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::UnexpectedEof
            | io::ErrorKind::BrokenPipe
    )
}

/// The TLS problem a rustls error is.
pub fn tls_problem(e: &rustls::Error) -> TlsProblem {
    use rustls::Error as E;
    match e {
        E::InvalidCertificate(c) => match c {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => TlsProblem::UnknownIssuer,
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => TlsProblem::Expired,
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                TlsProblem::NotYetValid
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                TlsProblem::WrongName
            }
            CertificateError::Other(other)
                if matches!(
                    other.0.downcast_ref::<webpki::Error>(),
                    Some(webpki::Error::CaUsedAsEndEntity)
                ) =>
            {
                TlsProblem::CaAsServerCertificate
            }
            _ => TlsProblem::OtherCertificate,
        },
        E::AlertReceived(AlertDescription::CertificateRequired) => TlsProblem::ClientCertificateRequired,
        E::AlertReceived(AlertDescription::ProtocolVersion | AlertDescription::InsufficientSecurity)
        | E::PeerIncompatible(_) => TlsProblem::Incompatible,
        E::InvalidMessage(_) | E::InappropriateMessage { .. } | E::PeerSentOversizedRecord => {
            TlsProblem::NotTls
        }
        _ => TlsProblem::Other,
    }
}

/// A length of time in words for a certificate's dates: `3 days`, `5 hours`, `40 seconds`.
fn span(seconds: u64) -> String {
    let (n, unit) = match seconds {
        s if s >= 2 * 86_400 => (s / 86_400, "days"),
        s if s >= 2 * 3_600 => (s / 3_600, "hours"),
        s if s >= 2 * 60 => (s / 60, "minutes"),
        s => (s, "seconds"),
    };
    if n == 1 { format!("1 {}", unit.trim_end_matches('s')) } else { format!("{n} {unit}") }
}

/// Why the server's certificate was refused, in plain words (review 5: rustls says
/// `invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))`, its `Debug` text). The
/// errors webpki reports that rustls has no variant for come inside `Other`, and are worded
/// here too; one neither knows is said without its internal name.
pub fn certificate_error_words(c: &CertificateError) -> String {
    use CertificateError as C;
    match c {
        C::BadEncoding => "the server's certificate is malformed (not valid DER)".to_owned(),
        C::Expired => "the server's certificate has expired".to_owned(),
        C::ExpiredContext { time, not_after } => format!(
            "the server's certificate expired {} ago",
            span(time.as_secs().saturating_sub(not_after.as_secs()))
        ),
        C::NotValidYet => "the server's certificate is not valid yet (check this host's clock)".to_owned(),
        C::NotValidYetContext { time, not_before } => format!(
            "the server's certificate is not valid for another {} (check this host's clock)",
            span(not_before.as_secs().saturating_sub(time.as_secs()))
        ),
        C::Revoked => "the server's certificate is revoked by its CA: it must be replaced".to_owned(),
        C::UnhandledCriticalExtension => {
            "the server's certificate has a critical extension this tool does not know".to_owned()
        }
        C::UnknownIssuer => {
            "the server's certificate is not signed by a trusted authority (unknown issuer)".to_owned()
        }
        C::BadSignature => {
            "the signature on the server's certificate does not verify: the CA trusted is not the one that signed it (a CA of the same name with another key, as after a rotation), or the certificate was altered".to_owned()
        }
        #[allow(deprecated)]
        C::UnsupportedSignatureAlgorithm
        | C::UnsupportedSignatureAlgorithmContext { .. }
        | C::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            "the server's certificate is signed with an algorithm this tool does not accept (such as SHA-1 or MD5, or a signature that does not fit its issuer's key): have it reissued with SHA-256 or better".to_owned()
        }
        C::NotValidForName => "the server's certificate is not for the name asked".to_owned(),
        C::NotValidForNameContext { expected, presented } => {
            let expected = expected.to_str();
            match presented.as_slice() {
                [] => format!("the server's certificate is not for {expected}: it names no host at all"),
                names => format!(
                    "the server's certificate is not for {expected}, only for {}",
                    names.iter().map(|n| presented_name(n)).collect::<Vec<_>>().join(", ")
                ),
            }
        }
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
            "the server's certificate is not for TLS servers (its extended key usage lacks serverAuth)".to_owned()
        }
        C::UnknownRevocationStatus
        | C::ExpiredRevocationList
        | C::ExpiredRevocationListContext { .. }
        | C::InvalidOcspResponse => "the revocation status of the server's certificate cannot be told".to_owned(),
        C::ApplicationVerificationFailure => {
            "the server's certificate was refused by this tool's own checks".to_owned()
        }
        C::Other(other) => match other.0.downcast_ref::<webpki::Error>() {
            Some(e) => webpki_error_words(e),
            // Another verifier's own error: its text is all there is to say what it refused.
            None => format!("the server's certificate was refused by the verifier ({other})"),
        },
        // A kind rustls adds later: its own text, which names it.
        other => format!("the server's certificate cannot be verified ({other})"),
    }
}

/// One name a certificate is for, as webpki lists it in `Debug` form (`DnsName("a.example")`,
/// `IpAddress(10.0.0.1)`), in plain text: `a.example`, `10.0.0.1`, `the URI spiffe://…`; a form
/// it does not know, as it is.
fn presented_name(name: &str) -> String {
    let inner = |prefix: &str| name.strip_prefix(prefix).and_then(|rest| rest.strip_suffix(')'));
    let unquoted =
        |text: &str| text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text).to_owned();
    if let Some(dns) = inner("DnsName(") {
        unquoted(dns)
    } else if let Some(ip) = inner("IpAddress(") {
        ip.to_owned()
    } else if let Some(uri) = inner("UniformResourceIdentifier(") {
        format!("the URI {}", unquoted(uri))
    } else if name == "DirectoryName" {
        "a directory name".to_owned()
    } else {
        name.to_owned()
    }
}

/// The webpki refusals rustls passes on as [`CertificateError::Other`], in plain words.
fn webpki_error_words(e: &webpki::Error) -> String {
    use webpki::Error as W;
    match e {
        W::CaUsedAsEndEntity => {
            "the server's certificate is a CA certificate (CA:TRUE), not a server certificate".to_owned()
        }
        W::EndEntityUsedAsCa => "a server certificate (CA:FALSE) signed the server's certificate".to_owned(),
        W::UnknownIssuer => {
            "the server's certificate is not signed by a trusted authority (unknown issuer)".to_owned()
        }
        W::CertNotValidForName(_) => "the server's certificate is not for the name asked".to_owned(),
        W::CertExpired { .. } | W::InvalidCertValidity => "the server's certificate has expired".to_owned(),
        W::CertNotValidYet { .. } => {
            "the server's certificate is not valid yet (check this host's clock)".to_owned()
        }
        W::InvalidSignatureForPublicKey | W::SignatureAlgorithmMismatch => {
            "the signature on the server's certificate does not verify".to_owned()
        }
        W::CertRevoked => "the server's certificate is revoked by its CA: it must be replaced".to_owned(),
        W::NameConstraintViolation => "the server's certificate breaks its CA's name constraints".to_owned(),
        W::PathLenConstraintViolated | W::MaximumPathDepthExceeded => {
            "the server's certificate chain is longer than its CAs allow".to_owned()
        }
        W::RequiredEkuNotFoundContext(_) => {
            "the server's certificate is not for TLS servers (its extended key usage lacks serverAuth)"
                .to_owned()
        }
        W::UnsupportedCriticalExtension => {
            "the server's certificate has a critical extension this tool does not know".to_owned()
        }
        W::BadDer
        | W::BadDerTime
        | W::TrailingData(_)
        | W::MalformedExtensions
        | W::ExtensionValueInvalid => "the server's certificate is malformed (not valid DER)".to_owned(),
        _ => "the server's certificate was refused by the verifier".to_owned(),
    }
}

/// A rustls error in plain words, never its `Debug` text (review 5): the certificate's
/// problem ([`certificate_error_words`]), the alert the server sent ([`alert_words`]), what
/// the two sides lack in common ([`incompatible_words`]), or what went wrong and what to check.
/// rustls' own name for the fault is kept, in parentheses, only where the words cannot say
/// more (a protocol violation, a kind rustls adds later).
pub fn tls_error_words(e: &rustls::Error) -> String {
    use rustls::Error as E;
    match e {
        E::InvalidCertificate(c) => certificate_error_words(c),
        E::AlertReceived(alert) => alert_words(*alert),
        E::NoCertificatesPresented => {
            "the server sent no certificate: check the certificate and key its TLS is set up with".to_owned()
        }
        E::InvalidMessage(_) | E::InappropriateMessage { .. } | E::InappropriateHandshakeMessage { .. } => {
            "the server's answer is not the TLS handshake expected (is it a TLS server?)".to_owned()
        }
        E::PeerSentOversizedRecord => "the server's answer is not TLS (a record too large)".to_owned(),
        E::PeerIncompatible(why) => incompatible_words(why),
        E::PeerMisbehaved(why) => format!(
            "the server broke the TLS protocol during the handshake ({why:?}): a device on the path that alters the traffic, or a faulty TLS implementation"
        ),
        E::DecryptError => {
            "the server's messages cannot be decrypted: a device on the path alters the traffic, or the server's TLS is faulty".to_owned()
        }
        E::EncryptError => "a message could not be encrypted (a fault in this tool's TLS)".to_owned(),
        E::HandshakeNotComplete => "the handshake did not complete".to_owned(),
        E::NoApplicationProtocol => {
            "the server speaks none of the application protocols offered (ALPN)".to_owned()
        }
        E::FailedToGetCurrentTime => {
            "this host's clock could not be read, so no certificate's dates can be checked".to_owned()
        }
        E::FailedToGetRandomBytes => "this host's random number source failed".to_owned(),
        E::InconsistentKeys(_) => {
            "the client key does not belong to the client certificate: give a certificate and key of the same pair"
                .to_owned()
        }
        E::InvalidCertRevocationList(_) => "a certificate revocation list given cannot be used".to_owned(),
        E::General(text) => text.clone(),
        E::Other(other) => format!("the TLS handshake failed ({other})"),
        // Settings this tool never makes (a server name of another type, encrypted client
        // hello, a record size), and kinds rustls adds later: its own text names them.
        other => format!("the TLS handshake failed ({other})"),
    }
}

/// What the server and this tool lack in common, in plain words: a TLS version, a cipher
/// suite, a key exchange group or a signature scheme; rustls' name of anything else.
fn incompatible_words(why: &rustls::PeerIncompatible) -> String {
    use rustls::PeerIncompatible as P;
    match why {
        P::ServerDoesNotSupportTls12Or13
        | P::ServerTlsVersionIsDisabledByOurConfig
        | P::SupportedVersionsExtensionRequired
        | P::Tls12NotOffered
        | P::Tls12NotOfferedOrEnabled
        | P::Tls13RequiredForQuic => {
            "the server speaks no TLS version this tool does (1.2, 1.3): it, or a device in front of it, offers only TLS 1.0 or 1.1".to_owned()
        }
        P::NoCipherSuitesInCommon => {
            "the server offers no cipher suite this tool accepts (AES-GCM or ChaCha20-Poly1305, with ECDHE): it, or a device in front of it, offers only old ones".to_owned()
        }
        P::NoKxGroupsInCommon
        | P::KeyShareExtensionRequired
        | P::NamedGroupsExtensionRequired
        | P::EcPointsExtensionRequired
        | P::NoEcPointFormatsInCommon
        | P::UncompressedEcPointsRequired => {
            "the server offers no key exchange this tool accepts (X25519, P-256, P-384)".to_owned()
        }
        P::NoSignatureSchemesInCommon
        | P::SignatureAlgorithmsExtensionRequired
        | P::NoCertificateRequestSignatureSchemesInCommon => {
            "the server and this tool have no signature scheme in common: its certificate's key is of a kind this tool does not accept (such as DSA), or it signs with none of RSA-PSS, RSA PKCS#1, ECDSA or Ed25519".to_owned()
        }
        P::ExtendedMasterSecretExtensionRequired => {
            "the server does not support the extended master secret (RFC 7627) required with TLS 1.2".to_owned()
        }
        P::ServerRejectedEncryptedClientHello(_) => "the server refused the encrypted client hello".to_owned(),
        other => format!("the server lacks a TLS feature this tool requires ({other:?})"),
    }
}

/// A TLS alert the server sent, in plain words, with its name in RFC 8446's spelling. The
/// alerts about certificates are about the client's (the server's own is judged here, not
/// there): with none sent, the server wants one.
fn alert_words(alert: AlertDescription) -> String {
    use AlertDescription as A;
    let words = match alert {
        A::CertificateRequired | A::NoCertificate => "the server wants a client certificate",
        A::HandshakeFailure => "the server refused the handshake",
        A::BadCertificate | A::CertificateUnknown => {
            "the server refused the certificate (or the lack of one)"
        }
        A::UnknownCA => "the server does not trust the client certificate's CA",
        A::CertificateExpired => "the server says the client certificate has expired: renew it",
        A::CertificateRevoked => "the server says the client certificate is revoked: replace it",
        A::UnsupportedCertificate => "the server does not accept the client certificate's kind of key",
        A::CertificateUnobtainable => "the server could not fetch the client certificate",
        A::BadCertificateStatusResponse | A::BadCertificateHashValue => {
            "the server refused the certificate status sent"
        }
        A::ProtocolVersion => "the server speaks no TLS version this tool does (1.2, 1.3)",
        A::InsufficientSecurity => "the server wants stronger ciphers than offered",
        A::InappropriateFallback => "the server refused a downgraded TLS version",
        A::UnrecognisedName => "the server does not serve the name asked (SNI)",
        A::AccessDenied => "the server denied access",
        A::InternalError => "the server failed during the handshake",
        A::DecodeError | A::IllegalParameter | A::UnexpectedMessage => {
            "the server could not read the handshake"
        }
        A::MissingExtension | A::UnsupportedExtension => "the server refused the TLS extensions offered",
        A::NoApplicationProtocol => "the server speaks none of the application protocols offered (ALPN)",
        A::DecryptError => {
            "the server could not verify the handshake: a device on the path alters the traffic"
        }
        A::BadRecordMac | A::DecryptionFailed | A::RecordOverflow | A::DecompressionFailure => {
            "the server could not read the encrypted messages: a device on the path alters the traffic"
        }
        A::CloseNotify | A::UserCanceled => "the server closed the connection during the handshake",
        _ => return format!("the server ended the handshake with TLS alert number {}", u8::from(alert)),
    };
    match alert_name(alert) {
        Some(name) => format!("{words} (TLS alert {name})"),
        None => format!("{words} (TLS alert number {})", u8::from(alert)),
    }
}

/// A TLS alert's name as the RFCs spell it (RFC 8446 section 6, RFC 5246 for the older ones).
fn alert_name(alert: AlertDescription) -> Option<&'static str> {
    use AlertDescription as A;
    Some(match alert {
        A::CloseNotify => "close_notify",
        A::UnexpectedMessage => "unexpected_message",
        A::BadRecordMac => "bad_record_mac",
        A::DecryptionFailed => "decryption_failed",
        A::RecordOverflow => "record_overflow",
        A::DecompressionFailure => "decompression_failure",
        A::HandshakeFailure => "handshake_failure",
        A::NoCertificate => "no_certificate",
        A::BadCertificate => "bad_certificate",
        A::UnsupportedCertificate => "unsupported_certificate",
        A::CertificateRevoked => "certificate_revoked",
        A::CertificateExpired => "certificate_expired",
        A::CertificateUnknown => "certificate_unknown",
        A::IllegalParameter => "illegal_parameter",
        A::UnknownCA => "unknown_ca",
        A::AccessDenied => "access_denied",
        A::DecodeError => "decode_error",
        A::DecryptError => "decrypt_error",
        A::ProtocolVersion => "protocol_version",
        A::InsufficientSecurity => "insufficient_security",
        A::InternalError => "internal_error",
        A::InappropriateFallback => "inappropriate_fallback",
        A::UserCanceled => "user_canceled",
        A::MissingExtension => "missing_extension",
        A::UnsupportedExtension => "unsupported_extension",
        A::CertificateUnobtainable => "certificate_unobtainable",
        A::UnrecognisedName => "unrecognized_name",
        A::BadCertificateStatusResponse => "bad_certificate_status_response",
        A::BadCertificateHashValue => "bad_certificate_hash_value",
        A::CertificateRequired => "certificate_required",
        A::NoApplicationProtocol => "no_application_protocol",
        _ => return None,
    })
}

/// An I/O error of a connection in plain words, without `(os error N)`: the rustls error
/// inside it ([`tls_error_words`]), else [`findings::text::io_error_words`].
pub fn connection_error_words(e: &io::Error) -> String {
    match rustls_error(e) {
        Some(r) => tls_error_words(r),
        None => findings::text::io_error_words(e, "a connection"),
    }
}

/// Why a TCP connection failed, in plain words (review 6: `Connection refused (os error
/// 111)`): `connection refused: nothing listens on that port`. Without the address: each
/// attempt, TCP or HTTP, is shown beside its address, and the address in these words too read
/// `127.0.0.1:6443: connection refused: nothing listens on 127.0.0.1:6443` (review: NET002
/// named the address twice). NET002 tells a refusal by the word `refused`.
pub fn connect_error_words(e: &io::Error, timeout: Duration) -> String {
    let words = findings::text::io_error_words(e, "a connection");
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused: nothing listens on that port".to_owned(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
            format!("timed out: no answer within {} s", timeout.as_secs_f64())
        }
        io::ErrorKind::NetworkUnreachable | io::ErrorKind::HostUnreachable => {
            format!("{words}: no route from this host")
        }
        _ => words,
    }
}

/// The rustls error inside an I/O error, when there is one.
fn rustls_error(e: &io::Error) -> Option<&rustls::Error> {
    e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>())
}

/// The TLS problem a rustls error is, once the server may have asked for a client
/// certificate (`asked`). Only an alert says that it wanted one: `certificate_required`, or,
/// after it asked, `bad_certificate`, `handshake_failure` or `certificate_unknown` (what TLS 1.2
/// servers such as OpenSSL's and Go's send when none came). Asking alone says nothing: a
/// kube-apiserver asks on every handshake (Go's `tls.RequestClientCert`, whenever
/// `--client-ca-file` is set) and answers without one.
fn problem_after_asking(r: &rustls::Error, asked: bool) -> TlsProblem {
    match r {
        rustls::Error::AlertReceived(
            AlertDescription::BadCertificate
            | AlertDescription::HandshakeFailure
            | AlertDescription::CertificateUnknown,
        ) if asked => TlsProblem::ClientCertificateRequired,
        r => tls_problem(r),
    }
}

/// A TLS-step failure from an I/O error during the handshake.
fn handshake_failure(e: &io::Error, asked: bool, timeout: Duration) -> (TlsProblem, String) {
    if let Some(r) = rustls_error(e) {
        return (problem_after_asking(r, asked), format!("TLS handshake: {}", tls_error_words(r)));
    }
    if is_timeout(e) {
        return (
            TlsProblem::Timeout,
            format!("TLS handshake: not finished within {} s", timeout.as_secs_f64()),
        );
    }
    if is_cut(e) {
        // Even after the server asked for a client certificate: without an alert, a reset is a
        // reset (retried), not a refusal.
        return (
            TlsProblem::Reset,
            format!("TLS handshake: the connection was closed or reset ({})", connection_error_words(e)),
        );
    }
    (TlsProblem::Other, format!("TLS handshake: {}", connection_error_words(e)))
}

/// Makes the request; never fails: every failure is in the attempt.
pub fn request(req: &Request<'_>, tls: Option<&Tls>, attempt: &mut HttpAttempt) {
    let started = Instant::now();
    let deadline = started + req.timeout;
    attempt.address = Some(req.address);
    let result = exchange(req, tls, attempt, deadline);
    attempt.seconds = started.elapsed().as_secs_f64();
    if let Err((kind, message)) = result {
        attempt.failure = Some((kind, message));
    }
}

fn exchange(
    req: &Request<'_>,
    tls: Option<&Tls>,
    attempt: &mut HttpAttempt,
    deadline: Instant,
) -> Result<(), (HttpFailure, String)> {
    let timed_out = |what: &str| {
        (HttpFailure::Timeout, format!("{what}: no answer within {} s", req.timeout.as_secs_f64()))
    };
    let tcp = TcpStream::connect_timeout(&req.address, req.timeout).map_err(|e| {
        if is_timeout(&e) {
            timed_out("TCP connect")
        } else {
            (HttpFailure::Transport, format!("TCP connect: {}", connect_error_words(&e, req.timeout)))
        }
    })?;
    let _ = tcp.set_nodelay(true);
    let mut tcp = tcp;
    if let Some(tunnel) = &req.tunnel
        && let Err(refused) = tunnel.open(&mut tcp, deadline)
    {
        attempt.proxy_status = refused.status;
        attempt.proxy_refusal_lasting = refused.lasting;
        return Err((HttpFailure::Proxy, refused.message));
    }
    // A new connection: forget what the last server asked.
    if let Some(t) = tls {
        t.asked_for_client_certificate.take();
    }
    let mut conn = match tls {
        None => Conn::Plain(tcp),
        Some(tls) => {
            let tls_started = Instant::now();
            let mut client = ClientConnection::new(tls.config.clone(), tls.server_name.clone())
                .map_err(|e| (HttpFailure::Tls, format!("TLS: {e}")))?;
            let mut tcp = tcp;
            let fail = |e: io::Error, attempt: &mut HttpAttempt| {
                let (problem, message) =
                    handshake_failure(&e, tls.asked_for_client_certificate.take(), req.timeout);
                attempt.tls_problem = Some(problem);
                (HttpFailure::Tls, message)
            };
            while client.is_handshaking() {
                if let Err(e) =
                    time_left(&tcp, deadline).and_then(|()| client.complete_io(&mut tcp).map(|_| ()))
                {
                    return Err(fail(e, attempt));
                }
            }
            attempt.tls_seconds = Some(tls_started.elapsed().as_secs_f64());
            Conn::Tls(Box::new(StreamOwned::new(client, tcp)))
        }
    };
    let text = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: apiserver-doctor/{}\r\nAccept: application/json, */*\r\nConnection: close\r\n\r\n",
        req.path,
        req.host_header,
        env!("CARGO_PKG_VERSION")
    );
    // After the handshake, a rustls error (an alert: a TLS 1.3 server wanting a client
    // certificate says so only now) is still the TLS step's. A reset or a close without an
    // alert is not, even when the server asked for a client certificate (a kube-apiserver
    // always asks): it is a transport failure, retried and judged by NET004.
    let after = |e: io::Error, attempt: &mut HttpAttempt, what: &str| -> (HttpFailure, String) {
        let asked = tls.is_some_and(|t| t.asked_for_client_certificate.take());
        if let Some(r) = rustls_error(&e) {
            attempt.tls_problem = Some(problem_after_asking(r, asked));
            return (HttpFailure::Tls, format!("TLS: {}", tls_error_words(r)));
        }
        if is_timeout(&e) {
            return (
                HttpFailure::Timeout,
                format!("{what}: no answer within {} s", req.timeout.as_secs_f64()),
            );
        }
        (HttpFailure::Transport, format!("{what}: {}", connection_error_words(&e)))
    };
    if let Err(e) = time_left(conn.socket(), deadline)
        .and_then(|()| conn.write_all(text.as_bytes()))
        .and_then(|()| conn.flush())
    {
        return Err(after(e, attempt, "sending the request"));
    }
    // The head, parsed by httparse as it arrives.
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let not_http = |buf: &[u8], why: &str| {
        let start: String = String::from_utf8_lossy(buf).chars().take(60).collect();
        (HttpFailure::Transport, format!("not an HTTP answer ({why}): {start:?}"))
    };
    let (status, head_end) = loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(&buf) {
            Ok(httparse::Status::Complete(end)) => {
                let status = response.code.ok_or_else(|| not_http(&buf, "no status code"))?;
                let mut length: Option<usize> = None;
                let mut chunked = false;
                for header in response.headers.iter() {
                    let value = String::from_utf8_lossy(header.value).trim().to_owned();
                    match header.name.to_ascii_lowercase().as_str() {
                        "content-length" => length = value.parse().ok(),
                        "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
                        "location" => attempt.location = Some(value),
                        "retry-after" => attempt.retry_after = Some(value),
                        _ => {}
                    }
                }
                break ((status, length, chunked), end);
            }
            Ok(httparse::Status::Partial) => {}
            Err(e) => return Err(not_http(&buf, &e.to_string())),
        }
        if buf.len() > HEAD_LIMIT {
            return Err((
                HttpFailure::Transport,
                "the answer's head is over 64 KiB: not an HTTP server?".to_owned(),
            ));
        }
        match time_left(conn.socket(), deadline).and_then(|()| conn.read(&mut chunk)) {
            Ok(0) if buf.is_empty() => {
                return Err(after(
                    io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the connection without answering",
                    ),
                    attempt,
                    "reading the answer",
                ));
            }
            Ok(0) => {
                return Err((HttpFailure::Transport, "the answer ended within its head".to_owned()));
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(after(e, attempt, "reading the answer")),
        }
    };
    let (status, length, chunked) = status;
    attempt.status = Some(status);
    let mut rest = buf[head_end..].to_vec();
    let body = if chunked {
        read_chunked(&mut conn, &mut rest, deadline)
    } else {
        read_body(&mut conn, &mut rest, length, deadline)
    };
    let cut = |e: io::Error, body: &[u8], attempt: &mut HttpAttempt| {
        attempt.body = String::from_utf8_lossy(body).into_owned();
        let (kind, message) = after(e, attempt, "reading the answer");
        (kind, format!("the HTTP {status} answer was cut after {} bytes of its body ({message})", body.len()))
    };
    match body {
        Ok(b) => {
            attempt.body = String::from_utf8_lossy(&b).into_owned();
            Ok(())
        }
        Err((e, partial)) => Err(cut(e, &partial, attempt)),
    }
}

type BodyResult = Result<Vec<u8>, (io::Error, Vec<u8>)>;

fn fill(conn: &mut Conn, rest: &mut Vec<u8>, deadline: Instant) -> io::Result<usize> {
    let mut chunk = [0u8; 8192];
    time_left(conn.socket(), deadline)?;
    let n = conn.read(&mut chunk)?;
    rest.extend_from_slice(&chunk[..n]);
    Ok(n)
}

/// A body of `length` bytes, or up to the end of the connection; at most [`BODY_LIMIT`] kept.
fn read_body(conn: &mut Conn, rest: &mut Vec<u8>, length: Option<usize>, deadline: Instant) -> BodyResult {
    let want = length.map_or(BODY_LIMIT, |l| l.min(BODY_LIMIT));
    while rest.len() < want {
        match fill(conn, rest, deadline) {
            Ok(0) if length.is_none() => break,
            Ok(0) => {
                return Err((
                    io::Error::new(io::ErrorKind::UnexpectedEof, "the connection ended"),
                    rest.clone(),
                ));
            }
            Ok(_) => {}
            // Up to the end of the connection: a close without TLS close_notify ends it too.
            Err(e) if length.is_none() && e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err((e, rest.clone())),
        }
    }
    rest.truncate(want);
    Ok(rest.clone())
}

/// A chunked body; at most [`BODY_LIMIT`] kept.
fn read_chunked(conn: &mut Conn, rest: &mut Vec<u8>, deadline: Instant) -> BodyResult {
    let mut body = Vec::new();
    let ended = || io::Error::new(io::ErrorKind::UnexpectedEof, "the connection ended");
    loop {
        // The size line, parsed by httparse.
        let (line_len, size) = loop {
            match httparse::parse_chunk_size(rest) {
                Ok(httparse::Status::Complete((used, size))) => break (used, size),
                Ok(httparse::Status::Partial) => {}
                Err(_) => {
                    let start: String = String::from_utf8_lossy(rest).chars().take(20).collect();
                    return Err((
                        io::Error::new(io::ErrorKind::InvalidData, format!("bad chunk size line {start:?}")),
                        body,
                    ));
                }
            }
            match fill(conn, rest, deadline) {
                Ok(0) => return Err((ended(), body)),
                Ok(_) => {}
                Err(e) => return Err((e, body)),
            }
        };
        // A size past what memory holds is as bad as an unreadable one.
        let Ok(size) = usize::try_from(size) else {
            return Err((io::Error::new(io::ErrorKind::InvalidData, "chunk size too large"), body));
        };
        rest.drain(..line_len);
        if size == 0 {
            return Ok(body);
        }
        while rest.len() < size.saturating_add(2) {
            if body.len() + rest.len() >= BODY_LIMIT {
                let take = (BODY_LIMIT - body.len()).min(rest.len());
                body.extend_from_slice(&rest[..take]);
                return Ok(body);
            }
            match fill(conn, rest, deadline) {
                Ok(0) => {
                    body.extend_from_slice(rest);
                    return Err((ended(), body));
                }
                Ok(_) => {}
                Err(e) => {
                    body.extend_from_slice(rest);
                    return Err((e, body));
                }
            }
        }
        body.extend_from_slice(&rest[..size]);
        rest.drain(..size + 2);
        if body.len() >= BODY_LIMIT {
            body.truncate(BODY_LIMIT);
            return Ok(body);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(description: AlertDescription) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, rustls::Error::AlertReceived(description))
    }

    /// Review 5 (etcd review): `TLS handshake: invalid peer certificate:
    /// Other(OtherError(CaUsedAsEndEntity))`, rustls's `Debug` text, reached the report: every
    /// certificate error is said in plain words.
    #[test]
    fn tls_certificate_errors_were_printed_as_rust_debug_text() {
        use rustls::pki_types::UnixTime;
        let other = |e: webpki::Error| CertificateError::Other(rustls::OtherError(Arc::new(e)));
        let cases = [
            (other(webpki::Error::CaUsedAsEndEntity), "is a CA certificate (CA:TRUE)"),
            (other(webpki::Error::UnknownIssuer), "not signed by a trusted authority"),
            (CertificateError::UnknownIssuer, "not signed by a trusted authority"),
            (CertificateError::NotValidForName, "not for the name asked"),
            (
                CertificateError::NotValidForNameContext {
                    expected: ServerName::try_from("api.example.com").expect("a name").to_owned(),
                    presented: vec!["DnsName(\"other\")".to_owned()],
                },
                "is not for api.example.com, only for",
            ),
            (CertificateError::Expired, "has expired"),
            (
                CertificateError::ExpiredContext {
                    time: UnixTime::since_unix_epoch(Duration::from_secs(10 * 86_400)),
                    not_after: UnixTime::since_unix_epoch(Duration::from_secs(7 * 86_400)),
                },
                "expired 3 days ago",
            ),
            (CertificateError::NotValidYet, "not valid yet"),
            (CertificateError::BadSignature, "does not verify"),
            (other(webpki::Error::InvalidSignatureForPublicKey), "does not verify"),
            (CertificateError::BadEncoding, "malformed"),
            (CertificateError::Revoked, "revoked"),
        ];
        for (error, words) in cases {
            let text = tls_error_words(&rustls::Error::InvalidCertificate(error.clone()));
            assert!(text.contains(words), "{error:?}: {text}");
            for raw in
                ["Other(", "OtherError", "CaUsedAsEndEntity", "UnknownIssuer", "invalid peer certificate"]
            {
                assert!(!text.contains(raw), "{error:?}: {text}");
            }
        }
        // Through the handshake's I/O error, as the probe meets it.
        let e = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(other(webpki::Error::CaUsedAsEndEntity)),
        );
        let (problem, message) = handshake_failure(&e, false, Duration::from_secs(5));
        assert_eq!(problem, TlsProblem::CaAsServerCertificate);
        assert_eq!(
            message,
            "TLS handshake: the server's certificate is a CA certificate (CA:TRUE), not a server certificate"
        );
        // Alerts too: no `CertificateRequired`.
        assert_eq!(
            handshake_failure(&alert(AlertDescription::CertificateRequired), false, Duration::from_secs(5)).1,
            "TLS handshake: the server wants a client certificate (TLS alert certificate_required)"
        );
    }

    /// The words of `e`, checked to hold none of rustls' own names for it (its `Debug` text).
    fn plain(e: rustls::Error) -> String {
        let text = tls_error_words(&e);
        for raw in [
            "Other(",
            "OtherError",
            "DnsName",
            "IpAddress(",
            "invalid peer certificate",
            "peer is incompatible",
            "peer misbehaved",
            "received fatal alert",
            "UnsupportedSignatureAlgorithm",
            "NoCipherSuitesInCommon",
            "CertificateExpired",
        ] {
            assert!(!text.contains(raw), "{e:?}: {raw} in {text}");
        }
        text
    }

    /// Review: the rustls errors outside the groups worded before (review 5) were printed in
    /// rustls' `Debug` text (`invalid peer certificate: UnsupportedSignatureAlgorithm`, `peer is
    /// incompatible: NoCipherSuitesInCommon`, `only for DnsName("a.example")`). Each group a user
    /// can meet is said in words, saying what is wrong and what to check.
    #[test]
    fn tls_errors_outside_the_mapped_groups_were_printed_as_rustls_debug_text() {
        let certificate = |c: CertificateError| plain(rustls::Error::InvalidCertificate(c));
        // The certificate's dates, signature, issuer, name and revocation.
        assert_eq!(certificate(CertificateError::Expired), "the server's certificate has expired");
        assert!(certificate(CertificateError::NotValidYet).contains("check this host's clock"));
        assert!(
            certificate(CertificateError::BadSignature)
                .contains("the CA trusted is not the one that signed it")
        );
        assert!(certificate(CertificateError::UnknownIssuer).contains("not signed by a trusted authority"));
        assert!(certificate(CertificateError::Revoked).contains("revoked by its CA: it must be replaced"));
        #[allow(deprecated)]
        let unsupported = [
            CertificateError::UnsupportedSignatureAlgorithm,
            CertificateError::UnsupportedSignatureAlgorithmContext {
                signature_algorithm_id: vec![1, 2],
                supported_algorithms: Vec::new(),
            },
            CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext {
                signature_algorithm_id: vec![1],
                public_key_algorithm_id: vec![2],
            },
        ];
        for c in unsupported {
            let text = certificate(c);
            assert!(text.contains("signed with an algorithm this tool does not accept"), "{text}");
            assert!(text.contains("reissued with SHA-256 or better"), "{text}");
        }
        // The names a certificate is for, as webpki lists them: in plain text.
        let wrong = CertificateError::NotValidForNameContext {
            expected: ServerName::try_from("api.example.com").expect("a name").to_owned(),
            presented: vec![
                "DnsName(\"kubernetes.default.svc\")".to_owned(),
                "IpAddress(10.0.0.1)".to_owned(),
                "IpAddress(fd00::1)".to_owned(),
                "UniformResourceIdentifier(\"spiffe://cluster/ns/a\")".to_owned(),
                "DirectoryName".to_owned(),
            ],
        };
        assert_eq!(
            certificate(wrong),
            "the server's certificate is not for api.example.com, only for kubernetes.default.svc, 10.0.0.1, \
             fd00::1, the URI spiffe://cluster/ns/a, a directory name"
        );
        assert!(
            certificate(CertificateError::ApplicationVerificationFailure).contains("refused by this tool")
        );
        // Another verifier's error: its own text, which is all that says what it refused.
        let other =
            CertificateError::Other(rustls::OtherError(Arc::new(io::Error::other("pinned key differs"))));
        assert_eq!(
            certificate(other),
            "the server's certificate was refused by the verifier (pinned key differs)"
        );

        // Alerts the server sent: the handshake refused, the client certificate judged.
        for (alert, says) in [
            (
                AlertDescription::HandshakeFailure,
                "the server refused the handshake (TLS alert handshake_failure)",
            ),
            (
                AlertDescription::CertificateExpired,
                "the server says the client certificate has expired: renew it (TLS alert certificate_expired)",
            ),
            (
                AlertDescription::CertificateRevoked,
                "the server says the client certificate is revoked: replace it (TLS alert certificate_revoked)",
            ),
            (
                AlertDescription::UnsupportedCertificate,
                "the server does not accept the client certificate's kind of key (TLS alert unsupported_certificate)",
            ),
            (
                AlertDescription::DecryptError,
                "the server could not verify the handshake: a device on the path alters the traffic (TLS alert decrypt_error)",
            ),
            (
                AlertDescription::BadRecordMac,
                "the server could not read the encrypted messages: a device on the path alters the traffic (TLS alert bad_record_mac)",
            ),
            (
                AlertDescription::IllegalParameter,
                "the server could not read the handshake (TLS alert illegal_parameter)",
            ),
            (AlertDescription::Unknown(200), "the server ended the handshake with TLS alert number 200"),
        ] {
            assert_eq!(plain(rustls::Error::AlertReceived(alert)), says, "{alert:?}");
        }

        // What the two sides lack in common.
        for (why, says) in [
            (
                rustls::PeerIncompatible::ServerDoesNotSupportTls12Or13,
                "no TLS version this tool does (1.2, 1.3)",
            ),
            (rustls::PeerIncompatible::Tls12NotOffered, "no TLS version this tool does"),
            (rustls::PeerIncompatible::NoCipherSuitesInCommon, "no cipher suite this tool accepts"),
            (
                rustls::PeerIncompatible::NoKxGroupsInCommon,
                "no key exchange this tool accepts (X25519, P-256, P-384)",
            ),
            (rustls::PeerIncompatible::NoSignatureSchemesInCommon, "no signature scheme in common"),
            (rustls::PeerIncompatible::ExtendedMasterSecretExtensionRequired, "extended master secret"),
        ] {
            let text = plain(rustls::Error::PeerIncompatible(why.clone()));
            assert!(text.contains(says), "{why:?}: {text}");
        }
        // A feature without words: rustls' name kept in parentheses, after plain words.
        let text = tls_error_words(&rustls::Error::PeerIncompatible(
            rustls::PeerIncompatible::UnsolicitedCertificateTypeExtension,
        ));
        assert_eq!(
            text,
            "the server lacks a TLS feature this tool requires (UnsolicitedCertificateTypeExtension)"
        );

        // A server that is not a TLS server, sends no certificate, or breaks the protocol.
        assert!(
            plain(rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType))
                .contains("not the TLS handshake expected (is it a TLS server?)")
        );
        assert!(
            plain(rustls::Error::NoCertificatesPresented)
                .starts_with("the server sent no certificate: check")
        );
        let misbehaved = tls_error_words(&rustls::Error::PeerMisbehaved(
            rustls::PeerMisbehaved::IllegalHelloRetryRequestWithOfferedGroup,
        ));
        assert!(
            misbehaved.starts_with("the server broke the TLS protocol during the handshake ("),
            "{misbehaved}"
        );
        assert!(misbehaved.contains("a device on the path that alters the traffic"), "{misbehaved}");
        assert!(
            plain(rustls::Error::DecryptError).contains("cannot be decrypted: a device on the path alters")
        );
        // This host's own faults.
        assert!(plain(rustls::Error::FailedToGetCurrentTime).contains("clock could not be read"));
        assert!(
            plain(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch))
                .contains("give a certificate and key of the same pair")
        );
        assert!(plain(rustls::Error::NoApplicationProtocol).contains("(ALPN)"));
    }

    /// Review 6 (etcd review): `Connection refused (os error 111)` in the TCP line and NET002.
    /// The words leave the address out: each attempt is shown beside its own (review: NET002
    /// read `127.0.0.1:6443: connection refused: nothing listens on 127.0.0.1:6443`).
    #[test]
    fn a_refused_connection_was_said_with_its_os_error_number() {
        let timeout = Duration::from_secs(5);
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(
            connect_error_words(&refused, timeout),
            "connection refused: nothing listens on that port"
        );
        if cfg!(target_os = "linux") {
            let refused = io::Error::from_raw_os_error(111);
            assert_eq!(
                connect_error_words(&refused, timeout),
                "connection refused: nothing listens on that port"
            );
            let unreachable = connect_error_words(&io::Error::from_raw_os_error(101), timeout);
            assert_eq!(unreachable, "network is unreachable: no route from this host");
            let reset = connection_error_words(&io::Error::from_raw_os_error(104));
            assert_eq!(reset, "connection reset by peer");
        }
        assert_eq!(
            connect_error_words(&io::Error::from(io::ErrorKind::TimedOut), timeout),
            "timed out: no answer within 5 s"
        );
        // A real refusal: a port nothing listens on.
        if let Err(e) = TcpStream::connect("127.0.0.1:1") {
            let words = connect_error_words(&e, timeout);
            assert!(!words.contains("os error") && !words.contains("127.0.0.1"), "{words}");
        }
    }

    /// Review H1: a kube-apiserver asks every client for a certificate, so a reset after it
    /// asked was read as mutual TLS, not retried, on every real cluster.
    #[test]
    fn a_reset_after_the_server_asked_for_a_client_certificate_is_a_reset_not_mutual_tls() {
        let timeout = Duration::from_secs(5);
        let reset = io::Error::new(io::ErrorKind::ConnectionReset, "Connection reset by peer");
        assert_eq!(handshake_failure(&reset, true, timeout).0, TlsProblem::Reset);
        let eof = io::Error::new(io::ErrorKind::UnexpectedEof, "peer closed connection");
        assert_eq!(handshake_failure(&eof, true, timeout).0, TlsProblem::Reset);
        // An alert saying so is wanting one: certificate_required always; the alerts TLS 1.2
        // servers send when none came, only after they asked.
        assert_eq!(
            handshake_failure(&alert(AlertDescription::CertificateRequired), false, timeout).0,
            TlsProblem::ClientCertificateRequired
        );
        for description in [
            AlertDescription::BadCertificate,
            AlertDescription::HandshakeFailure,
            AlertDescription::CertificateUnknown,
        ] {
            assert_eq!(
                handshake_failure(&alert(description), true, timeout).0,
                TlsProblem::ClientCertificateRequired,
                "{description:?}"
            );
            assert_ne!(
                handshake_failure(&alert(description), false, timeout).0,
                TlsProblem::ClientCertificateRequired,
                "{description:?}"
            );
        }
        // Another alert after asking is not a certificate demand.
        assert_eq!(
            handshake_failure(&alert(AlertDescription::InternalError), true, timeout).0,
            TlsProblem::Other
        );
    }
}
