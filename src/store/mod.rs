//! SQLite: the raw mail (ground truth), where it was seen, verdicts, experts, replies, state.
//!
//! Opened in WAL mode with append-only migrations (`PRAGMA user_version`; never edit a
//! migration, add one). The file and its folder are created owner-only. Every write that
//! belongs together is one transaction: a raw message with its location; a verdict with its
//! experts and the reply it deserves.
//!
//! This module is the only place with SQL. It owns the connection ([`Store`]); everything
//! else is a free function on a `&Connection` in the sub-module of the table it is about:
//! [`messages`], [`verdicts`], [`replies`], [`state`], [`dossiers`] (submissions) and [`web`]
//! (what the web view alone reads). States are typed ([`MessageState`], [`ReplyState`]).

pub mod dossiers;
pub mod messages;
mod migrations;
pub mod replies;
pub mod state;
mod states;
pub mod verdicts;
pub mod web;

pub use messages::{Fetched, LARGE_MESSAGE_BYTES, Location, Mailbox, Stored};
pub use replies::{NewReply, Reply};
pub use states::{MessageState, ReplyState};
pub use verdicts::MAX_SUMMARY_ROWS;

use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use rusqlite::Connection;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the store {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot create the store folder {path}: {source}")]
    Folder {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("store query failed: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("cannot encode a verdict: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the store worker stopped: {0}")]
    Worker(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A cheap, cloneable handle; SQLite work runs on the blocking pool.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

pub(crate) fn now() -> String {
    Utc::now().to_rfc3339()
}

impl Store {
    /// Opens (creating owner-only) and migrates the store.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir).map_err(|source| StoreError::Folder { path: dir.display().to_string(), source })?;
        }
        let existed = path.exists();
        let open_err = |source| StoreError::Open { path: path.display().to_string(), source };
        let conn = Connection::open(path).map_err(open_err)?;
        if !existed {
            restrict_file(path);
        }
        let store = Store::init(conn)?;
        let checkpointer = Connection::open(path).map_err(open_err)?;
        store.with(|c| start_checkpointer(c, checkpointer))?;
        Ok(store)
    }

    /// An in-memory store (tests).
    pub fn memory() -> Result<Store> {
        Store::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Store> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        migrations::migrate(&mut conn)?;
        Ok(Store { conn: Arc::new(Mutex::new(conn)) })
    }

    /// Runs `f` on the connection (synchronously).
    pub fn with<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let mut guard = self.conn.lock().map_err(|_| StoreError::Worker("a previous store call panicked".into()))?;
        f(&mut guard)
    }

    /// Runs `f` on the blocking pool.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.with(f)).await.map_err(|e| StoreError::Worker(e.to_string()))?
    }
}

/// WAL pages after which a commit asks the checkpointer to copy the WAL back (SQLite's own
/// automatic checkpoint starts at 1 000).
const CHECKPOINT_PAGES: i32 = 1000;

/// WAL pages after which the checkpointer also makes the WAL start over (64 MiB of 4 KiB
/// pages). SQLite restarts the WAL only once a checkpoint has copied all of it, which a
/// checkpoint running beside a busy writer seldom does: a `RESTART` checkpoint holds new
/// commits back for the few pages the last `PASSIVE` one left.
const CHECKPOINT_RESTART_PAGES: i32 = 16_384;

/// WAL pages after which a commit checkpoints by itself, in case the checkpointer cannot
/// keep up: 256 MiB.
const CHECKPOINT_INLINE_PAGES: i32 = 65_536;

