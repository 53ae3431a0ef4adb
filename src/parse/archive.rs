//! Opening zip archives schools attach, so their members are judged as if attached directly.
//!
//! Member names are read as UTF-8 when valid, else GB18030 (Chinese Windows zip tools write
//! GBK without the UTF-8 flag). Every member is read through the capped reader; rar, 7z,
//! encrypted, damaged or oversized archives are recorded as unsupported with a reason.

use std::io::Cursor;

use super::{ArchiveState, Attachment, header, sanitize_name};
use crate::limits::{CapError, Limits, read_capped};

const RAR: &[u8] = b"Rar!\x1a\x07";
const SEVEN_Z: &[u8] = b"7z\xbc\xaf\x27\x1c";
const ZIP: &[u8] = b"PK\x03\x04";
const ZIP_EMPTY: &[u8] = b"PK\x05\x06";

fn extension(name: &str) -> String {
    name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default()
}

/// True when a zip container is an Office/ODF document rather than an archive.
fn is_document(bytes: &[u8]) -> bool {
    match zip::ZipArchive::new(Cursor::new(bytes)) {
        Ok(z) => z.file_names().flatten().any(|n| matches!(n.as_ref(), "[Content_Types].xml" | "mimetype" | "OFD.xml")),
        Err(_) => false,
    }
}

/// Appends `att` to `out`; when it is an archive, opens it and appends its members after it.
pub fn push(out: &mut Vec<Attachment>, att: Attachment, limits: &Limits, budget: &mut u64, problems: &mut Vec<String>) {
    push_at(out, att, limits, budget, problems, 0)
}

fn push_at(
    out: &mut Vec<Attachment>,
    mut att: Attachment,
    limits: &Limits,
    budget: &mut u64,
    problems: &mut Vec<String>,
    depth: usize,
) {
    let ext = extension(&att.filename);
    let bytes = &att.bytes;
    if bytes.starts_with(RAR) || (ext == "rar" && !bytes.starts_with(ZIP)) {
        att.archive_state = ArchiveState::Unsupported("RAR 压缩包无法打开".into());
        out.push(att);
        return;
    }
    if bytes.starts_with(SEVEN_Z) || ext == "7z" {
        att.archive_state = ArchiveState::Unsupported("7z 压缩包无法打开".into());
        out.push(att);
        return;
    }
    let zip_magic = bytes.starts_with(ZIP) || bytes.starts_with(ZIP_EMPTY);
    let named_zip = ext == "zip";
    if !named_zip && (!zip_magic || is_document(bytes)) {
        out.push(att);
        return;
    }
    if zip_magic && !named_zip {
        // Looks like a zip but is not a document: an archive only if it opens as one and the
        // name does not claim an Office type (then it is a damaged document, judged later).
        if matches!(ext.as_str(), "docx" | "xlsx" | "pptx" | "wps" | "et" | "doc" | "xls" | "odt" | "ods") {
            out.push(att);
            return;
        }
    }
    if depth >= limits.max_archive_depth {
        att.archive_state = ArchiveState::Unsupported("压缩包嵌套层数过多".into());
        out.push(att);
        return;
    }
    let members = match open(&att, limits, budget) {
        Ok(members) => members,
        Err(reason) => {
            problems.push(format!("{}: {reason}", att.filename));
            att.archive_state = ArchiveState::Unsupported(reason);
            out.push(att);
            return;
        }
    };
    att.archive_state = ArchiveState::Opened { members: members.len() };
    let archive_name = att.filename.clone();
    out.push(att);
    for (name, data) in members {
        let member = Attachment {
            filename: name,
            declared_type: String::new(),
            bytes: data,
            inline: false,
            has_content_id: false,
            archive: Some(archive_name.clone()),
            archive_state: ArchiveState::NotArchive,
        };
        push_at(out, member, limits, budget, problems, depth + 1);
    }
}

fn open(att: &Attachment, limits: &Limits, budget: &mut u64) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut zip =
        zip::ZipArchive::new(Cursor::new(&att.bytes[..])).map_err(|e| format!("压缩包已损坏，无法打开（{e}）"))?;
    let mut members = Vec::new();
    for i in 0..zip.len() {
        if members.len() >= limits.max_archive_members {
            return Err(format!("压缩包内文件超过 {} 个", limits.max_archive_members));
        }
        let (name, is_dir, encrypted, declared) = {
            let f = zip.by_index_raw(i).map_err(|e| format!("压缩包已损坏（{e}）"))?;
            (header::decode_raw(f.name_raw()), f.is_dir(), f.encrypted(), f.size())
        };
        if is_dir {
            continue;
        }
        if encrypted {
            return Err("压缩包设有密码，无法打开".into());
        }
        let base = sanitize_name(&name);
        let lower = name.to_ascii_lowercase();
        if lower.starts_with("__macosx/")
            || base.starts_with("._")
            || base == ".DS_Store"
            || base.eq_ignore_ascii_case("thumbs.db")
        {
            continue;
        }
        let cap = limits.max_decompressed_bytes.min(*budget);
        let over = |cap: u64| format!("压缩包内文件 {base} 解压后超过 {} MB 的上限，未读取", cap.div_ceil(1024 * 1024));
        // A member declaring more than the cap is refused unread; one that lies about its size
        // is stopped by the capped reader.
        if declared > cap {
            return Err(over(cap));
        }
        let f = zip.by_index(i).map_err(|e| format!("压缩包内文件 {base} 无法读取（{e}）"))?;
        let data = read_capped(f, cap).map_err(|e| match e {
            CapError::TooLarge { .. } => over(cap),
            CapError::Io(e) => format!("压缩包内文件 {base} 无法解压（{e}）"),
        })?;
        *budget = budget.saturating_sub(data.len() as u64);
        members.push((base, data));
    }
    Ok(members)
}
