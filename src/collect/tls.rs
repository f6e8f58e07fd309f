//! TLS client configuration: certificates are verified against `--ca-file` or the system store.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};

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

/// Builds a verifying client config; ring is the only crypto provider compiled in.
pub fn client_config(ca_file: Option<&Path>) -> Result<ClientConfig, TlsError> {
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
    let cfg = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Setup(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(cfg)
}
