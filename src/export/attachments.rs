//! The attachments as folders: `kind/school/expert-or-category/original-name`, re-extracted
//! from the stored raw messages.
//!
//! Every path component comes from a mail or the register and goes through
//! [`safe_component`]: no separators, no `.`/`..`, no control or bidi-override characters,
//! nothing Windows refuses (the folder is often copied to a Windows share). Files are created
//! with `create_new` (never overwriting, never following a link) and owner-only permissions.
//! Both the current submission and the earlier ones it superseded land in the same folder (a
//! school told to "send only the missing scan" has its form in the earlier mail); the same
//! content twice in one folder is written once, different files with the same name get
//! ` (2)`, ` (3)` … suffixes.

use crate::store;
use std::collections::{BTreeMap, HashSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use super::{ExportError, create_private_dir_all, io_error, new_private_file};
use crate::limits::Limits;
use crate::parse::{self, ArchiveState, Attachment, Mail};
use crate::rules::{Part, Rules};
use crate::store::messages::{Filter, MessageRow};

/// Folder for a message without a recognised school.
pub const NO_SCHOOL: &str = "未识别学校";
/// Folder for messages of no kind (`hold`).
pub const NO_KIND: &str = "未分类";

/// Most bytes of one file name (ext4 allows 255; CJK characters take 3 bytes in UTF-8).
const MAX_NAME_BYTES: usize = 200;

/// A single, harmless path component made from untrusted text; `fallback` when nothing
/// usable is left.
pub fn safe_component(name: &str, fallback: &str) -> String {
    let replaced: String = name
        .chars()
        .filter(|c| !c.is_control() && !is_invisible_override(*c))
        .map(|c| if matches!(c, '/' | '\\' | '<' | '>' | ':' | '"' | '|' | '?' | '*') { '_' } else { c })
        .collect();
    // No hidden files, no `.`/`..`; Windows drops trailing dots and spaces.
    let trimmed = replaced.trim().trim_start_matches('.').trim_end_matches(['.', ' ']).trim();
    let mut out = if trimmed.is_empty() { fallback.to_string() } else { trimmed.to_string() };
    let stem = out.split('.').next().unwrap_or_default().trim().to_ascii_uppercase();
    let reserved = matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || (stem.len() == 4
            && (stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.as_bytes()[3].is_ascii_digit());
    if reserved {
        out.insert(0, '_');
    }
    clip_name(&out, MAX_NAME_BYTES)
}

/// Bidirectional overrides and zero-width characters that make `gpj.exe` look like `exe.jpg`.
fn is_invisible_override(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// Cuts a name to at most `max` bytes, keeping a short extension.
fn clip_name(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_string();
    }
    let (stem, ext) = split_ext(name);
    let ext = if ext.len() <= 16 { ext } else { "" };
    let mut out = String::new();
    for c in stem.chars() {
        if out.len() + c.len_utf8() + ext.len() > max {
            break;
        }
        out.push(c);
    }
    out + ext
}

/// `("a.b", ".docx")` for `a.b.docx`; no extension for `.hidden` or `name`.
fn split_ext(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(i) if i > 0 => name.split_at(i),
        _ => (name, ""),
    }
}

/// `name (n).ext`.
fn numbered(name: &str, n: usize) -> String {
    let (stem, ext) = split_ext(name);
    clip_name(&format!("{stem} ({n}){ext}"), MAX_NAME_BYTES + 8)
}

/// What the attachment export did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct AttachmentExport {
    /// Messages whose attachments were written.
    pub messages: usize,
    pub files: usize,
    pub bytes: u64,
    /// Files left out because the same content is already in the same folder.
    pub duplicates: usize,
    /// Every file written, relative to the target folder.
    pub written: Vec<PathBuf>,
}

/// The folder (relative, already safe) a message's attachments go to.
pub fn folder_for(m: &MessageRow, rules: &Rules) -> PathBuf {
    let school = safe_component(m.school.as_deref().unwrap_or(NO_SCHOOL), NO_SCHOOL);
    let Some(kind) = m.kind.as_deref().filter(|_| super::sheets::is_submission(m)) else {
        return PathBuf::from(NO_KIND).join(school).join(format!("邮件{}", m.id));
    };
    let rule = rules.kind(kind);
    let mut path = PathBuf::from(safe_component(rule.map(|k| k.name.as_str()).unwrap_or(kind), kind)).join(school);
    let parts = rule.map(|k| k.subject_parts.as_slice()).unwrap_or_default();
    if parts.contains(&Part::ExpertName) {
        path.push(safe_component(m.expert_name.as_deref().unwrap_or("未识别专家"), "未识别专家"));
    } else if parts.contains(&Part::Category) {
        path.push(safe_component(m.category.as_deref().unwrap_or("未识别专业大类"), "未识别专业大类"));
    }
    path
}

/// The files of a message worth a folder: its attachments and those of forwarded messages,
/// archive members instead of the archives they came out of (an archive that could not be
/// opened is kept as it is), without signature logos.
fn files_of<'m>(mail: &'m Mail, rules: &Rules, out: &mut Vec<&'m Attachment>) {
    for a in &mail.attachments {
        let opened = matches!(a.archive_state, ArchiveState::Opened { .. });
        let logo = a.inline
            && a.has_content_id
            && a.declared_type.starts_with("image/")
            && a.bytes.len() < rules.attachments.decoration_max_bytes;
        if !opened && !logo {
            out.push(a);
        }
    }
    for inner in &mail.forwarded {
        files_of(inner, rules, out);
    }
}

