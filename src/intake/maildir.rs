//! A Maildir as a mail source (the embedded default; Dovecot-compatible layout).
//!
//! UIDs come from Dovecot's `dovecot-uidlist` when the folder has one; otherwise files are
//! numbered in name order (Maildir names start with the delivery time, so this is arrival
//! order) under a UIDVALIDITY derived from the folder's path. The source never writes into
//! the folder it reads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::{IntakeError, MailboxInfo};
use crate::store::{Fetched, Location};

pub struct MaildirSource {
    path: PathBuf,
    info: Option<MailboxInfo>,
    /// uid → file
    files: BTreeMap<u32, PathBuf>,
    /// The folder has no `dovecot-uidlist`: UIDs come from file names.
    unlisted: bool,
    /// UIDs already returned by `uids_after` in this process (unlisted folders).
    handed_out: std::collections::HashSet<u32>,
}

impl MaildirSource {
    pub fn new(path: PathBuf) -> MaildirSource {
        MaildirSource { path, info: None, files: BTreeMap::new(), unlisted: false, handed_out: Default::default() }
    }

    pub fn connect(&mut self) -> Result<MailboxInfo, IntakeError> {
        if !self.path.join("cur").is_dir() && !self.path.join("new").is_dir() {
            return Err(IntakeError::Setup(format!(
                "{} is not a Maildir (it needs cur/ and new/ folders)",
                self.path.display()
            )));
        }
        let (uidvalidity, listed) = read_uidlist(&self.path);
        let uidvalidity = uidvalidity.unwrap_or_else(|| path_uidvalidity(&self.path));
        self.scan(&listed)?;
        let info =
            MailboxInfo { account: format!("maildir:{}", self.path.display()), folder: "INBOX".into(), uidvalidity };
        self.info = Some(info.clone());
        Ok(info)
    }

    fn scan(&mut self, listed: &BTreeMap<String, u32>) -> Result<(), IntakeError> {
        let mut names: Vec<(String, PathBuf)> = Vec::new();
        for sub in ["new", "cur"] {
            let dir = self.path.join(sub);
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for e in entries.flatten() {
                let p = e.path();
                if !p.is_file() {
                    continue;
                }
                let name = e.file_name().to_string_lossy().to_string();
                if name.starts_with('.') {
                    continue;
                }
                let base = name.split(':').next().unwrap_or(&name).to_string();
                names.push((base, p));
            }
        }
        names.sort();
        self.files.clear();
        for (base, path) in names {
            let uid = match listed.get(&base) {
                Some(uid) => *uid,
                // No Dovecot list: a UID derived from the file name, stable across restarts and
                // independent of arrival order (a new file may sort before older ones).
                None if listed.is_empty() => {
                    let mut uid = name_uid(&base);
                    while self.files.contains_key(&uid) {
                        uid = uid % 0x7FFF_FFFF + 1;
                    }
                    uid
                }
                // Not yet in Dovecot's list: it will be numbered by Dovecot; wait for it.
                None => continue,
            };
            self.files.insert(uid, path);
        }
        self.unlisted = listed.is_empty();
        Ok(())
    }

    /// UIDs to fetch: above `last` when Dovecot numbers the folder; otherwise every file this
    /// process has not handed out yet (the store recognises mail it already holds).
    pub fn uids_after(&mut self, last: u32) -> Result<Vec<u32>, IntakeError> {
        let (_, listed) = read_uidlist(&self.path);
        self.scan(&listed)?;
        if self.unlisted {
            // In name order: Maildir names start with the delivery time.
            let mut fresh: Vec<(&std::ffi::OsStr, u32)> = self
                .files
                .iter()
                .filter(|(u, _)| !self.handed_out.contains(*u))
                .map(|(u, p)| (p.file_name().unwrap_or_default(), *u))
                .collect();
            fresh.sort();
            let fresh: Vec<u32> = fresh.into_iter().map(|(_, u)| u).collect();
            self.handed_out.extend(fresh.iter().copied());
            return Ok(fresh);
        }
        Ok(self.files.range(last.saturating_add(1)..).map(|(u, _)| *u).collect())
    }

