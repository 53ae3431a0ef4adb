//! IMAP with async-imap over tokio-rustls: login (with `ID` when offered), select, search
//! and fetch by UID with `BODY.PEEK[]` (never `\Seen` on submissions, never deletes, never
//! `SEARCH CHARSET`), keywords, IDLE, folder listing (SPECIAL-USE) and the Sent folder
//! (found by `\Sent`, appended to, searched by Message-ID). Folder names are modified
//! UTF-7 on the wire ([`super::mutf7`]) and decoded everywhere else.
//!
//! One intake session is held across polls: [`ImapSource::ensure_connected`] logs in only
//! when there is no live session (at start, after a failure).
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

use super::folders::{Folder, SentChoice, choose_sent};
use super::mutf7;
use super::{IntakeError, MailboxInfo, WaitOutcome};
use crate::config::{ImapConfig, TlsMode};
use crate::store::{Fetched, Location};
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

async fn timed<T, E: std::fmt::Display>(
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

    /// Connects, logs in and selects the folder (a new session, always).
    pub async fn connect(&mut self) -> Result<MailboxInfo, IntakeError> {
        self.session = None;
        self.info = None;
        let mut session = login(&self.cfg, self.timeout).await?;
        let caps = timed(self.timeout, "CAPABILITY", session.capabilities()).await?;
        self.has_idle = caps.has_str("IDLE");
        let wire = mutf7::encode(&self.cfg.folder);
        let mailbox = match tokio::time::timeout(self.timeout, session.select(&wire)).await {
            Err(_) => {
                return Err(IntakeError::Io(format!(
                    "SELECT {}: no answer within {:?}",
                    self.cfg.folder, self.timeout
                )));
            }
            Ok(Err(e)) => {
                let hint = if e.to_string().contains("Unsafe Login") {
                    " (NetEase wants the IMAP ID command: set [mailbox] id = true or provider = \"163\")"
                } else {
                    ""
                };
                return Err(IntakeError::Io(format!(
                    "the server refused to open the folder “{}” ({wire}): {e}{hint}; check [mailbox] folder",
                    self.cfg.folder
                )));
            }
            Ok(Ok(m)) => m,
        };
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

    /// The selected folder of the live session, or a new session when there is none: one
    /// login per connection, not one per poll.
    pub async fn ensure_connected(&mut self) -> Result<MailboxInfo, IntakeError> {
        match (&self.session, &self.info) {
            (Some(_), Some(info)) => Ok(info.clone()),
            _ => self.connect().await,
        }
    }

    /// Forgets the session without a goodbye (it failed: the next round logs in again).
    pub fn disconnect(&mut self) {
        self.session = None;
        self.info = None;
    }

    /// Marks our own replies' proof copies (see `reply::proof`) read, with `keyword`, so
    /// the office does not see each reply twice.
    pub async fn flag_proof(&mut self, uids: &[u32], keyword: &str) -> Result<(), IntakeError> {
        if uids.is_empty() {
            return Ok(());
        }
        let set = uid_set(uids);
        let t = self.timeout;
        let session = self.session()?;
        let query = format!("+FLAGS.SILENT (\\Seen {keyword})");
        timed(t, "UID STORE", async {
            let stream = session.uid_store(&set, &query).await?;
            stream.try_collect::<Vec<_>>().await
        })
        .await?;
        drain_unsolicited(session);
        Ok(())
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

    /// Waits for new mail: IDLE (renewed before `renew`) when offered, else a plain sleep
    /// and a NOOP. On failure the session is dropped (the next round logs in again).
    pub async fn wait(&mut self, max: Duration, renew: Duration) -> Result<WaitOutcome, IntakeError> {
        let r = self.wait_inner(max, renew).await;
        if r.is_err() {
            self.disconnect();
        }
        r
    }

    async fn wait_inner(&mut self, max: Duration, renew: Duration) -> Result<WaitOutcome, IntakeError> {
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
                    return Err(IntakeError::Lost("the server closed the connection (BYE) during IDLE".into()));
                }
                WaitOutcome::NewMail
            }
            Ok(IdleResponse::Timeout) => WaitOutcome::Timeout,
            Ok(IdleResponse::ManualInterrupt) if stopped_by_us => WaitOutcome::Timeout,
            Ok(IdleResponse::ManualInterrupt) => {
                return Err(IntakeError::Lost("the connection closed during IDLE".into()));
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

/// Lists every folder, decoded, with its attributes: `LIST "" "*" RETURN (SPECIAL-USE)`
/// when the server has LIST-EXTENDED and SPECIAL-USE (RFC 5258, RFC 6154), else a plain
/// LIST (whose attributes carry `\Sent` on most servers too).
pub async fn list_folders(session: &mut Session<Stream>, timeout: Duration) -> Result<Vec<Folder>, IntakeError> {
    let caps = timed(timeout, "CAPABILITY", session.capabilities()).await?;
    let extended = caps.has_str("LIST-EXTENDED") && caps.has_str("SPECIAL-USE");
    let pattern = if extended { "\"*\" RETURN (SPECIAL-USE)" } else { "\"*\"" };
    let folders = timed(timeout, "LIST", async {
        let mut out = Vec::new();
        let mut names = session.list(Some(""), Some(pattern)).await?;
        while let Some(n) = names.try_next().await? {
            let wire = n.name().to_string();
            let attributes: Vec<String> = n.attributes().iter().map(attribute_text).collect();
            let has = |a: &str| attributes.iter().any(|x| x.eq_ignore_ascii_case(a));
            let name = match mutf7::decode(&wire) {
                Ok(name) => name,
                Err(e) => {
                    warn!(stage = "imap", folder = %wire, error = %e, "a folder name is not modified UTF-7; shown as listed");
                    wire.clone()
                }
            };
            out.push(Folder {
                sent: has("\\Sent"),
                noselect: has("\\Noselect") || has("\\NonExistent"),
                name,
                wire,
                attributes,
            });
        }
        Ok::<_, async_imap::error::Error>(out)
    })
    .await?;
    drain_unsolicited(session);
    Ok(folders)
}

fn attribute_text(a: &async_imap::imap_proto::NameAttribute<'_>) -> String {
    use async_imap::imap_proto::NameAttribute as A;
    match a {
        A::NoInferiors => "\\Noinferiors".into(),
        A::NoSelect => "\\Noselect".into(),
        A::Marked => "\\Marked".into(),
        A::Unmarked => "\\Unmarked".into(),
        A::All => "\\All".into(),
        A::Archive => "\\Archive".into(),
        A::Drafts => "\\Drafts".into(),
        A::Flagged => "\\Flagged".into(),
        A::Junk => "\\Junk".into(),
        A::Sent => "\\Sent".into(),
        A::Trash => "\\Trash".into(),
        A::Extension(e) => e.to_string(),
        _ => format!("{a:?}"),
    }
}

/// Lists the folders and chooses the Sent folder among them (see [`choose_sent`]).
pub async fn discover_sent(
    session: &mut Session<Stream>,
    cfg: &ImapConfig,
    timeout: Duration,
) -> Result<(Vec<Folder>, SentChoice), IntakeError> {
    let folders = list_folders(session, timeout).await?;
    let choice = choose_sent(&folders, cfg.provider, &cfg.sent_folder, cfg.sent_folder_configured);
    Ok((folders, choice))
}

/// Where a reply's Message-ID was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// In the Sent folder.
    Sent,
    /// Only in the folder the daemon reads: the proof copy the server filed at acceptance.
    Proof,
    Nowhere,
}

/// The office's Sent folder over its own connection: append replies, find them again
/// (in Sent and, with proof copies on, in the folder the daemon reads).
pub struct SentFolder {
    cfg: ImapConfig,
    timeout: Duration,
    session: Option<Session<Stream>>,
    /// The Sent folder chosen at the first login (kept across reconnects).
    choice: Option<SentChoice>,
}

impl SentFolder {
    pub fn new(cfg: ImapConfig, timeout: Duration) -> SentFolder {
        SentFolder { cfg, timeout, session: None, choice: None }
    }

    async fn session(&mut self) -> Result<(&mut Session<Stream>, String), IntakeError> {
        if self.session.is_none() {
            let mut s = login(&self.cfg, self.timeout).await?;
            if self.choice.is_none() {
                let choice = match discover_sent(&mut s, &self.cfg, self.timeout).await {
                    Ok((_, c)) => c,
                    Err(e) => {
                        warn!(stage = "sent-folder", error = %e, "cannot list the folders; using [mailbox] sent_folder");
                        choose_sent(&[], None, &self.cfg.sent_folder, true)
                    }
                };
                if let Some(w) = &choice.warning {
                    warn!(stage = "sent-folder", folder = %choice.name, "{w}");
                }
                info!(stage = "sent-folder", folder = %choice.name, wire = %choice.wire, why = %choice.why, "Sent folder chosen");
                if !choice.exists {
                    // CREATE fails harmlessly when the folder exists after all.
                    let _ = tokio::time::timeout(self.timeout, s.create(&choice.wire)).await;
                }
                self.choice = Some(choice);
            }
            self.session = Some(s);
        }
        let wire = self.choice.as_ref().map(|c| c.wire.clone()).unwrap_or_else(|| mutf7::encode(&self.cfg.sent_folder));
        let s = self.session.as_mut().ok_or_else(|| IntakeError::Io("not connected".into()))?;
        Ok((s, wire))
    }

    /// The Sent folder in use (decoded), once known.
    pub fn chosen(&self) -> Option<&SentChoice> {
        self.choice.as_ref()
    }

    /// Whether a message with this Message-ID is in the Sent folder (or, with proof copies
    /// on, in the folder the daemon reads).
    pub async fn find(&mut self, message_id: &str) -> Result<Found, IntakeError> {
        // A search is read-only: when a held session turns out stale (the server's
        // autologout), it is tried once more on a fresh one.
        let reused = self.session.is_some();
        match self.find_once(message_id).await {
            Err(e) if reused => {
                warn!(stage = "sent-folder", error = %e, "the Sent folder's connection had gone stale; logging in again");
                self.find_once(message_id).await
            }
            r => r,
        }
    }

    async fn find_once(&mut self, message_id: &str) -> Result<Found, IntakeError> {
        let t = self.timeout;
        let inbox = self.cfg.proof_copy.then(|| mutf7::encode(&self.cfg.folder));
        let result = async {
            let (s, sent) = self.session().await?;
            let id = message_id.replace(['"', '\\'], "");
            let query = format!("HEADER Message-ID \"{id}\"");
            timed(t, "EXAMINE Sent", s.examine(&sent)).await?;
            let found = timed(t, "UID SEARCH HEADER", s.uid_search(&query)).await?;
            drain_unsolicited(s);
            if !found.is_empty() {
                return Ok(Found::Sent);
            }
            if let Some(inbox) = inbox {
                timed(t, "EXAMINE", s.examine(&inbox)).await?;
                let found = timed(t, "UID SEARCH HEADER", s.uid_search(&query)).await?;
                drain_unsolicited(s);
                if !found.is_empty() {
                    return Ok(Found::Proof);
                }
            }
            Ok(Found::Nowhere)
        }
        .await;
        if result.is_err() {
            self.session = None;
        }
        result
    }

    /// Whether a message with this Message-ID is in the Sent folder (or is proven sent).
    pub async fn contains(&mut self, message_id: &str) -> Result<bool, IntakeError> {
        Ok(self.find(message_id).await? != Found::Nowhere)
    }

    /// Whether a message with this Message-ID is in the Sent folder itself.
    pub async fn in_sent(&mut self, message_id: &str) -> Result<bool, IntakeError> {
        let reused = self.session.is_some();
        match self.in_sent_once(message_id).await {
            Err(e) if reused => {
                warn!(stage = "sent-folder", error = %e, "the Sent folder's connection had gone stale; logging in again");
                self.in_sent_once(message_id).await
            }
            r => r,
        }
    }

    async fn in_sent_once(&mut self, message_id: &str) -> Result<bool, IntakeError> {
        let t = self.timeout;
        let result = async {
            let (s, sent) = self.session().await?;
            let id = message_id.replace(['"', '\\'], "");
            timed(t, "EXAMINE Sent", s.examine(&sent)).await?;
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

    /// Appends a sent reply (flagged `\Seen`). Not retried here: a lost answer may hide a
    /// completed APPEND, so the caller looks again ([`Self::in_sent`]) before a new try.
    pub async fn append(&mut self, raw: &[u8]) -> Result<(), IntakeError> {
        let t = self.timeout;
        let result = async {
            let (s, sent) = self.session().await?;
            timed(t, "APPEND", s.append(&sent, Some("(\\Seen)"), None, raw)).await?;
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

    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    /// A scripted IMAP server on loopback: `answer(tag, command)` gives the lines to send
    /// back (`None`: drop the connection). Serves connections until the test ends.
    async fn fake_server(answer: fn(&str, &str) -> Option<String>) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (r, mut w) = sock.into_split();
                    let mut r = BufReader::new(r);
                    let _ = w.write_all(b"* OK fake ready\r\n").await;
                    let mut line = String::new();
                    while r.read_line(&mut line).await.is_ok_and(|n| n > 0) {
                        let l = line.trim_end().to_string();
                        line.clear();
                        let (tag, cmd) = l.split_once(' ').unwrap_or((&l, ""));
                        match answer(tag, cmd) {
                            Some(out) => {
                                if w.write_all(out.as_bytes()).await.is_err() {
                                    return;
                                }
                            }
                            None => return,
                        }
                    }
                });
            }
        });
        port
    }

    fn cfg(port: u16) -> ImapConfig {
        ImapConfig {
            host: "127.0.0.1".into(),
            port,
            tls: TlsMode::None,
            ca_file: None,
            user: "office".into(),
            password: crate::config::Secret::new("pw"),
            folder: "INBOX".into(),
            idle: true,
            poll_interval: Duration::from_secs(60),
            id: true,
            sent_folder: "已发送".into(),
            sent_folder_configured: true,
            append_sent: true,
            proof_copy: true,
            keyword: "$MailIntake".into(),
            provider: crate::config::presets::find("163"),
        }
    }

    fn common(tag: &str, cmd: &str) -> Option<String> {
        let verb = cmd.split(' ').next().unwrap_or("").to_ascii_uppercase();
        Some(match verb.as_str() {
            "LOGIN" => format!("{tag} OK logged in\r\n"),
            "CAPABILITY" => format!("* CAPABILITY IMAP4rev1 ID IDLE\r\n{tag} OK done\r\n"),
            "SELECT" | "EXAMINE" => {
                format!("* 0 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n{tag} OK [READ-WRITE] done\r\n")
            }
            "LIST" => format!(
                "* LIST (\\HasNoChildren) \"/\" INBOX\r\n* LIST (\\Sent) \"/\" \"&XfJT0ZAB-\"\r\n{tag} OK done\r\n"
            ),
            "LOGOUT" => format!("* BYE bye\r\n{tag} OK done\r\n"),
            _ => format!("{tag} BAD unknown\r\n"),
        })
    }

    #[tokio::test]
    async fn a_server_refusing_id_is_used_without_it() {
        let port = fake_server(|tag, cmd| {
            if cmd.starts_with("ID ") {
                return Some(format!("{tag} NO ID not allowed here\r\n"));
            }
            common(tag, cmd)
        })
        .await;
        let mut source = ImapSource::new(cfg(port), Duration::from_secs(5));
        let info = source.connect().await.expect("connects without ID");
        assert_eq!(info.uidvalidity, 7);
        // The session is held: asking again does not log in again.
        assert_eq!(source.ensure_connected().await.unwrap(), info);
    }

    #[tokio::test]
    async fn a_server_dropping_mid_append_gives_an_error_and_a_fresh_session_next_time() {
        let port = fake_server(|tag, cmd| {
            if cmd.starts_with("APPEND") {
                // The APPEND names the Sent folder in modified UTF-7; the server hangs up
                // before taking the message.
                if !cmd.contains("\"&XfJT0ZAB-\"") {
                    return Some(format!("{tag} NO Mailbox name is not valid mUTF-7\r\n"));
                }
                return None;
            }
            common(tag, cmd)
        })
        .await;
        let mut sent = SentFolder::new(cfg(port), Duration::from_secs(5));
        let err = sent.append(b"Subject: x\r\n\r\nbody\r\n").await.expect_err("the server dropped it");
        assert!(err.to_string().contains("APPEND") && !err.to_string().contains("mUTF-7"), "{err}");
        assert_eq!(sent.chosen().map(|c| c.name.as_str()), Some("已发送"), "found by \\Sent, decoded");
        assert!(sent.session.is_none(), "the broken session is dropped");
        // The next call logs in again (and fails the same way, cleanly).
        assert!(sent.append(b"x").await.is_err());
    }

    #[test]
    fn uid_sets_are_compact() {
        assert_eq!(uid_set(&[1, 2, 3, 7, 9, 10]), "1:3,7,9:10");
        assert_eq!(uid_set(&[5]), "5");
    }
}
