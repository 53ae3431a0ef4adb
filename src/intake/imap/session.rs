//! An IMAP session: the TCP/TLS stream, the TLS roots, commands bounded by `io_timeout`,
//! and login (with `ID` when the server offers it).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::Session;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls;

use super::super::IntakeError;
use crate::config::{ImapConfig, TlsMode};
use tracing::{info, warn};

/// A TCP or TLS stream, as one type for async-imap.
#[derive(Debug)]
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// TLS client configuration: the public roots plus an optional private CA.
pub fn tls_connector(ca_file: Option<&std::path::Path>) -> Result<TlsConnector, IntakeError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| IntakeError::Setup(format!("cannot read ca_file {}: {e}", path.display())))?;
        for cert in certs {
            let cert = cert.map_err(|e| IntakeError::Setup(format!("ca_file {} is not PEM: {e}", path.display())))?;
            roots.add(cert).map_err(|e| IntakeError::Setup(format!("ca_file {}: {e}", path.display())))?;
        }
    }
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| IntakeError::Setup(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(cfg)))
}

pub(super) async fn timed<T, E: std::fmt::Display>(
    d: Duration,
    what: &str,
    f: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, IntakeError> {
    match tokio::time::timeout(d, f).await {
        Err(_) => Err(IntakeError::Lost(format!("{what}: no answer within {d:?}"))),
        Ok(Err(e)) => Err(IntakeError::Io(format!("{what}: {e}"))),
        Ok(Ok(v)) => Ok(v),
    }
}

/// Logs in and returns a session (with `ID` sent when the server offers it).
pub async fn login(cfg: &ImapConfig, timeout: Duration) -> Result<Session<Stream>, IntakeError> {
    let addr = format!("{}:{}", cfg.host, cfg.port);
    let tcp = timed(timeout, &format!("connect to {addr}"), TcpStream::connect(&addr)).await?;
    let _ = tcp.set_nodelay(true);
    let server_name = ServerName::try_from(cfg.host.clone())
        .map_err(|e| IntakeError::Setup(format!("invalid IMAP host name {}: {e}", cfg.host)))?;
    let stream = match cfg.tls {
        TlsMode::None => Stream::Plain(tcp),
        TlsMode::Tls => {
            let tls = tls_connector(cfg.ca_file.as_deref())?;
            Stream::Tls(Box::new(timed(timeout, "TLS handshake", tls.connect(server_name, tcp)).await?))
        }
        TlsMode::Starttls => {
            let mut client = async_imap::Client::new(tcp);
            timed(timeout, "IMAP greeting", async { client.read_response().await.map(|_| ()) }).await?;
            timed(timeout, "STARTTLS", client.run_command_and_check_ok("STARTTLS", None)).await?;
            let tcp = client.into_inner();
            let tls = tls_connector(cfg.ca_file.as_deref())?;
            Stream::Tls(Box::new(timed(timeout, "TLS handshake", tls.connect(server_name, tcp)).await?))
        }
    };
    let mut client = async_imap::Client::new(stream);
    if cfg.tls != TlsMode::Starttls {
        timed(timeout, "IMAP greeting", async { client.read_response().await.map(|_| ()) }).await?;
    }
    let login = tokio::time::timeout(timeout, client.login(&cfg.user, cfg.password.expose())).await;
    let mut session = match login {
        Err(_) => return Err(IntakeError::Lost("LOGIN: no answer".into())),
        Ok(Err((e, _))) => {
            return Err(IntakeError::Auth(format!(
                "the server refused the login for {}: {e}; check [mailbox] user and password (an authorisation code for QQ/163)",
                cfg.user
            )));
        }
        Ok(Ok(s)) => s,
    };
    if cfg.id {
        let caps = timed(timeout, "CAPABILITY", session.capabilities()).await?;
        let needed = cfg.provider.is_some_and(|p| p.needs_id);
        if caps.has_str("ID") || needed {
            let ident = [
                ("name", Some("mail-intake")),
                ("version", Some(env!("CARGO_PKG_VERSION"))),
                ("vendor", Some("mail-intake")),
            ];
            // A server that refuses ID is told nothing more: the session goes on without it
            // (NetEase then answers SELECT with "Unsafe Login", which is reported there).
            match tokio::time::timeout(timeout, session.id(ident)).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => warn!(
                    stage = "imap",
                    host = %cfg.host,
                    error = %e,
                    "the server refused the IMAP ID command; going on without it"
                ),
                Err(_) => return Err(IntakeError::Lost("ID: no answer".into())),
            }
        }
    }
    info!(stage = "imap", host = %cfg.host, user = %cfg.user, "logged in");
    Ok(session)
}

pub(super) fn drain_unsolicited(session: &mut Session<Stream>) {
    while session.unsolicited_responses.try_recv().is_ok() {}
}
