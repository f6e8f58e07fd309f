//! TLS client configuration: certificates are verified against `--ca-file` or the system store.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read CA file {path}: {reason}")]
    CaFile { path: String, reason: String },
    #[error("CA file {path} holds no PEM certificate")]
    CaEmpty { path: String },
    #[error("no trusted CA certificates in the system store; pass --ca-file")]
    NoSystemRoots,
    #[error("TLS set-up failed: {0}")]
    Setup(String),
}

/// The end-entity certificate the DC presented, filled in by the verifier of
/// [`client_config`] once the certificate verified.
#[derive(Debug, Clone, Default)]
pub struct SeenCertificate(Arc<Mutex<Option<Vec<u8>>>>);

impl SeenCertificate {
    /// The certificate's subject and DNS names, e.g. `CN=dc1.lab.test (DNS: dc1.lab.test,
    /// dc1)`; `None` before a handshake verified one, or when it does not parse.
    pub fn describe(&self) -> Option<String> {
        let der = self.0.lock().ok()?.clone()?;
        let (_, cert) = x509_parser::parse_x509_certificate(&der).ok()?;
        let mut names = Vec::new();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for n in &san.value.general_names {
                if let x509_parser::extensions::GeneralName::DNSName(d) = n {
                    names.push(d.to_string());
                }
            }
        }
        // The subject comes from the DC: no control characters reach reports.
        let text = if names.is_empty() {
            cert.subject().to_string()
        } else {
            format!("{} (DNS: {})", cert.subject(), names.join(", "))
        };
        Some(text.chars().filter(|c| !c.is_control()).collect())
    }
}

/// Delegates every decision to webpki's verifier and remembers the certificate it accepted.
#[derive(Debug)]
struct Recording {
    inner: Arc<WebPkiServerVerifier>,
    seen: SeenCertificate,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let ok = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        if let Ok(mut slot) = self.seen.0.lock() {
            *slot = Some(end_entity.to_vec());
        }
        Ok(ok)
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Builds a verifying client config; ring is the only crypto provider compiled in.
pub fn client_config(ca_file: Option<&Path>) -> Result<ClientConfig, TlsError> {
    Ok(recording_client_config(ca_file)?.0)
}

/// [`client_config`] whose verifier also records the certificate it accepted (webpki's
/// checks, unchanged: chain to `--ca-file` or the system store, name, validity).
pub fn recording_client_config(
    ca_file: Option<&Path>,
) -> Result<(ClientConfig, SeenCertificate), TlsError> {
    let mut roots = RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let label = path.display().to_string();
            let certs = CertificateDer::pem_file_iter(path).map_err(|e| TlsError::CaFile {
                path: label.clone(),
                reason: e.to_string(),
            })?;
            for cert in certs {
                let cert = cert.map_err(|e| TlsError::CaFile {
                    path: label.clone(),
                    reason: e.to_string(),
                })?;
                roots.add(cert).map_err(|e| TlsError::CaFile {
                    path: label.clone(),
                    reason: e.to_string(),
                })?;
            }
            if roots.is_empty() {
                return Err(TlsError::CaEmpty { path: label });
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                // A single odd certificate in the system store should not stop the scan.
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                return Err(TlsError::NoSystemRoots);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| TlsError::Setup(e.to_string()))?;
    let seen = SeenCertificate::default();
    let cfg = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Setup(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Recording {
            inner,
            seen: seen.clone(),
        }))
        .with_no_client_auth();
    Ok((cfg, seen))
}
