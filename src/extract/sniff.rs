//! What a file really is, from its first bytes and container structure — never from the
//! name or the declared Content-Type (schools' tools get both wrong).

use std::io::Cursor;

/// A file type as sniffed from content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Pdf,
    Docx,
    Xlsx,
    Pptx,
    Odf,
    Ofd,
    Zip,
    Doc,
    Xls,
    Ppt,
    /// An OOXML file encrypted with a password (a CFB with `EncryptedPackage`).
    EncryptedOffice,
    /// Another compound file (or a damaged one).
    Cfb,
    Rar,
    SevenZ,
    Gzip,
    Image(&'static str),
    Html,
    Text,
    Unknown,
}

impl FileType {
    /// The `type` string of spec §5.
    pub fn as_str(self) -> &'static str {
        match self {
            FileType::Pdf => "pdf",
            FileType::Docx => "docx",
            FileType::Xlsx => "xlsx",
            FileType::Pptx => "pptx",
            FileType::Odf => "odf",
            FileType::Ofd => "ofd",
            FileType::Zip => "zip",
            FileType::Doc => "doc",
            FileType::Xls => "xls",
            FileType::Ppt => "ppt",
            FileType::EncryptedOffice => "encrypted-office",
            FileType::Cfb => "cfb",
            FileType::Rar => "rar",
            FileType::SevenZ => "7z",
            FileType::Gzip => "gzip",
            FileType::Image(t) => t,
            FileType::Html => "html",
            FileType::Text => "text",
            FileType::Unknown => "unknown",
        }
    }

    /// A type that carries an electronic form (Word/Excel/WPS).
    pub fn is_office(self) -> bool {
        matches!(self, FileType::Docx | FileType::Xlsx | FileType::Doc | FileType::Xls | FileType::Odf)
    }
}

/// What the name's extension claims (lowercase, no dot).
pub fn extension(name: &str) -> String {
    name.rsplit_once('.').map(|(_, e)| e.trim().to_ascii_lowercase()).unwrap_or_default()
}

/// The type an extension claims, used only to name a file whose content is unreadable.
pub fn claimed(name: &str, declared: &str) -> Option<FileType> {
    let t = match extension(name).as_str() {
        "pdf" => FileType::Pdf,
        "docx" | "docm" | "dotx" => FileType::Docx,
        "xlsx" | "xlsm" => FileType::Xlsx,
        "doc" | "wps" | "dot" => FileType::Doc,
        "xls" | "et" => FileType::Xls,
        "jpg" | "jpeg" => FileType::Image("jpeg"),
        "png" => FileType::Image("png"),
        "zip" => FileType::Zip,
        "rar" => FileType::Rar,
        "7z" => FileType::SevenZ,
        _ => match declared {
            "application/pdf" => FileType::Pdf,
            "application/msword" => FileType::Doc,
            "application/vnd.ms-excel" => FileType::Xls,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => FileType::Docx,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => FileType::Xlsx,
            _ => return None,
        },
    };
    Some(t)
}

/// Sniffs the type of `bytes`.
pub fn sniff(bytes: &[u8]) -> FileType {
    let head = &bytes[..bytes.len().min(1024)];
    if head.starts_with(b"%PDF") || find(head, b"%PDF-").is_some() {
        return FileType::Pdf;
    }
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        return sniff_zip(bytes);
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return sniff_cfb(bytes);
    }
    if bytes.starts_with(b"Rar!\x1a\x07") {
        return FileType::Rar;
    }
    if bytes.starts_with(b"7z\xbc\xaf\x27\x1c") {
        return FileType::SevenZ;
    }
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return FileType::Gzip;
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return FileType::Image("jpeg");
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return FileType::Image("png");
    }
    if let Ok(t) = imagesize::image_type(head) {
        use imagesize::ImageType as I;
        let name = match t {
            I::Jpeg => "jpeg",
            I::Png => "png",
            I::Gif => "gif",
            I::Bmp => "bmp",
            I::Tiff => "tiff",
            I::Webp => "webp",
            I::Heif(_) => "heic",
            _ => "image",
        };
        return FileType::Image(name);
    }
    let lower: Vec<u8> = head.iter().take(512).map(|c| c.to_ascii_lowercase()).collect();
    if find(&lower, b"<html").is_some() || find(&lower, b"<!doctype html").is_some() {
        return FileType::Html;
    }
    if !head.is_empty() && head.iter().all(|&c| c >= 0x20 || matches!(c, b'\n' | b'\r' | b'\t')) {
        return FileType::Text;
    }
    FileType::Unknown
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn sniff_zip(bytes: &[u8]) -> FileType {
    let Ok(zip) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        return FileType::Zip;
    };
    let mut t = FileType::Zip;
    for name in zip.file_names() {
        let Ok(name) = name else { continue };
        match name.as_ref() {
            "word/document.xml" => return FileType::Docx,
            "xl/workbook.xml" => return FileType::Xlsx,
            "ppt/presentation.xml" => t = FileType::Pptx,
            "mimetype" | "content.xml" if t == FileType::Zip => t = FileType::Odf,
            "OFD.xml" => return FileType::Ofd,
            _ => {}
        }
    }
    t
}

fn sniff_cfb(bytes: &[u8]) -> FileType {
    let Ok(cf) = cfb::CompoundFile::open(Cursor::new(bytes)) else {
        return FileType::Cfb;
    };
    let mut t = FileType::Cfb;
    for entry in cf.walk() {
        match entry.name() {
            "WordDocument" => return FileType::Doc,
            "Workbook" | "Book" => t = FileType::Xls,
            "EncryptedPackage" => return FileType::EncryptedOffice,
            "PowerPoint Document" => t = FileType::Ppt,
            _ => {}
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_numbers() {
        assert_eq!(sniff(b"%PDF-1.4\n..."), FileType::Pdf);
        assert_eq!(sniff(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"), FileType::Image("jpeg"));
        assert_eq!(sniff(b"Rar!\x1a\x07\x00"), FileType::Rar);
        assert_eq!(sniff(b"hello world"), FileType::Text);
        assert_eq!(sniff(&[0u8, 1, 2, 3]), FileType::Unknown);
        assert_eq!(sniff(b"PK\x03\x04garbage"), FileType::Zip);
    }

    #[test]
    fn claims_from_names() {
        assert_eq!(claimed("表.DOCX", ""), Some(FileType::Docx));
        assert_eq!(claimed("表.et", ""), Some(FileType::Xls));
        assert_eq!(claimed("x", "application/pdf"), Some(FileType::Pdf));
    }
}