/// Copies the WAL back into the database on a thread of its own, with its own connection,
/// instead of inside whichever commit crosses SQLite's automatic-checkpoint size: the
/// daemon's store and save transactions (one writer, behind one mutex) no longer wait for
/// the copy and its `fsync`s. The thread sleeps until a commit leaves [`CHECKPOINT_PAGES`]
/// in the WAL and ends when the store is dropped.
fn start_checkpointer(conn: &mut Connection, checkpointer: Connection) -> Result<()> {
    checkpointer.busy_timeout(std::time::Duration::from_secs(10))?;
    // A connection knows the database is in WAL mode only once it has read it; until then
    // a checkpoint through it does nothing.
    let mode: String = checkpointer.pragma_query_value(None, "journal_mode", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Worker(format!("the store is in {mode} mode, not WAL")));
    }
    let (wake, woken) = std::sync::mpsc::sync_channel::<()>(1);
    std::thread::Builder::new()
        .name("store-checkpoint".into())
        .spawn(move || {
            use rusqlite::wal::CheckpointMode;
            while woken.recv().is_ok() {
                let done =
                    checkpointer.wal_checkpoint_v2(None::<&str>, CheckpointMode::PASSIVE).and_then(|(pages, _)| {
                        if pages >= CHECKPOINT_RESTART_PAGES {
                            checkpointer.wal_checkpoint_v2(None::<&str>, CheckpointMode::RESTART)?;
                        }
                        Ok(())
                    });
                if let Err(e) = done {
                    tracing::warn!(stage = "store", error = %e, "WAL checkpoint failed; the next one will retry");
                }
            }
        })
        .map_err(|e| StoreError::Worker(format!("cannot start the checkpoint thread: {e}")))?;
    conn.wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages: std::ffi::c_int| {
        if pages >= CHECKPOINT_INLINE_PAGES {
            tracing::info!(
                stage = "store",
                pages,
                "the WAL outgrew the checkpoint thread: checkpointing in the writer"
            );
            wal.checkpoint_v2(rusqlite::wal::CheckpointMode::PASSIVE)?;
        } else if pages >= CHECKPOINT_PAGES {
            // Full means a wake-up is pending already.
            let _ = wake.try_send(());
        }
        Ok(())
    }))?;
    Ok(())
}

/// SHA-256 of bytes as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

fn restrict_file(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetched(uid: u32, raw: &[u8]) -> Fetched {
        Fetched {
            location: Location { account: "a".into(), folder: "INBOX".into(), uidvalidity: 7, uid },
            internal_date: None,
            flags: vec![],
            raw: raw.to_vec(),
        }
    }

    #[test]
    fn the_checkpoint_thread_copies_the_wal_into_the_database() {
        // SQLite's own automatic checkpoint is replaced by the hook: the database file grows
        // only if the checkpoint thread works.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sqlite3");
        let s = Store::open(&path).unwrap();
        for uid in 1..=12u32 {
            let mut raw = format!("Subject: {uid}\r\n\r\n").into_bytes();
            raw.resize(1 << 20, b'x');
            s.with(|c| super::messages::store_fetched(c, &fetched(uid, &raw))).unwrap();
        }
        let size = || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while size() < 8 << 20 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(size() >= 8 << 20, "database file {} bytes: the WAL was never checkpointed", size());
    }

    #[test]
    fn the_same_bytes_are_stored_once_and_the_cursor_advances() {
        let s = Store::memory().unwrap();
        s.with(|c| {
            let (a, new_a) = super::messages::store_fetched(c, &fetched(1, b"Subject: x\r\n\r\nhi"))?;
            let (b, new_b) = super::messages::store_fetched(c, &fetched(2, b"Subject: x\r\n\r\nhi"))?;
            assert!(new_a && !new_b);
            assert_eq!(a, b);
            let mailbox = |uidvalidity| super::Mailbox { account: "a".into(), folder: "INBOX".into(), uidvalidity };
            assert_eq!(super::messages::cursor(c, &mailbox(7))?, 2);
            assert_eq!(super::messages::cursor(c, &mailbox(8))?, 0);
            assert_eq!(super::messages::unjudged(c, 10)?.len(), 1);
            Ok(())
        })
        .unwrap();
    }
}
