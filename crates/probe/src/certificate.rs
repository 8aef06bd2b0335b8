//! The certificate the API server presents, read for its dates and names.
//!
//! The handshake here accepts any certificate on purpose: it only reads what the server
//! presents, so that an expiry date can be told even when the certificate is not trusted. Whether
//! it is trusted is decided by the verified requests of the probe (NET003), never here; nothing
//! is sent on this connection after the handshake.

use std::io::Write;
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use x509_cert::der::{Decode, Encode};

use crate::Certificate;

/// Records the server's certificate and accepts it; handshake signatures are still checked
/// (the server must hold the certificate's key).
#[derive(Debug)]
struct Recorder {
    provider: Arc<CryptoProvider>,
    leaf: Mutex<Option<CertificateDer<'static>>>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut leaf) = self.leaf.lock() {
            *leaf = Some(end_entity.clone().into_owned());
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// A verifier that accepts any certificate (handshake signatures still checked): for
/// `insecure-skip-tls-verify`.
pub fn accept_any(provider: Arc<CryptoProvider>) -> Arc<dyn ServerCertVerifier> {
    Arc::new(Recorder { provider, leaf: Mutex::new(None) })
}

/// The certificate the server presents for `host` on the connection `connect` opens (to an
/// address, or a tunnel through a proxy), read within `timeout`, and why not, or why the
/// handshake failed after the certificate came (the certificate is still described: review L3).
pub fn read(
    connect: impl FnOnce() -> Result<TcpStream, String>,
    host: &str,
    timeout: Duration,
    now_unix: i64,
) -> (Option<Certificate>, Option<String>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let recorder = Arc::new(Recorder { provider: provider.clone(), leaf: Mutex::new(None) });
    let failure = handshake(recorder.clone(), provider, connect, host, timeout).err();
    let leaf = recorder.leaf.lock().ok().and_then(|l| l.clone());
    match (leaf, failure) {
        (Some(der), failure) => match describe(der.as_ref(), now_unix) {
            Ok(c) => (Some(c), failure),
            Err(e) => (None, Some(e)),
        },
        (None, Some(failure)) => (None, Some(failure)),
        (None, None) => (None, Some("the server presented no certificate".to_owned())),
    }
}

/// A handshake that records the server's certificate in `recorder`, then close_notify.
fn handshake(
    recorder: Arc<Recorder>,
    provider: Arc<CryptoProvider>,
    connect: impl FnOnce() -> Result<TcpStream, String>,
    host: &str,
    timeout: Duration,
) -> Result<(), String> {
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(recorder)
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_owned()).map_err(|e| format!("{host}: {e}"))?;
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    let mut tcp = connect()?;
    tcp.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    tcp.set_write_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp).map_err(|e| match e.kind() {
            // A socket read timeout surfaces as `WouldBlock` (EAGAIN) on Unix.
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                format!("TLS handshake: not finished within {} s", timeout.as_secs_f64())
            }
            _ => format!("TLS handshake: {}", crate::http::connection_error_words(&e)),
        })?;
    }
    conn.send_close_notify();
    let _ = conn.complete_io(&mut tcp);
    let _ = tcp.flush();
    Ok(())
}

/// Subject, issuer and validity of a DER certificate, with the days left at `now_unix`.
pub fn describe(der: &[u8], now_unix: i64) -> Result<Certificate, String> {
    let cert = x509_cert::Certificate::from_der(der).map_err(|e| format!("not an X.509 certificate: {e}"))?;
    let tbs = cert.tbs_certificate();
    let not_after = tbs.validity().not_after.to_unix_duration().as_secs() as i64;
    let date = tbs.validity().not_after.to_date_time();
    Ok(Certificate {
        subject: tbs.subject().to_string(),
        issuer: tbs.issuer().to_string(),
        not_after_unix: not_after,
        not_after: format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day()),
        days_left: (not_after - now_unix) as f64 / 86_400.0,
        issuer_der: tbs.issuer().to_der().unwrap_or_default(),
        address: None,
    })
}
