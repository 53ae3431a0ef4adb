//! IMAP with async-imap over tokio-rustls: login (with `ID` when offered), select, search
//! and fetch by UID with `BODY.PEEK[]` (never `\Seen`, never deletes, never `SEARCH
//! CHARSET`), keywords, IDLE, and the Sent folder (append, look up by Message-ID).
//!
//! async-imap has no timeouts of its own: every command here is bounded by `io_timeout`.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::Session;
use async_imap::extensions::idle::IdleResponse;
use async_imap::types::Flag;
use futures::TryStreamExt;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls;

use super::{IntakeError, MailboxInfo, WaitOutcome};
use crate::config::{ImapConfig, TlsMode};
use crate::store::{Fetched, Location};

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

async fn timed<T, E: std::fmt::Display>(
    d: Duration,
    what: &str,
    f: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, IntakeError> {
    match tokio::time::timeout(d, f).await {
        Err(_) => Err(IntakeError::Io(format!("{what}: no answer within {d:?}"))),
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
        Err(_) => return Err(IntakeError::Io("LOGIN: no answer".into())),
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
        if caps.has_str("ID") {
            let ident = [
                ("name", Some("mail-intake")),
                ("version", Some(env!("CARGO_PKG_VERSION"))),
                ("vendor", Some("mail-intake")),
            ];
            timed(timeout, "ID", session.id(ident)).await?;
        }
    }
    Ok(session)
}

/// The IMAP source: one session on the configured folder.
pub struct ImapSource {
    cfg: ImapConfig,
    timeout: Duration,
    session: Option<Session<Stream>>,
    info: Option<MailboxInfo>,
    has_idle: bool,
}

impl ImapSource {
    pub fn new(cfg: ImapConfig, timeout: Duration) -> ImapSource {
        ImapSource { cfg, timeout, session: None, info: None, has_idle: false }
    }

    fn session(&mut self) -> Result<&mut Session<Stream>, IntakeError> {
        self.session.as_mut().ok_or_else(|| IntakeError::Io("not connected".into()))
    }

    /// Connects, logs in and selects the folder.
    pub async fn connect(&mut self) -> Result<MailboxInfo, IntakeError> {
        self.session = None;
        let mut session = login(&self.cfg, self.timeout).await?;
        let caps = timed(self.timeout, "CAPABILITY", session.capabilities()).await?;
        self.has_idle = caps.has_str("IDLE");
        let mailbox =
            timed(self.timeout, &format!("SELECT {}", self.cfg.folder), session.select(&self.cfg.folder)).await?;
        let uidvalidity = mailbox
            .uid_validity
            .ok_or_else(|| IntakeError::Io(format!("the server gave no UIDVALIDITY for {}", self.cfg.folder)))?;
        let info = MailboxInfo {
            account: format!("{}@{}", self.cfg.user, self.cfg.host),
            folder: self.cfg.folder.clone(),
            uidvalidity,
        };
        self.session = Some(session);
        self.info = Some(info.clone());
        Ok(info)
    }

    /// UIDs above `last`, ascending.
    pub async fn uids_after(&mut self, last: u32) -> Result<Vec<u32>, IntakeError> {
        let t = self.timeout;
        let session = self.session()?;
        let found = timed(t, "UID SEARCH", session.uid_search(format!("UID {}:*", last.saturating_add(1)))).await?;
        drain_unsolicited(session);
        let mut uids: Vec<u32> = found.into_iter().filter(|u| *u > last).collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// Fetches whole messages without setting `\Seen`.
    pub async fn fetch(&mut self, uids: &[u32]) -> Result<Vec<Fetched>, IntakeError> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let info = self.info.clone().ok_or_else(|| IntakeError::Io("no folder selected".into()))?;
        let set = uid_set(uids);
        let t = self.timeout * 4;
        let session = self.session()?;
        // Each response is turned into a `Fetched` (one copy of the body) and dropped as it
        // arrives, so a batch is held once, not twice.
        let mut out = Vec::with_capacity(uids.len());
        timed(t, "UID FETCH", async {
            let mut stream = session.uid_fetch(&set, "(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])").await?;
            while let Some(f) = stream.try_next().await? {
                let (Some(uid), Some(body)) = (f.uid, f.body()) else { continue };
                out.push(Fetched {
                    location: Location {
                        account: info.account.clone(),
                        folder: info.folder.clone(),
                        uidvalidity: info.uidvalidity,
                        uid,
                    },
                    internal_date: f.internal_date(),
                    flags: f.flags().map(|fl| flag_text(&fl)).collect(),
                    raw: body.to_vec(),
                });
            }
            Ok::<_, async_imap::error::Error>(())
        })
        .await?;
        drain_unsolicited(session);
        out.sort_by_key(|f| f.location.uid);
        Ok(out)
    }

    /// Adds keywords to messages (silently).
    pub async fn mark(&mut self, uids: &[u32], keywords: &[String]) -> Result<(), IntakeError> {
        if uids.is_empty() || keywords.is_empty() {
            return Ok(());
        }
        let set = uid_set(uids);
        let t = self.timeout;
        let session = self.session()?;
        let query = format!("+FLAGS.SILENT ({})", keywords.join(" "));
        timed(t, "UID STORE", async {
            let stream = session.uid_store(&set, &query).await?;
            stream.try_collect::<Vec<_>>().await
        })
        .await?;
        drain_unsolicited(session);
        Ok(())
    }

    /// Waits for new mail: IDLE (renewed before `renew`) when offered, else a plain sleep.
    pub async fn wait(&mut self, max: Duration, renew: Duration) -> Result<WaitOutcome, IntakeError> {
        if !(self.cfg.idle && self.has_idle) {
            tokio::time::sleep(max).await;
            // A NOOP keeps the connection honest and collects EXISTS.
            let t = self.timeout;
            let session = self.session()?;
            timed(t, "NOOP", session.noop()).await?;
            drain_unsolicited(session);
            return Ok(WaitOutcome::Timeout);
        }
        let session = self.session.take().ok_or_else(|| IntakeError::Io("not connected".into()))?;
        let mut idle = session.idle();
        timed(self.timeout, "IDLE", idle.init()).await?;
        let wait_for = max.min(renew);
        // The dead-link detector: well above the server's keepalive interval.
        let (fut, stop) = idle.wait_with_timeout(wait_for + Duration::from_secs(60));
        let mut stopped_by_us = false;
        let result = tokio::select! {
            r = fut => r,
            _ = tokio::time::sleep(wait_for) => {
                stopped_by_us = true;
                drop(stop);
                Ok(IdleResponse::ManualInterrupt)
            }
        };
        let outcome = match result {
            Ok(IdleResponse::NewData(data)) => {
                if format!("{:?}", data.parsed()).contains("Bye") {
                    return Err(IntakeError::Io("the server closed the connection (BYE) during IDLE".into()));
                }
                WaitOutcome::NewMail
            }
            Ok(IdleResponse::Timeout) => WaitOutcome::Timeout,
            Ok(IdleResponse::ManualInterrupt) if stopped_by_us => WaitOutcome::Timeout,
            Ok(IdleResponse::ManualInterrupt) => {
                return Err(IntakeError::Io("the connection closed during IDLE".into()));
            }
            Err(e) => return Err(IntakeError::Io(format!("IDLE: {e}"))),
        };
        let mut session = timed(self.timeout, "DONE", idle.done()).await?;
        drain_unsolicited(&mut session);
        self.session = Some(session);
        Ok(outcome)
    }

    /// Logs out politely (errors ignored: we are leaving anyway).
    pub async fn logout(&mut self) {
        if let Some(mut s) = self.session.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), s.logout()).await;
        }
    }
}

