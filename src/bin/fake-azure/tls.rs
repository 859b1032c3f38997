//! A throw-away certificate authority and the server certificate it signs.
//!
//! azure_core refuses plain-HTTP authority hosts and bearer-authorised URLs, and the gateway URL
//! is `wss://`, so the fake speaks TLS only. A fresh CA is made at every start and written to
//! `STATE_DIR/ca.pem`; a client trusts it like any private CA (`SSL_CERT_FILE`, or a root store).
//! The server certificate is for `localhost`, `127.0.0.1` and `::1`; a separate CA (rather than
//! one self-signed leaf) is what webpki and OpenSSL-style verifiers both accept without special
//! cases. Its key never leaves the process.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use std::path::Path;
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("could not make the test certificates: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("could not set up TLS: {0}")]
    Rustls(#[from] tokio_rustls::rustls::Error),
    #[error("could not write {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

pub struct Tls {
    pub acceptor: TlsAcceptor,
    pub ca_pem: String,
}

pub fn generate() -> Result<Tls, TlsError> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "lifeline fake-azure test CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

    let mut leaf_params = CertificateParams::new(vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ])?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate()?;
    let leaf = leaf_params.signed_by(&leaf_key, &ca)?;

    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let mut config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone(), ca.der().clone()], key)?;
    // HTTP/1.1 only: websockets upgrade over it, and every Azure client speaks it.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Tls {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        ca_pem: ca.pem(),
    })
}

/// Writes `ca.pem` atomically, so a harness polling for it never reads half a file.
pub fn write_ca(dir: &Path, pem: &str) -> Result<(), TlsError> {
    let write = |path: &Path, f: &dyn Fn() -> std::io::Result<()>| {
        f().map_err(|source| TlsError::Write {
            path: path.display().to_string(),
            source,
        })
    };
    write(dir, &|| std::fs::create_dir_all(dir))?;
    let tmp = dir.join(".ca.pem.tmp");
    let path = dir.join("ca.pem");
    write(&tmp, &|| std::fs::write(&tmp, pem))?;
    write(&path, &|| std::fs::rename(&tmp, &path))
}
