//! Sending a stored reply: SMTP through lettre (TLS, STARTTLS or plain on loopback), or a
//! folder of `.eml` files (the embedded default). Every send is bounded by a timeout
//! (lettre's own only covers the connect).

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::config::{TlsMode, TransportConfig};

/// How a send failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SendError {
    /// 4xx, network trouble, timeouts: try again later.
    #[error("temporary failure: {0}")]
    Transient(String),
    /// 5xx: the server refused; do not retry.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

/// Why a transport could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("cannot read ca_file {path}: {source}")]
    CaFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot set up SMTP for {host}: {message}")]
    Setup { host: String, message: String },
}

/// A way to send replies.
#[derive(Clone)]
pub enum Transport {
    Smtp { transport: AsyncSmtpTransport<Tokio1Executor>, timeout: Duration },
    Dir(PathBuf),
}

impl Transport {
    /// Builds the configured transport.
    pub fn build(cfg: &TransportConfig) -> Result<Transport, TransportError> {
        match cfg {
            TransportConfig::Dir { path, .. } => Ok(Transport::Dir(path.clone())),
            TransportConfig::Smtp(s) => {
                let setup = |message: String| TransportError::Setup { host: s.host.clone(), message };
                let mut params = TlsParameters::builder(s.host.clone());
                if let Some(ca) = &s.ca_file {
                    let pem = std::fs::read(ca)
                        .map_err(|source| TransportError::CaFile { path: ca.display().to_string(), source })?;
                    let cert = Certificate::from_pem(&pem)
                        .map_err(|e| setup(format!("ca_file is not a PEM certificate: {e}")))?;
                    params = params.add_root_certificate(cert);
                }
                let params = params.build_rustls().map_err(|e| setup(e.to_string()))?;
                let tls = match s.tls {
                    TlsMode::Tls => Tls::Wrapper(params),
                    TlsMode::Starttls => Tls::Required(params),
                    TlsMode::None => Tls::None,
                };
                let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(s.host.clone())
                    .port(s.port)
                    .tls(tls)
                    .timeout(Some(s.timeout));
                if !s.user.is_empty() {
                    builder = builder.credentials(Credentials::new(s.user.clone(), s.password.expose().to_string()));
                }
                Ok(Transport::Smtp { transport: builder.build(), timeout: s.timeout })
            }
        }
    }

    /// Sends raw bytes; returns the server's answer (or the file written).
    pub async fn send(&self, from: &str, to: &str, message_id: &str, raw: &[u8]) -> Result<String, SendError> {
        self.send_all(from, &[to.to_string()], message_id, raw).await
    }

    /// Sends raw bytes to several recipients in one transaction (one SMTP envelope, one
    /// file): the server accepts it for all of them or for none. Recipients may be written
    /// `Name <addr>`.
    pub async fn send_all(
        &self,
        from: &str,
        recipients: &[String],
        message_id: &str,
        raw: &[u8],
    ) -> Result<String, SendError> {
        match self {
            Transport::Dir(dir) => {
                let (dir, message_id, raw) = (dir.clone(), message_id.to_string(), raw.to_vec());
                // One trip to the blocking pool for the whole write, not one per call.
                tokio::task::spawn_blocking(move || {
                    create_folder(&dir).and_then(|()| write_file(&dir, &message_id, &raw))
                })
                .await
                .map_err(|e| SendError::Transient(format!("the file writer stopped: {e}")))?
            }
            Transport::Smtp { transport, timeout } => {
                let from: Address =
                    bare(from).parse().map_err(|e| SendError::Permanent(format!("from address: {e}")))?;
                let to = recipients
                    .iter()
                    .map(|to| {
                        bare(to)
                            .parse::<Address>()
                            .map_err(|e| SendError::Permanent(format!("recipient address {to}: {e}")))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let envelope =
                    Envelope::new(Some(from), to).map_err(|e| SendError::Permanent(format!("envelope: {e}")))?;
                // lettre's timeout covers only the connect: bound the whole exchange.
                match tokio::time::timeout(*timeout + Duration::from_secs(5), transport.send_raw(&envelope, raw)).await
                {
                    Err(_) => Err(SendError::Transient(format!("no answer from the SMTP server within {timeout:?}"))),
                    Ok(Ok(resp)) => Ok(format!("{} {}", resp.code(), resp.message().collect::<Vec<_>>().join(" "))),
                    Ok(Err(e)) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
                    Ok(Err(e)) => Err(SendError::Transient(e.to_string())),
                }
            }
        }
    }

    /// The folder replies are written to, when they are written as files.
    pub fn dir(&self) -> Option<&Path> {
        match self {
            Transport::Dir(dir) => Some(dir),
            Transport::Smtp { .. } => None,
        }
    }
}

/// Writes replies as files in `dir`, on all cores; each result as [`Transport::send`]'s.
/// Blocking. Writing a reply again replaces its file (the name comes from its Message-ID).
pub fn write_files(dir: &Path, replies: &[(&str, &[u8])]) -> Vec<Result<String, SendError>> {
    use rayon::prelude::*;
    if let Err(e) = create_folder(dir) {
        return replies.iter().map(|_| Err(e.clone())).collect();
    }
    replies.par_iter().map(|(message_id, raw)| write_file(dir, message_id, raw)).collect()
}

/// Creates the outbox folder if needed. Replies name schools' staff and experts, so the
/// folder is owner-only.
fn create_folder(dir: &Path) -> Result<(), SendError> {
    let mut folder = std::fs::DirBuilder::new();
    folder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut folder, 0o700);
    folder.create(dir).map_err(|e| SendError::Transient(format!("cannot create {}: {e}", dir.display())))
}

/// One reply as `<Message-ID>.eml` in `dir` (which exists): written to a hidden temporary
/// name, synced, then renamed, so a reader never sees half a file.
fn write_file(dir: &Path, message_id: &str, raw: &[u8]) -> Result<String, SendError> {
    use std::io::Write;
    let name: String = message_id
        .trim_matches(['<', '>'])
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' })
        .collect();
    let path = dir.join(format!("{name}.eml"));
    let tmp = dir.join(format!(".{name}.tmp"));
    // Replies name schools' staff and experts: the files are owner-only.
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new();
        file.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
        let mut f = file.open(&tmp)?;
        f.write_all(raw)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, &path)
    };
    write().map_err(|e| SendError::Transient(format!("cannot write {}: {e}", path.display())))?;
    Ok(format!("written to {}", path.display()))
}

/// `Name <a@b>` → `a@b`.
pub fn bare(addr: &str) -> &str {
    match (addr.rfind('<'), addr.rfind('>')) {
        (Some(a), Some(b)) if a < b => addr[a + 1..b].trim(),
        _ => addr.trim(),
    }
}