/// The office's Sent folder over its own connection: append replies, find them again.
pub struct SentFolder {
    cfg: ImapConfig,
    timeout: Duration,
    session: Option<Session<Stream>>,
}

impl SentFolder {
    pub fn new(cfg: ImapConfig, timeout: Duration) -> SentFolder {
        SentFolder { cfg, timeout, session: None }
    }

    async fn session(&mut self) -> Result<&mut Session<Stream>, IntakeError> {
        if self.session.is_none() {
            let mut s = login(&self.cfg, self.timeout).await?;
            // CREATE fails harmlessly when the folder exists.
            let _ = tokio::time::timeout(self.timeout, s.create(&self.cfg.sent_folder)).await;
            self.session = Some(s);
        }
        self.session.as_mut().ok_or_else(|| IntakeError::Io("not connected".into()))
    }

    /// Whether a message with this Message-ID is in the Sent folder.
    pub async fn contains(&mut self, message_id: &str) -> Result<bool, IntakeError> {
        let folder = self.cfg.sent_folder.clone();
        let t = self.timeout;
        let result = async {
            let s = self.session().await?;
            timed(t, "EXAMINE Sent", s.examine(&folder)).await?;
            let id = message_id.replace(['"', '\\'], "");
            let found = timed(t, "UID SEARCH HEADER", s.uid_search(format!("HEADER Message-ID \"{id}\""))).await?;
            drain_unsolicited(s);
            Ok(!found.is_empty())
        }
        .await;
        if result.is_err() {
            self.session = None;
        }
        result
    }

    /// Appends a sent reply (flagged `\Seen`).
    pub async fn append(&mut self, raw: &[u8]) -> Result<(), IntakeError> {
        let folder = self.cfg.sent_folder.clone();
        let t = self.timeout;
        let result = async {
            let s = self.session().await?;
            timed(t, "APPEND", s.append(&folder, Some("(\\Seen)"), None, raw)).await?;
            drain_unsolicited(s);
            Ok(())
        }
        .await;
        if result.is_err() {
            self.session = None;
        }
        result
    }
}

fn drain_unsolicited(session: &mut Session<Stream>) {
    while session.unsolicited_responses.try_recv().is_ok() {}
}

fn flag_text(f: &Flag) -> String {
    match f {
        Flag::Seen => "\\Seen".into(),
        Flag::Answered => "\\Answered".into(),
        Flag::Flagged => "\\Flagged".into(),
        Flag::Deleted => "\\Deleted".into(),
        Flag::Draft => "\\Draft".into(),
        Flag::Recent => "\\Recent".into(),
        Flag::MayCreate => "\\*".into(),
        Flag::Custom(c) => c.to_string(),
    }
}

/// `1,2,3,7` → `1:3,7`.
pub fn uid_set(uids: &[u32]) -> String {
    let mut sorted = uids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end { start.to_string() } else { format!("{start}:{end}") });
        i += 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_are_compact() {
        assert_eq!(uid_set(&[1, 2, 3, 7, 9, 10]), "1:3,7,9:10");
        assert_eq!(uid_set(&[5]), "5");
    }
}