/// Writes the attachments of every submission (current and superseded) and of every message on
/// `hold` into `dir`, which must be new or empty. Shows a progress bar when `progress`.
pub fn export_attachments(
    conn: &Connection,
    rules: &Rules,
    limits: &Limits,
    dir: &Path,
    progress: bool,
) -> Result<AttachmentExport, ExportError> {
    match std::fs::symlink_metadata(dir) {
        Ok(m) if !m.is_dir() => return Err(ExportError::NotAFolder { path: dir.display().to_string() }),
        Ok(_) => {
            if std::fs::read_dir(dir).map_err(io_error(dir))?.next().is_some() {
                return Err(ExportError::NotEmpty { path: dir.display().to_string() });
            }
        }
        Err(_) => create_private_dir_all(dir)?,
    }
    let rows: Vec<MessageRow> = store::messages::list(conn, &Filter::default())?
        .into_iter()
        .filter(|m| super::sheets::is_submission(m) || m.decision.as_deref() == Some("hold"))
        .collect();
    let bar = if progress {
        let bar = indicatif::ProgressBar::new(rows.len() as u64);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:40.cyan/blue} {pos}/{len} messages, {msg} files written")
        {
            bar.set_style(style);
        }
        bar.set_message("0");
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut summary = AttachmentExport::default();
    // folder → (lowercased names taken, content already there)
    let mut folders: BTreeMap<PathBuf, (HashSet<String>, HashSet<String>)> = BTreeMap::new();
    for m in &rows {
        bar.inc(1);
        let Some(raw) = store::messages::raw(conn, m.id)? else { continue };
        let mail = parse::parse(&raw, limits);
        let mut files = Vec::new();
        files_of(&mail, rules, &mut files);
        if files.is_empty() {
            continue;
        }
        let folder = folder_for(m, rules);
        let mut wrote_any = false;
        for a in files {
            let (names, contents) = folders.entry(folder.clone()).or_default();
            if !contents.insert(crate::store::sha256_hex(&a.bytes)) {
                summary.duplicates += 1;
                continue;
            }
            let base = safe_component(&a.filename, "unnamed");
            let mut name = base.clone();
            let mut n = 1;
            while names.contains(&name.to_lowercase()) {
                n += 1;
                name = numbered(&base, n);
            }
            names.insert(name.to_lowercase());
            let relative = folder.join(&name);
            let path = dir.join(&relative);
            // Belt and braces: every component is sanitized, so this cannot fail.
            if !path.starts_with(dir) || relative.components().any(|c| !matches!(c, std::path::Component::Normal(_))) {
                return Err(ExportError::NotAFolder { path: path.display().to_string() });
            }
            create_folder_in(dir, &folder)?;
            let mut f = new_private_file(&path).map_err(io_error(&path))?;
            f.write_all(&a.bytes).map_err(io_error(&path))?;
            summary.files += 1;
            summary.bytes += a.bytes.len() as u64;
            summary.written.push(relative);
            bar.set_message(summary.files.to_string());
            wrote_any = true;
        }
        summary.messages += usize::from(wrote_any);
    }
    bar.finish_and_clear();
    Ok(summary)
}

/// Creates `root/relative` one component at a time (0700), refusing to pass through a link.
fn create_folder_in(root: &Path, relative: &Path) -> Result<(), ExportError> {
    let mut path = root.to_path_buf();
    for c in relative.components() {
        path.push(c);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => continue,
            Ok(_) => return Err(ExportError::NotAFolder { path: path.display().to_string() }),
            Err(_) => create_private_dir_all(&path)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_become_one_harmless_component() {
        for (hostile, expected) in [
            ("../../etc/passwd", "_.._etc_passwd"),
            ("/abs", "_abs"),
            ("a\\b", "a_b"),
            ("C:\\Windows\\win.ini", "C__Windows_win.ini"),
            ("..", "unnamed"),
            (".", "unnamed"),
            ("", "unnamed"),
            ("   ", "unnamed"),
            ("...", "unnamed"),
            (".bashrc", "bashrc"),
            ("name.", "name"),
            ("a\u{0}b\u{7}c\r\n.pdf", "abc.pdf"),
            ("\u{1b}[31m红色.docx", "[31m红色.docx"),
            ("扫描\u{202E}fdp.exe", "扫描fdp.exe"),
            ("CON", "_CON"),
            ("nul.txt", "_nul.txt"),
            ("com1.docx", "_com1.docx"),
            ("附件2：专家推荐表（张明）.docx", "附件2：专家推荐表（张明）.docx"),
            ("a|b?c*d\"e<f>g", "a_b_c_d_e_f_g"),
        ] {
            let safe = safe_component(hostile, "unnamed");
            assert_eq!(safe, expected, "for {hostile:?}");
            assert!(!safe.contains(['/', '\\']) && safe != "." && safe != ".." && !safe.is_empty());
            assert!(!safe.chars().any(char::is_control));
            let joined = Path::new("/target").join(&safe);
            assert!(joined.starts_with("/target") && joined.parent() == Some(Path::new("/target")));
        }
    }

    #[test]
    fn long_names_keep_their_extension_and_fit() {
        let long = format!("{}.docx", "很长的文件名".repeat(40));
        let safe = safe_component(&long, "unnamed");
        assert!(safe.len() <= MAX_NAME_BYTES && safe.ends_with(".docx"), "{safe}");
        let n = numbered(&safe, 12);
        assert!(n.ends_with(" (12).docx") && n.len() <= 255, "{n}");
    }

    #[test]
    fn clashing_names_are_numbered() {
        assert_eq!(numbered("推荐表.docx", 2), "推荐表 (2).docx");
        assert_eq!(numbered("README", 3), "README (3)");
        assert_eq!(numbered("a.tar.gz", 2), "a.tar (2).gz");
    }
}