    pub fn fetch(&mut self, uids: &[u32]) -> Result<Vec<Fetched>, IntakeError> {
        let info = self.info.clone().ok_or_else(|| IntakeError::Io("Maildir not opened".into()))?;
        let mut out = Vec::new();
        for uid in uids {
            let Some(path) = self.files.get(uid) else { continue };
            let raw =
                std::fs::read(path).map_err(|e| IntakeError::Io(format!("cannot read {}: {e}", path.display())))?;
            let internal_date = std::fs::metadata(path)
                .and_then(|m| m.modified())
                .ok()
                .map(|t| DateTime::<Utc>::from(t).fixed_offset());
            let flags = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.split_once(":2,"))
                .map(|(_, f)| f.chars().map(|c| c.to_string()).collect())
                .unwrap_or_default();
            out.push(Fetched {
                location: Location {
                    account: info.account.clone(),
                    folder: info.folder.clone(),
                    uidvalidity: info.uidvalidity,
                    uid: *uid,
                },
                internal_date,
                flags,
                raw,
            });
        }
        Ok(out)
    }
}

/// Reads Dovecot's `dovecot-uidlist`: (UIDVALIDITY, file base name → UID).
fn read_uidlist(dir: &Path) -> (Option<u32>, BTreeMap<String, u32>) {
    let mut map = BTreeMap::new();
    let Ok(text) = std::fs::read_to_string(dir.join("dovecot-uidlist")) else { return (None, map) };
    let mut lines = text.lines();
    let uidvalidity =
        lines.next().and_then(|h| h.split_whitespace().find_map(|f| f.strip_prefix('V')).and_then(|v| v.parse().ok()));
    for line in lines {
        let Some((head, name)) = line.split_once(':') else { continue };
        let Some(uid) = head.split_whitespace().next().and_then(|u| u.parse().ok()) else { continue };
        map.insert(name.trim().to_string(), uid);
    }
    (uidvalidity, map)
}

fn name_uid(base: &str) -> u32 {
    let hash = crate::store::sha256_hex(base.as_bytes());
    (u32::from_str_radix(&hash[..8], 16).unwrap_or(1) & 0x7FFF_FFFF).max(1)
}

fn path_uidvalidity(path: &Path) -> u32 {
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let hash = crate::store::sha256_hex(canonical.to_string_lossy().as_bytes());
    u32::from_str_radix(&hash[..8], 16).unwrap_or(1).max(1)
}

/// Writes a sent reply into the Maildir's Sent folder (Maildir++ `.Sent`), once.
pub fn append_sent(maildir: &Path, sent_folder: &str, message_id: &str, raw: &[u8]) -> std::io::Result<()> {
    let dir = maildir.join(format!(".{sent_folder}"));
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    let name: String = message_id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '.').collect();
    let path = dir.join("cur").join(format!("{name}:2,S"));
    if !path.exists() {
        let tmp = dir.join("tmp").join(&name);
        std::fs::write(&tmp, raw)?;
        std::fs::rename(tmp, path)?;
    }
    Ok(())
}

/// Whether the Maildir's Sent folder holds a message with this Message-ID.
pub fn sent_contains(maildir: &Path, sent_folder: &str, message_id: &str) -> bool {
    let name: String = message_id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '.').collect();
    maildir.join(format!(".{sent_folder}")).join("cur").join(format!("{name}:2,S")).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str) {
        std::fs::write(dir.join("cur").join(name), format!("Subject: {name}\r\n\r\nhi\r\n")).unwrap();
    }

    #[test]
    fn a_new_file_that_sorts_first_is_still_picked_up() {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        write(dir.path(), "2000.b:2,");
        let mut src = MaildirSource::new(dir.path().to_path_buf());
        src.connect().unwrap();
        assert_eq!(src.uids_after(0).unwrap().len(), 1);
        write(dir.path(), "1000.a:2,");
        let fresh = src.uids_after(u32::MAX - 1).unwrap();
        assert_eq!(fresh.len(), 1, "the earlier-sorting file is new");
        let got = src.fetch(&fresh).unwrap();
        assert!(String::from_utf8_lossy(&got[0].raw).contains("1000.a"));
        assert!(src.uids_after(0).unwrap().is_empty(), "nothing is handed out twice");
    }
}
