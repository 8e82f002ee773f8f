//! Keys and TLS: Microsoft-style key ids, the test CA and the server certificate for
//! Microsoft's host names, the TLS listener, and the resolver that sends exactly those names to
//! the provider's loopback address.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

use super::tenants::{CUSTOM_DOMAIN, is_microsoft_host};
use crate::kernel::b64;

/// A Microsoft-style key id (27 base64url characters, like an `x5t`) for fixture key `i`.
pub fn ms_kid(i: usize) -> String {
    b64(&Sha256::digest(
        format!("microsoft-shaped key {i}").as_bytes(),
    ))[..27]
        .to_owned()
}

/// The test CA and the server configuration, made once per test binary.
pub(super) struct Tls {
    pub(super) ca_pem: String,
    server: Arc<rustls::ServerConfig>,
}

pub(super) fn tls() -> &'static Tls {
    static TLS: OnceLock<Tls> = OnceLock::new();
    TLS.get_or_init(|| {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
            KeyPair, KeyUsagePurpose,
        };
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca.distinguished_name
            .push(DnType::CommonName, "axum-identity test CA (loopback only)");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca.self_signed(&ca_key).expect("self-signed CA");
        let issuer = Issuer::new(ca, ca_key);

        let server_key = KeyPair::generate().expect("server key");
        let mut leaf = CertificateParams::new(vec![
            "login.microsoftonline.com".to_owned(),
            "*.ciamlogin.com".to_owned(),
            "*.b2clogin.com".to_owned(),
            CUSTOM_DOMAIN.to_owned(),
        ])
        .expect("server certificate parameters");
        leaf.distinguished_name
            .push(DnType::CommonName, "login.microsoftonline.com");
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let leaf_cert = leaf
            .signed_by(&server_key, &issuer)
            .expect("server certificate");

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf_cert.der().clone(), ca_cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into()),
            )
            .expect("server TLS configuration");
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        Tls {
            ca_pem: ca_cert.pem(),
            server: Arc::new(server),
        }
    })
}

/// An `axum::serve` listener that hands over connections once their TLS handshake is done
/// (handshakes run concurrently, so a stalled client holds up nobody).
pub(super) struct TlsListener {
    incoming: tokio::sync::mpsc::Receiver<(
        tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
        SocketAddr,
    )>,
    local: SocketAddr,
}

impl TlsListener {
    pub(super) fn new(tcp: tokio::net::TcpListener) -> (TlsListener, tokio::task::JoinHandle<()>) {
        let local = tcp.local_addr().expect("local address");
        let acceptor = TlsAcceptor::from(tls().server.clone());
        let (sender, incoming) = tokio::sync::mpsc::channel(64);
        let accepting = tokio::spawn(async move {
            loop {
                let Ok((stream, peer)) = tcp.accept().await else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let acceptor = acceptor.clone();
                let sender = sender.clone();
                tokio::spawn(async move {
                    if let Ok(Ok(tls)) =
                        tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await
                    {
                        let _ = sender.send((tls, peer)).await;
                    }
                });
            }
        });
        (TlsListener { incoming, local }, accepting)
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.incoming.recv().await {
            Some(connection) => connection,
            // The accepting task is gone: the provider is shutting down.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// Resolves Microsoft's host names (and only those) to the provider's loopback address.
pub(super) struct LoopbackResolver {
    pub(super) addr: SocketAddr,
}

impl reqwest::dns::Resolve for LoopbackResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        let addr = self.addr;
        Box::pin(async move {
            if is_microsoft_host(&host) {
                Ok(Box::new(std::iter::once(addr)) as reqwest::dns::Addrs)
            } else {
                Err(format!("`{host}` is not resolved in the tests (only Microsoft's host names are, to {addr})").into())
            }
        })
    }
}
