//! Test mails and their attachments, made in code the way schools' tools make them.
//!
//! - [`Mail`]: a raw RFC 5322 message (multipart/mixed, a text body in any charset,
//!   base64 attachments) with the header habits of Chinese mail clients: subjects as UTF-8,
//!   GBK/GB2312/GB18030 encoded-words, encoded-words split inside a character, raw 8-bit
//!   GBK; file names as encoded-words in quotes, RFC 2231, raw GBK; extra headers;
//!   forwarded `message/rfc822` parts; other multipart types (a DSN's `report`).
//! - [`ExpertForm`] (附件2) and [`LeadForm`] (附件1) as `.docx` (and the expert form as
//!   `.xlsx`), a `.docx` report, 附件3 summary tables as `.docx` and `.xlsx`.
//! - zip archives (GBK or UTF-8 member names, ZipCrypto-encrypted), a fake RAR,
//!   hand-written PDFs (an image-only scan, a text PDF), a minimal JPEG.

use std::io::{Cursor, Write};
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use zip::write::SimpleFileOptions;

use super::rng::Rng;

static SEQ: AtomicUsize = AtomicUsize::new(1);

fn next_seq() -> usize {
    SEQ.fetch_add(1, Ordering::Relaxed)
}

/// GBK bytes of `s` (the GB18030 encoder writes GBK for every character GBK has).
pub fn gbk(s: &str) -> Vec<u8> {
    encoding_rs::GB18030.encode(s).0.into_owned()
}

fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

/// Base64 folded in 76-character lines, as MIME wants it.
fn b64_lines(bytes: &[u8]) -> Vec<u8> {
    let text = b64(bytes);
    let mut out = Vec::with_capacity(text.len() + text.len() / 38);
    for chunk in text.as_bytes().chunks(76) {
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out
}

// ---------------------------------------------------------------------------------------
// Raw messages

/// How a header text (the subject) is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderText {
    /// `=?UTF-8?B?…?=`
    Utf8Word,
    /// `=?<label>?B?…?=` with GB18030/GBK bytes under the given label (GBK, GB2312, gb18030).
    GbWord(&'static str),
    /// `=?<label>?Q?=D7=A8…?=`: quoted-printable GBK bytes.
    GbQ(&'static str),
    /// Two adjacent `=?GBK?B?…?=` words, the byte split falling inside a character.
    SplitGbk,
    /// Raw 8-bit GBK bytes, no encoding at all.
    RawGbk,
    /// Raw 8-bit UTF-8 bytes (RFC 6532 style).
    RawUtf8,
}

/// How an attachment's file name is written in `Content-Type`/`Content-Disposition`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameStyle {
    /// `filename="=?<label>?B?…?="` — an encoded-word inside quotes (GBK bytes unless the
    /// label is UTF-8).
    Word(&'static str),
    /// `filename*=UTF-8''%E4%B8%93…` (RFC 2231).
    Rfc2231,
    /// `filename*0*=UTF-8''%E4…; filename*1*=%E8…` (RFC 2231 continuations, long names).
    Rfc2231Continued,
    /// `filename="=?gb18030?B?…?= =?gb18030?B?…?="`: a long name cut into several
    /// encoded-words inside one quoted string (QQ Mail), cut on character boundaries.
    SplitWords,
    /// Only `name="=?GBK?B?…?="` in Content-Type; the disposition has no file name.
    ContentTypeOnly,
    /// `filename="<raw GBK bytes>"`.
    RawGbk,
}

/// The charset of the text body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyCharset {
    Utf8,
    /// Declared `GBK` (or whatever label), GB18030 bytes.
    Gb(&'static str),
}

#[derive(Debug, Clone)]
enum Part {
    File { name: String, bytes: Vec<u8>, style: NameStyle },
    Raw { headers: String, body: Vec<u8> },
}

/// A raw message under construction.
#[derive(Debug, Clone)]
pub struct Mail {
    from: String,
    to: String,
    subject: String,
    subject_text: HeaderText,
    date: String,
    message_id: String,
    headers: Vec<Vec<u8>>,
    body: String,
    body_charset: BodyCharset,
    multipart: String,
    parts: Vec<Part>,
}

impl Mail {
    /// A mail from a school's 教务处 with this subject (UTF-8 encoded-word), sent on
    /// 2023-03-15 10:21:07 +08:00, with a short body and no attachment.
    pub fn new(subject: &str) -> Mail {
        Mail {
            from: "=?UTF-8?B?5pWZ5Yqh5aSE?= <jwc@school.edu.cn>".into(),
            to: "xfyh@ynedu.gov.cn".into(),
            subject: subject.into(),
            subject_text: HeaderText::Utf8Word,
            date: "Wed, 15 Mar 2023 10:21:07 +0800".into(),
            message_id: format!("<habit-{}@school.edu.cn>", next_seq()),
            headers: Vec::new(),
            body: "老师您好：\r\n附件是我校报送的材料，请查收。\r\n谢谢！".into(),
            body_charset: BodyCharset::Utf8,
            multipart: "mixed".into(),
            parts: Vec::new(),
        }
    }

    /// The `Date:` header (RFC 2822).
    pub fn date(mut self, date: &str) -> Mail {
        self.date = date.into();
        self
    }

    pub fn subject_as(mut self, how: HeaderText) -> Mail {
        self.subject_text = how;
        self
    }

    /// The whole `From:` value, e.g. `Mail Delivery System <MAILER-DAEMON@qq.com>`.
    pub fn from(mut self, from: &str) -> Mail {
        self.from = from.into();
        self
    }

    pub fn to(mut self, to: &str) -> Mail {
        self.to = to.into();
        self
    }

    pub fn message_id(mut self, id: &str) -> Mail {
        self.message_id = id.into();
        self
    }

    pub fn id(&self) -> &str {
        &self.message_id
    }

    /// An extra header line (without CRLF), e.g. `Auto-Submitted: auto-replied`.
    pub fn header(mut self, line: &str) -> Mail {
        self.headers.push(line.as_bytes().to_vec());
        self
    }

    pub fn body(mut self, text: &str) -> Mail {
        self.body = text.into();
        self
    }

    pub fn body_charset(mut self, charset: BodyCharset) -> Mail {
        self.body_charset = charset;
        self
    }

    /// The multipart subtype with its parameters, e.g. `report; report-type=delivery-status`.
    pub fn multipart(mut self, subtype: &str) -> Mail {
        self.multipart = subtype.into();
        self
    }

    /// Attaches a file, its name written as a GBK encoded-word (the commonest habit).
    pub fn attach(self, name: &str, bytes: Vec<u8>) -> Mail {
        self.attach_as(name, bytes, NameStyle::Word("GBK"))
    }

    pub fn attach_as(mut self, name: &str, bytes: Vec<u8>, style: NameStyle) -> Mail {
        self.parts.push(Part::File { name: name.into(), bytes, style });
        self
    }

    /// A part with its own header lines (CRLF-separated, no trailing CRLF) and raw body.
    pub fn part(mut self, headers: &str, body: &[u8]) -> Mail {
        self.parts.push(Part::Raw { headers: headers.into(), body: body.to_vec() });
        self
    }

    /// An image shown in the body (`Content-Disposition: inline` with a `Content-ID`): a
    /// signature logo, or a photo pasted into the message.
    pub fn inline_image(self, name: &str, bytes: &[u8]) -> Mail {
        let n = next_seq();
        let mut body = b64_lines(bytes);
        body.truncate(body.len().saturating_sub(2));
        self.part(
            &format!(
                "Content-Type: image/jpeg; name=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\nContent-ID: <img{n}@qq.com>\r\nContent-Disposition: inline; filename=\"{name}\""
            ),
            &body,
        )
    }

    /// Carries another message as a `message/rfc822` attachment.
    pub fn forward(self, inner: &Mail) -> Mail {
        let raw = inner.build();
        self.part("Content-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"forwarded.eml\"", &raw)
    }

    fn subject_bytes(&self) -> Vec<u8> {
        let s = &self.subject;
        match self.subject_text {
            HeaderText::Utf8Word => format!("=?UTF-8?B?{}?=", b64(s.as_bytes())).into_bytes(),
            HeaderText::GbWord(label) => format!("=?{label}?B?{}?=", b64(&gbk(s))).into_bytes(),
            HeaderText::GbQ(label) => {
                let q: String = gbk(s)
                    .iter()
                    .map(|&b| match b {
                        b' ' => "_".to_string(),
                        b if b.is_ascii_alphanumeric() => (b as char).to_string(),
                        b => format!("={b:02X}"),
                    })
                    .collect();
                format!("=?{label}?Q?{q}?=").into_bytes()
            }
            HeaderText::SplitGbk => {
                let bytes = gbk(s);
                let (a, b) = bytes.split_at(split_inside_character(s));
                format!("=?GBK?B?{}?=\r\n =?GBK?B?{}?=", b64(a), b64(b)).into_bytes()
            }
            HeaderText::RawGbk => gbk(s),
            HeaderText::RawUtf8 => s.as_bytes().to_vec(),
        }
    }

    /// The raw message.
    pub fn build(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let line = |out: &mut Vec<u8>, bytes: &[u8]| {
            out.extend_from_slice(bytes);
            out.extend_from_slice(b"\r\n");
        };
        line(&mut out, format!("From: {}", self.from).as_bytes());
        line(&mut out, format!("To: {}", self.to).as_bytes());
        let mut subject = b"Subject: ".to_vec();
        subject.extend(self.subject_bytes());
        line(&mut out, &subject);
        line(&mut out, format!("Date: {}", self.date).as_bytes());
        line(&mut out, format!("Message-ID: {}", self.message_id).as_bytes());
        for h in &self.headers {
            line(&mut out, h);
        }
        line(&mut out, b"MIME-Version: 1.0");
        let (charset, body) = match self.body_charset {
            BodyCharset::Utf8 => ("UTF-8", self.body.as_bytes().to_vec()),
            BodyCharset::Gb(label) => (label, gbk(&self.body)),
        };
        let text_headers =
            format!("Content-Type: text/plain; charset=\"{charset}\"\r\nContent-Transfer-Encoding: base64");
        if self.parts.is_empty() {
            line(&mut out, text_headers.as_bytes());
            line(&mut out, b"");
            out.extend(b64_lines(&body));
            return out;
        }
        let boundary = format!("----=_NextPart_habit_{:04}", next_seq());
        line(&mut out, format!("Content-Type: multipart/{}; boundary=\"{boundary}\"", self.multipart).as_bytes());
        line(&mut out, b"");
        line(&mut out, b"This is a multi-part message in MIME format.");
        line(&mut out, b"");
        line(&mut out, format!("--{boundary}").as_bytes());
        line(&mut out, text_headers.as_bytes());
        line(&mut out, b"");
        out.extend(b64_lines(&body));
        for part in &self.parts {
            line(&mut out, format!("--{boundary}").as_bytes());
            match part {
                Part::File { name, bytes, style } => {
                    let ctype = content_type_for(name);
                    let (ct_param, cd_param) = name_params(name, *style);
                    let mut h = format!("Content-Type: {ctype};\r\n\t").into_bytes();
                    h.extend(ct_param);
                    line(&mut out, &h);
                    line(&mut out, b"Content-Transfer-Encoding: base64");
                    let mut h = b"Content-Disposition: attachment".to_vec();
                    if !cd_param.is_empty() {
                        h.extend(b";\r\n\t");
                        h.extend(cd_param);
                    }
                    line(&mut out, &h);
                    line(&mut out, b"");
                    out.extend(b64_lines(bytes));
                }
                Part::Raw { headers, body } => {
                    line(&mut out, headers.as_bytes());
                    line(&mut out, b"");
                    out.extend_from_slice(body);
                    if !body.ends_with(b"\r\n") {
                        line(&mut out, b"");
                    }
                }
            }
        }
        line(&mut out, format!("--{boundary}--").as_bytes());
        out
    }
}

/// A byte offset into `gbk(s)` that falls inside a two-byte character (after the first
/// byte of the third CJK character).
fn split_inside_character(s: &str) -> usize {
    let mut offset = 0;
    let mut cjk = 0;
    for c in s.chars() {
        let len = gbk(&c.to_string()).len();
        if len == 2 {
            cjk += 1;
            if cjk == 3 {
                return offset + 1;
            }
        }
        offset += len;
    }
    panic!("subject {s:?} has fewer than three two-byte characters")
}

fn content_type_for(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pdf" => "application/pdf",
        "jpg" | "jpeg" => "image/jpeg",
        "zip" => "application/x-zip-compressed",
        _ => "application/octet-stream",
    }
}

/// The `name=` and `filename=` parameters in the given style.
fn name_params(name: &str, style: NameStyle) -> (Vec<u8>, Vec<u8>) {
    match style {
        NameStyle::Word(label) => {
            let bytes = if label.eq_ignore_ascii_case("utf-8") { name.as_bytes().to_vec() } else { gbk(name) };
            let word = format!("=?{label}?B?{}?=", b64(&bytes));
            (format!("name=\"{word}\"").into_bytes(), format!("filename=\"{word}\"").into_bytes())
        }
        NameStyle::Rfc2231 => {
            let pct = percent(name.as_bytes());
            (format!("name*=UTF-8''{pct}").into_bytes(), format!("filename*=UTF-8''{pct}").into_bytes())
        }
        NameStyle::Rfc2231Continued => {
            // Cut between characters, a few characters per piece.
            let chars: Vec<char> = name.chars().collect();
            let pieces: Vec<String> =
                chars.chunks(6).map(|c| percent(c.iter().collect::<String>().as_bytes())).collect();
            let params = |p: &str| {
                pieces
                    .iter()
                    .enumerate()
                    .map(|(i, piece)| {
                        let charset = if i == 0 { "UTF-8''" } else { "" };
                        format!("{p}*{i}*={charset}{piece}")
                    })
                    .collect::<Vec<_>>()
                    .join(";\r\n\t")
                    .into_bytes()
            };
            (params("name"), params("filename"))
        }
        NameStyle::SplitWords => {
            let chars: Vec<char> = name.chars().collect();
            let words: Vec<String> = chars
                .chunks(5)
                .map(|c| {
                    let piece: String = c.iter().collect();
                    format!("=?gb18030?B?{}?=", b64(&gbk(&piece)))
                })
                .collect();
            let value = words.join("\r\n\t");
            (format!("name=\"{value}\"").into_bytes(), format!("filename=\"{value}\"").into_bytes())
        }
        NameStyle::ContentTypeOnly => {
            let word = format!("=?GBK?B?{}?=", b64(&gbk(name)));
            (format!("name=\"{word}\"").into_bytes(), Vec::new())
        }
        NameStyle::RawGbk => {
            let quoted = |p: &str| {
                let mut v = format!("{p}=\"").into_bytes();
                v.extend(gbk(name));
                v.push(b'"');
                v
            };
            (quoted("name"), quoted("filename"))
        }
    }
}

fn percent(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A delivery status notification (multipart/report) from a mailer daemon, quoting the
/// headers of the bounced message (`text/rfc822-headers`) or the whole of it
/// (`message/rfc822`).
pub fn dsn(bounced: &Mail, whole_message: bool) -> Mail {
    let status = "Reporting-MTA: dns; mx.school.edu.cn\r\n\r\nFinal-Recipient: rfc822; jwc@school.edu.cn\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\r\n";
    let mail = Mail::new("Undelivered Mail Returned to Sender")
        .from("Mail Delivery System <MAILER-DAEMON@mx.school.edu.cn>")
        .multipart("report; report-type=delivery-status")
        .body("This is the mail system at host mx.school.edu.cn.\r\n\r\nI'm sorry to have to inform you that your message could not be delivered.\r\n")
        .part("Content-Type: message/delivery-status", status.as_bytes());
    if whole_message {
        mail.part("Content-Type: message/rfc822", &bounced.build())
    } else {
        let raw = bounced.build();
        let end = raw.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 2).unwrap_or(raw.len());
        mail.part("Content-Type: text/rfc822-headers", &raw[..end])
    }
}

// ---------------------------------------------------------------------------------------
// Word documents

/// One table cell of WordprocessingML.
#[derive(Debug, Clone, Default)]
struct Cell {
    text: String,
    /// A `<w:br/>` after the text (labels typed with a trailing line break).
    br: bool,
    /// `Some(true)`: `<w:vMerge w:val="restart"/>`; `Some(false)`: a continued merge.
    vmerge: Option<bool>,
    span: u32,
}

fn cell(text: &str) -> Cell {
    Cell { text: text.into(), span: 1, ..Cell::default() }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn para_xml(text: &str, br: bool) -> String {
    if text.is_empty() && !br {
        return "<w:p/>".into();
    }
    let br = if br { "<w:br/>" } else { "" };
    format!(
        "<w:p><w:r><w:rPr><w:rFonts w:hint=\"eastAsia\"/></w:rPr><w:t xml:space=\"preserve\">{}</w:t>{br}</w:r></w:p>",
        xml_escape(text)
    )
}

fn table_xml(rows: &[Vec<Cell>]) -> String {
    let mut x = String::from(
        "<w:tbl><w:tblPr><w:tblW w:w=\"0\" w:type=\"auto\"/><w:jc w:val=\"center\"/></w:tblPr><w:tblGrid>",
    );
    let cols = rows.iter().map(|r| r.iter().map(|c| c.span as usize).sum::<usize>()).max().unwrap_or(0);
    for _ in 0..cols {
        x.push_str("<w:gridCol w:w=\"1800\"/>");
    }
    x.push_str("</w:tblGrid>");
    for row in rows {
        x.push_str("<w:tr><w:trPr><w:trHeight w:val=\"567\"/></w:trPr>");
        for c in row {
            x.push_str("<w:tc><w:tcPr><w:tcW w:w=\"1800\" w:type=\"dxa\"/>");
            if c.span > 1 {
                x.push_str(&format!("<w:gridSpan w:val=\"{}\"/>", c.span));
            }
            match c.vmerge {
                Some(true) => x.push_str("<w:vMerge w:val=\"restart\"/>"),
                Some(false) => x.push_str("<w:vMerge/>"),
                None => {}
            }
            x.push_str("<w:vAlign w:val=\"center\"/></w:tcPr>");
            x.push_str(&para_xml(&c.text, c.br));
            x.push_str("</w:tc>");
        }
        x.push_str("</w:tr>");
    }
    x.push_str("</w:tbl>");
    x
}

/// A .docx with the minimal parts Word needs around this body XML.
fn docx(body: &str) -> Vec<u8> {
    let document = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\" xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\"><w:body>{body}<w:sectPr><w:pgSz w:w=\"11906\" w:h=\"16838\"/></w:sectPr></w:body></w:document>"
    );
    let content_types = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"><Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/><Default Extension=\"xml\" ContentType=\"application/xml\"/><Override PartName=\"/word/document.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/></Types>";
    let rels = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"word/document.xml\"/></Relationships>";
    zip_archive(&[
        ("[Content_Types].xml", content_types.as_bytes()),
        ("_rels/.rels", rels.as_bytes()),
        ("word/document.xml", document.as_bytes()),
    ])
}

/// How the labels of a form are typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Labels {
    Plain,
    /// `姓　　名`, `出 生 年 月`: padded to the cell width with spaces.
    Padded,
    /// Each label followed by a line break (`<w:br/>`).
    Breaks,
}

fn pad(label: &str) -> String {
    let chars: Vec<String> = label.chars().map(String::from).collect();
    if chars.len() == 2 {
        chars.join("\u{3000}\u{3000}")
    } else if chars.len() <= 4 {
        chars.join(" ")
    } else {
        label.to_string()
    }
}

/// 附件2, the expert recommendation form, as schools fill it in.
#[derive(Debug, Clone)]
pub struct ExpertForm {
    pub name: String,
    pub gender: String,
    pub birth: String,
    pub ethnicity: String,
    pub politics: String,
    pub education: String,
    pub employer: String,
    pub post: String,
    pub title: String,
    pub category: String,
    pub phone: String,
    pub email: String,
    pub labels: Labels,
    /// A fifth column with a merged 照片 cell.
    pub photo: bool,
    /// `姓名：张三` in one cell instead of label | value.
    pub inline: bool,
}

impl ExpertForm {
    /// A complete form: male, born 1975.06, 教授, 电子与信息大类.
    pub fn new(name: &str, employer: &str) -> ExpertForm {
        ExpertForm {
            name: name.into(),
            gender: "男".into(),
            birth: "1975.06".into(),
            ethnicity: "汉族".into(),
            politics: "中共党员".into(),
            education: "研究生/硕士".into(),
            employer: employer.into(),
            post: "信息工程学院院长".into(),
            title: "教授".into(),
            category: "电子与信息大类".into(),
            phone: "13888123456".into(),
            email: "expert@school.edu.cn".into(),
            labels: Labels::Plain,
            photo: false,
            inline: false,
        }
    }

    pub fn birth(mut self, birth: &str) -> ExpertForm {
        self.birth = birth.into();
        self
    }

    pub fn title(mut self, title: &str) -> ExpertForm {
        self.title = title.into();
        self
    }

    pub fn labels(mut self, labels: Labels) -> ExpertForm {
        self.labels = labels;
        self
    }

    pub fn with_photo(mut self) -> ExpertForm {
        self.photo = true;
        self
    }

    pub fn inline(mut self) -> ExpertForm {
        self.inline = true;
        self
    }

    /// The label/value grid: six rows of `label | value | label | value`.
    fn grid(&self) -> [[(&'static str, &str); 2]; 6] {
        [
            [("姓名", &self.name), ("性别", &self.gender)],
            [("出生年月", &self.birth), ("民族", &self.ethnicity)],
            [("政治面貌", &self.politics), ("学历/学位", &self.education)],
            [("工作单位", &self.employer), ("职务", &self.post)],
            [("专业技术职称", &self.title), ("所属专业大类", &self.category)],
            [("手机", &self.phone), ("电子邮箱", &self.email)],
        ]
    }

    fn label_cell(&self, label: &str) -> Cell {
        let mut c = match self.labels {
            Labels::Padded => cell(&pad(label)),
            _ => cell(label),
        };
        c.br = self.labels == Labels::Breaks;
        c
    }

    /// The form as Word writes it: headings, the grid, the endorsement row.
    pub fn docx(&self) -> Vec<u8> {
        let mut rows: Vec<Vec<Cell>> = Vec::new();
        for (i, pairs) in self.grid().iter().enumerate() {
            let mut row = Vec::new();
            for (label, value) in pairs {
                if self.inline {
                    row.push(cell(&format!("{label}：{value}")));
                } else {
                    row.push(self.label_cell(label));
                    row.push(cell(value));
                }
            }
            if self.photo {
                if i == 0 {
                    let mut c = cell("照片");
                    c.vmerge = Some(true);
                    row.push(c);
                } else if i < 4 {
                    let mut c = cell("");
                    c.vmerge = Some(false);
                    row.push(c);
                } else if let Some(last) = row.last_mut() {
                    last.span = 2;
                }
            }
            rows.push(row);
        }
        let width = if self.inline { 2 } else { 4 } + u32::from(self.photo);
        let mut intro = cell("主要工作经历及业绩：1998年参加工作，长期从事职业教育教学与专业建设工作。");
        intro.span = width;
        rows.push(vec![intro]);
        let mut endorse = cell("推荐单位意见：同意推荐。（盖章）  2023年3月15日");
        endorse.span = width;
        rows.push(vec![endorse]);
        let body = format!(
            "{}{}{}{}",
            para_xml("附件2", false),
            para_xml("“1+X”证书制度试点工作专家组专家推荐表", false),
            table_xml(&rows),
            para_xml("", false)
        );
        docx(&body)
    }

    /// The form typed into a worksheet; the birth date as a real date cell when given.
    pub fn xlsx(&self, birth_cell: Option<(u16, u8, u8)>) -> Vec<u8> {
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        ws.set_name("专家推荐表").expect("sheet name");
        ws.write_string(0, 0, "附件2").expect("write");
        ws.write_string(1, 0, "“1+X”证书制度试点工作专家组专家推荐表").expect("write");
        let date_format = Format::new().set_num_format("yyyy.mm");
        for (i, pairs) in self.grid().iter().enumerate() {
            let row = 2 + i as u32;
            for (j, (label, value)) in pairs.iter().enumerate() {
                let col = 2 * j as u16;
                ws.write_string(row, col, *label).expect("write");
                match (birth_cell, *label) {
                    (Some((y, m, d)), "出生年月") => {
                        let date = ExcelDateTime::from_ymd(y, m, d).expect("date");
                        ws.write_datetime_with_format(row, col + 1, &date, &date_format).expect("write");
                    }
                    _ => {
                        ws.write_string(row, col + 1, *value).expect("write");
                    }
                }
            }
        }
        wb.save_to_buffer().expect("xlsx")
    }
}

/// 附件1, the lead institution application form.
#[derive(Debug, Clone)]
pub struct LeadForm {
    pub school: String,
    pub category: String,
    pub contact: String,
    pub phone: String,
    pub email: String,
}

impl LeadForm {
    pub fn new(school: &str, category: &str) -> LeadForm {
        LeadForm {
            school: school.into(),
            category: category.into(),
            contact: "刘俊".into(),
            phone: "0871-65123456".into(),
            email: "jwc@school.edu.cn".into(),
        }
    }

    pub fn docx(&self) -> Vec<u8> {
        let rows = vec![
            vec![cell("学校名称"), cell(&self.school), cell("学校类别"), cell("高职院校")],
            vec![cell("申报专业大类"), cell(&self.category), cell("是否“双高”院校"), cell("否")],
            vec![cell("联系人"), cell(&self.contact), cell("联系电话"), cell(&self.phone)],
            vec![cell("电子邮箱"), cell(&self.email), cell("传真"), cell("")],
        ];
        let body = format!(
            "{}{}{}",
            para_xml("附件1", false),
            para_xml("“1+X”证书制度试点工作牵头院校申请表", false),
            table_xml(&rows)
        );
        docx(&body)
    }
}

/// A report: paragraphs of text, no table.
pub fn report_docx(title: &str, paragraphs: &[&str]) -> Vec<u8> {
    let mut body = para_xml(title, false);
    for p in paragraphs {
        body.push_str(&para_xml(p, false));
    }
    docx(&body)
}

/// A birth date in a summary table: typed text, or a real Excel date cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Birth {
    Text(&'static str),
    Date(u16, u8, u8),
}

/// One row of 附件3.
#[derive(Debug, Clone)]
pub struct SummaryRow {
    pub name: &'static str,
    pub gender: &'static str,
    pub birth: Birth,
    pub title: &'static str,
    pub employer: &'static str,
}

const SUMMARY_HEADER: [&str; 6] = ["序号", "姓名", "性别", "出生年月", "职称", "工作单位"];

fn birth_text(b: Birth) -> String {
    match b {
        Birth::Text(t) => t.to_string(),
        Birth::Date(y, m, d) => format!("{y}-{m:02}-{d:02}"),
    }
}

/// 附件3 as a Word table (schools send it as `附件2.docx` too).
pub fn summary_docx(rows: &[SummaryRow]) -> Vec<u8> {
    let mut grid = vec![SUMMARY_HEADER.iter().map(|h| cell(h)).collect::<Vec<_>>()];
    for (i, r) in rows.iter().enumerate() {
        grid.push(vec![
            cell(&(i + 1).to_string()),
            cell(r.name),
            cell(r.gender),
            cell(&birth_text(r.birth)),
            cell(r.title),
            cell(r.employer),
        ]);
    }
    let body = format!(
        "{}{}{}",
        para_xml("附件3", false),
        para_xml("“1+X”证书制度试点工作专家组专家推荐汇总表", false),
        table_xml(&grid)
    );
    docx(&body)
}

/// 附件3 as a workbook: title rows first, the header row at row 4 (index 3).
pub fn summary_xlsx(school: &str, rows: &[SummaryRow]) -> Vec<u8> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "附件3").expect("write");
    ws.write_string(1, 0, "“1+X”证书制度试点工作专家组专家推荐汇总表").expect("write");
    ws.write_string(2, 0, format!("推荐单位（盖章）：{school}")).expect("write");
    for (j, h) in SUMMARY_HEADER.iter().enumerate() {
        ws.write_string(3, j as u16, *h).expect("write");
    }
    let date_format = Format::new().set_num_format("yyyy\"年\"m\"月\"");
    for (i, r) in rows.iter().enumerate() {
        let row = 4 + i as u32;
        ws.write_number(row, 0, (i + 1) as f64).expect("write");
        ws.write_string(row, 1, r.name).expect("write");
        ws.write_string(row, 2, r.gender).expect("write");
        match r.birth {
            Birth::Text(t) => {
                ws.write_string(row, 3, t).expect("write");
            }
            Birth::Date(y, m, d) => {
                let date = ExcelDateTime::from_ymd(y, m, d).expect("date");
                ws.write_datetime_with_format(row, 3, &date, &date_format).expect("write");
            }
        }
        ws.write_string(row, 4, r.title).expect("write");
        ws.write_string(row, 5, r.employer).expect("write");
    }
    let last = 4 + rows.len() as u32 + 1;
    ws.write_string(last, 0, "填表人：王老师    联系电话：0871-65123456").expect("write");
    wb.save_to_buffer().expect("xlsx")
}

// ---------------------------------------------------------------------------------------
// Archives

/// A zip written by the zip crate (deflated, UTF-8 flag set for non-ASCII names).
pub fn zip_archive(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        w.start_file(*name, opts).expect("zip entry");
        w.write_all(data).expect("zip write");
    }
    w.finish().expect("zip finish").into_inner()
}

/// A zip whose members are encrypted with a password (ZipCrypto, general purpose bit 0).
pub fn encrypted_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use zip::unstable::write::FileOptionsExt as _;
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .with_deprecated_encryption(b"123456")
        .expect("password");
    for (name, data) in entries {
        w.start_file(*name, opts).expect("zip entry");
        w.write_all(data).expect("zip write");
    }
    w.finish().expect("zip finish").into_inner()
}

/// How a member's name is stored in [`raw_zip`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberName {
    /// GBK bytes, no UTF-8 flag (Chinese Windows tools: 好压, 360压缩, WinRAR's zip).
    Gbk,
    /// UTF-8 bytes with the UTF-8 flag (general purpose bit 11).
    Utf8,
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

/// A stored (uncompressed) zip written byte by byte, so member names can be raw GBK.
pub fn raw_zip(entries: &[(&str, MemberName, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, how, data) in entries {
        let (name, flags): (Vec<u8>, u16) = match how {
            MemberName::Gbk => (gbk(name), 0),
            MemberName::Utf8 => (name.as_bytes().to_vec(), 1 << 11),
        };
        let offset = out.len() as u32;
        let crc = crc32(data);
        let size = data.len() as u32;
        // local file header
        out.extend(0x0403_4b50u32.to_le_bytes());
        out.extend(20u16.to_le_bytes()); // version needed
        out.extend(flags.to_le_bytes());
        out.extend(0u16.to_le_bytes()); // stored
        out.extend(0x5a80u16.to_le_bytes()); // time 11:20
        out.extend(0x566fu16.to_le_bytes()); // date 2023-03-15
        out.extend(crc.to_le_bytes());
        out.extend(size.to_le_bytes());
        out.extend(size.to_le_bytes());
        out.extend((name.len() as u16).to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out.extend(&name);
        out.extend_from_slice(data);
        // central directory header
        central.extend(0x0201_4b50u32.to_le_bytes());
        central.extend(20u16.to_le_bytes()); // made by (MS-DOS)
        central.extend(20u16.to_le_bytes());
        central.extend(flags.to_le_bytes());
        central.extend(0u16.to_le_bytes());
        central.extend(0x5a80u16.to_le_bytes());
        central.extend(0x566fu16.to_le_bytes());
        central.extend(crc.to_le_bytes());
        central.extend(size.to_le_bytes());
        central.extend(size.to_le_bytes());
        central.extend((name.len() as u16).to_le_bytes());
        central.extend(0u16.to_le_bytes()); // extra
        central.extend(0u16.to_le_bytes()); // comment
        central.extend(0u16.to_le_bytes()); // disk
        central.extend(0u16.to_le_bytes()); // internal attributes
        let external: u32 = if name.ends_with(b"/") { 0x10 } else { 0x20 };
        central.extend(external.to_le_bytes()); // MS-DOS directory / archive
        central.extend(offset.to_le_bytes());
        central.extend(&name);
    }
    let cd_offset = out.len() as u32;
    let cd_size = central.len() as u32;
    out.extend(central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend(cd_size.to_le_bytes());
    out.extend(cd_offset.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

/// Not a RAR anyone can open: the RAR 4 signature and some bytes.
pub fn fake_rar() -> Vec<u8> {
    let mut v = b"Rar!\x1a\x07\x00".to_vec();
    v.extend((0..200u32).map(|i| (i * 37 % 251) as u8));
    v
}

/// A .docx saved with a password: Office writes a compound file holding
/// `EncryptionInfo` and `EncryptedPackage` instead of a zip.
pub fn encrypted_docx() -> Vec<u8> {
    let mut cf = cfb::CompoundFile::create(Cursor::new(Vec::new())).expect("cfb");
    cf.create_stream("/EncryptionInfo").and_then(|mut s| s.write_all(&[4, 0, 4, 0, 0x40, 0, 0, 0])).expect("stream");
    cf.create_stream("/EncryptedPackage").and_then(|mut s| s.write_all(&[0x5a; 4096])).expect("stream");
    cf.flush().expect("flush");
    cf.into_inner().into_inner()
}

/// A real .docx cut off halfway, as an interrupted upload leaves it.
pub fn truncated_docx(whole: &[u8]) -> Vec<u8> {
    whole[..whole.len() / 2].to_vec()
}

/// Not a 7z anyone can open: the 7z signature and some bytes.
pub fn fake_7z() -> Vec<u8> {
    let mut v = b"7z\xbc\xaf\x27\x1c\x00\x04".to_vec();
    v.extend((0..200u32).map(|i| (i * 41 % 251) as u8));
    v
}

/// A .docx that is not one: the zip signature, then damage.
pub fn corrupt_docx() -> Vec<u8> {
    let mut v = b"PK\x03\x04\x14\x00\x06\x00\x08\x00".to_vec();
    v.extend((0..400u32).map(|i| (i * 13 % 256) as u8));
    v
}

// ---------------------------------------------------------------------------------------
// PDFs and images

/// A PDF from its objects (numbered from 1; object 1 is the catalog), with a correct xref.
pub fn pdf(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n", i + 1).into_bytes());
        out.extend_from_slice(body);
        out.extend(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).into_bytes());
    for o in offsets {
        out.extend(format!("{o:010} 00000 n \n").into_bytes());
    }
    out.extend(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).into_bytes(),
    );
    out
}

fn stream(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut v = format!("<< {dict} /Length {} >>\nstream\n", data.len()).into_bytes();
    v.extend_from_slice(data);
    v.extend(b"\nendstream");
    v
}

/// A stamped scan as a scanner app writes it: one A4 page holding one colour image, no
/// text; the image shows lines of print and the school's red ring seal.
pub fn scan_pdf() -> Vec<u8> {
    scan_pdf_with(None)
}

/// [`scan_pdf`] with one pixel set to `shade`, so two scans differ in content.
pub fn scan_pdf_shaded(shade: u8) -> Vec<u8> {
    scan_pdf_with(Some(shade))
}

/// A colour scan of the printed page without the school's seal.
pub fn unstamped_scan_pdf() -> Vec<u8> {
    page_pdf(stamped_page(124, 175, false))
}

fn scan_pdf_with(shade: Option<u8>) -> Vec<u8> {
    let mut pixels = stamped_page(124, 175, true);
    if let Some(s) = shade {
        pixels[0] = s;
    }
    page_pdf(pixels)
}

/// A one-page PDF of a 124×175 RGB picture.
fn page_pdf(pixels: Vec<u8>) -> Vec<u8> {
    let (w, h) = (124, 175);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&pixels).expect("deflate");
    let data = z.finish().expect("deflate");
    image_pdf(&format!("/Width {w} /Height {h} /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /FlateDecode"), &data)
}

/// A one-page A4 PDF whose page is one image XObject (`dict` without `/Length`, `data`).
pub fn image_pdf(dict: &str, data: &[u8]) -> Vec<u8> {
    images_pdf(&[(dict, data)])
}

/// An A4 PDF of one page per image XObject (`dict` without `/Length`, `data`), each drawn
/// over its whole page: object 1 the catalog, 2 the page tree, then a page, its content and
/// its image per page.
pub fn images_pdf(pages: &[(&str, &[u8])]) -> Vec<u8> {
    let kids: Vec<String> = (0..pages.len()).map(|p| format!("{} 0 R", 3 + 3 * p)).collect();
    let mut objects = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        format!("<< /Type /Pages /Kids [{}] /Count {} >>", kids.join(" "), pages.len()).into_bytes(),
    ];
    for (p, (dict, data)) in pages.iter().enumerate() {
        let (content, image) = (4 + 3 * p, 5 + 3 * p);
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im0 {image} 0 R >> >> /Contents {content} 0 R >>"
            )
            .into_bytes(),
        );
        objects.push(stream("", b"q 595 0 0 842 0 0 cm /Im0 Do Q"));
        objects.push(stream(&format!("/Type /XObject /Subtype /Image {dict}"), data));
    }
    pdf(&objects)
}

/// A scanned document as a scanner app writes it: one A4 page per JPEG (see
/// [`scanner_jpeg`]), each page only an image, no text.
pub fn jpeg_pages_pdf(jpegs: &[Vec<u8>]) -> Vec<u8> {
    const DICT: &str = "/Width 1240 /Height 1754 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /DCTDecode";
    let pages: Vec<(&str, &[u8])> = jpegs.iter().map(|j| (DICT, j.as_slice())).collect();
    images_pdf(&pages)
}

/// A JPEG as a scanner app writes it, made in microseconds at any size: the markers that
/// declare `width`×`height`, then `bytes` of random-looking entropy-coded data (no picture
/// to look at: for sizes and speed, not for seals).
pub fn scanner_jpeg(rng: &mut Rng, width: u16, height: u16, bytes: usize) -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
    v.extend(b"JFIF\0");
    v.extend([0x01, 0x01, 0x00, 0x00, 0x96, 0x00, 0x96, 0x00, 0x00]);
    v.extend([0xFF, 0xC0, 0x00, 0x0B, 0x08]);
    v.extend(height.to_be_bytes());
    v.extend(width.to_be_bytes());
    v.extend([0x01, 0x01, 0x11, 0x00]);
    v.extend([0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00]);
    // Entropy-coded data never holds a bare 0xFF.
    v.extend(rng.bytes(bytes).into_iter().map(|b| if b == 0xFF { 0xFE } else { b }));
    v.extend([0xFF, 0xD9]);
    v
}

/// RGB pixels of a printed page `w`×`h`: lines of print, a value in blue ink and, when `sealed`, a red ring
/// seal (a fifth of the page wide) in the lower right.
pub fn stamped_page(w: usize, h: usize, sealed: bool) -> Vec<u8> {
    let mut px = vec![248u8; w * h * 3];
    let mut put = |x: usize, y: usize, rgb: [u8; 3]| {
        if x < w && y < h {
            px[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&rgb);
        }
    };
    let line = (h / 200).max(1);
    for k in 0..10 {
        let y = h / 8 + k * h / 20;
        for x in w / 10..w * 9 / 10 {
            for d in 0..line {
                put(x, y + d, [30, 30, 30]);
            }
        }
    }
    // values written in by hand, in blue ink
    for x in w / 2..w * 8 / 10 {
        for d in 0..line + 1 {
            put(x, h / 8 + h / 40 + d, [40, 50, 150]);
        }
    }
    if sealed {
        let (cx, cy, r) = (w as f32 * 0.65, h as f32 * 0.7, w as f32 * 0.11);
        let thick = (r / 10.0).max(2.0) as usize;
        let steps = (r * 10.0) as usize;
        for k in 0..steps {
            let t = k as f32 / steps as f32 * std::f32::consts::TAU;
            for d in 0..thick {
                let rr = r - d as f32;
                put((cx + rr * t.cos()) as usize, (cy + rr * t.sin()) as usize, [215, 35, 40]);
            }
        }
    }
    px
}
/// A text PDF (a report saved as PDF): one page of lines in Helvetica.
pub fn text_pdf(lines: &[&str]) -> Vec<u8> {
    let mut content = String::from("BT /F1 12 Tf 72 770 Td 16 TL\n");
    for l in lines {
        let escaped = l.replace('\\', "\\\\").replace('(', "\\(").replace(')', "\\)");
        content.push_str(&format!("({escaped}) Tj T*\n"));
    }
    content.push_str("ET");
    pdf(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>".to_vec(),
        stream("", content.as_bytes()),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    ])
}

/// A JPEG as a phone camera sends it: a stamped page (see [`stamped_page`]).
pub fn jpeg(width: u16, height: u16) -> Vec<u8> {
    jpeg_of_size(width, height, 0)
}

/// A JPEG of a stamped page `width`×`height`, padded with comment segments to about `bytes`
/// bytes when it is smaller.
pub fn jpeg_of_size(width: u16, height: u16, bytes: u32) -> Vec<u8> {
    let pixels = stamped_page(width.into(), height.into(), true);
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 85)
        .encode(&pixels, width, height, jpeg_encoder::ColorType::Rgb)
        .expect("encode jpeg");
    let mut padded = out[..2].to_vec();
    let mut missing = (bytes as usize).saturating_sub(out.len());
    while missing > 0 {
        let n = missing.min(65_000);
        padded.extend([0xFF, 0xFE]);
        padded.extend(((n + 2) as u16).to_be_bytes());
        padded.extend((0..n).map(|i| b'a' + (i % 26) as u8));
        missing = missing.saturating_sub(n + 4);
    }
    padded.extend_from_slice(&out[2..]);
    padded
}

// ---------------------------------------------------------------------------------------
// Hostile content: small files that claim or expand to huge ones, cycles, odd names.

/// Writes deflate bits: numbers LSB-first, Huffman codes MSB-first (RFC 1951 §3.1.1).
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn put(&mut self, value: u32, count: u32) {
        self.acc |= u64::from(value) << self.n;
        self.n += count;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    fn code(&mut self, code: u32, len: u32) {
        let reversed = code.reverse_bits() >> (32 - len);
        self.put(reversed, len);
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// A raw deflate stream that inflates to `len` copies of `byte` (11 ≤ byte ≤ 244): one
/// dynamic-Huffman block where a 258-byte back-reference costs 2 bits, so about 1 KB of
/// stream per MB of output — the shape of a zip bomb, written in microseconds.
pub fn deflate_run(byte: u8, len: u64) -> Vec<u8> {
    assert!((11..=244).contains(&byte) && len > 0);
    let mut b = Bits { out: Vec::with_capacity((len / 1000) as usize + 64), acc: 0, n: 0 };
    b.put(1, 1); // BFINAL
    b.put(2, 2); // BTYPE = dynamic
    b.put(29, 5); // HLIT: 286 literal/length codes
    b.put(1, 5); // HDIST: 2 distance codes
    b.put(14, 4); // HCLEN: 18 code-length codes
    // Code-length code lengths in the RFC's order 16,17,18,0,8,7,9,6,10,5,11,4,12,3,13,2,14,1:
    // 18 → 1 bit ("0"), 1 → 2 bits ("10"), 2 → 2 bits ("11").
    for sym in [16u32, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1] {
        b.put(
            match sym {
                18 => 1,
                1 | 2 => 2,
                _ => 0,
            },
            3,
        );
    }
    let zeros = |b: &mut Bits, mut n: u32| {
        while n > 0 {
            let k = if n > 138 { if n - 138 < 11 { n - 11 } else { 138 } } else { n };
            b.code(0, 1);
            b.put(k - 11, 7);
            n -= k;
        }
    };
    // Literal/length lengths: `byte` → 2, 256 (end) → 2, 285 (length 258) → 1.
    zeros(&mut b, u32::from(byte));
    b.code(0b11, 2);
    zeros(&mut b, 255 - u32::from(byte));
    b.code(0b11, 2);
    zeros(&mut b, 28);
    b.code(0b10, 2);
    // Distance lengths: codes 0 and 1 → 1 bit each.
    b.code(0b10, 2);
    b.code(0b10, 2);
    // Canonical codes: 285 = "0", byte = "10", 256 = "11"; distance 1 = "0".
    b.code(0b10, 2);
    let rest = len - 1;
    for _ in 0..rest / 258 {
        b.code(0, 1);
        b.code(0, 1);
    }
    for _ in 0..rest % 258 {
        b.code(0b10, 2);
    }
    b.code(0b11, 2);
    b.finish()
}

/// One member of [`zip_members`], written as given: `data` is already compressed with
/// `method` (0 stored, 8 deflate); sizes and CRC are what the headers claim.
#[derive(Debug, Clone)]
pub struct ZipMember {
    pub name: String,
    pub method: u16,
    pub data: Vec<u8>,
    pub declared_size: u32,
    pub crc: u32,
    pub encrypted: bool,
}

impl ZipMember {
    /// A stored member with honest headers.
    pub fn stored(name: &str, data: &[u8]) -> ZipMember {
        ZipMember {
            name: name.into(),
            method: 0,
            data: data.to_vec(),
            declared_size: data.len() as u32,
            crc: crc32(data),
            encrypted: false,
        }
    }

    /// A deflated member inflating to `len` copies of `byte`, declaring `declared` bytes
    /// (the truth, or a lie). The CRC is left 0: a capped reader stops long before checking.
    pub fn bomb(name: &str, byte: u8, len: u64, declared: u32) -> ZipMember {
        ZipMember {
            name: name.into(),
            method: 8,
            data: deflate_run(byte, len),
            declared_size: declared,
            crc: 0,
            encrypted: false,
        }
    }
}

/// A zip written byte by byte from members exactly as given (UTF-8 names, flag set).
pub fn zip_members(members: &[ZipMember]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for m in members {
        let name = m.name.as_bytes();
        let flags: u16 = (1 << 11) | u16::from(m.encrypted);
        let offset = out.len() as u32;
        let header = |v: &mut Vec<u8>| {
            v.extend(20u16.to_le_bytes());
            v.extend(flags.to_le_bytes());
            v.extend(m.method.to_le_bytes());
            v.extend(0x5a80u16.to_le_bytes());
            v.extend(0x566fu16.to_le_bytes());
            v.extend(m.crc.to_le_bytes());
            v.extend((m.data.len() as u32).to_le_bytes());
            v.extend(m.declared_size.to_le_bytes());
            v.extend((name.len() as u16).to_le_bytes());
            v.extend(0u16.to_le_bytes());
        };
        out.extend(0x0403_4b50u32.to_le_bytes());
        header(&mut out);
        out.extend(name);
        out.extend(&m.data);
        central.extend(0x0201_4b50u32.to_le_bytes());
        central.extend(20u16.to_le_bytes());
        header(&mut central);
        central.extend(0u16.to_le_bytes()); // comment
        central.extend(0u16.to_le_bytes()); // disk
        central.extend(0u16.to_le_bytes()); // internal attributes
        central.extend(0x20u32.to_le_bytes());
        central.extend(offset.to_le_bytes());
        central.extend(name);
    }
    let cd_offset = out.len() as u32;
    let cd_size = central.len() as u32;
    out.extend(central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend(0u32.to_le_bytes());
    out.extend((members.len() as u16).to_le_bytes());
    out.extend((members.len() as u16).to_le_bytes());
    out.extend(cd_size.to_le_bytes());
    out.extend(cd_offset.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

const DOCX_TYPES: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"><Default Extension=\"xml\" ContentType=\"application/xml\"/></Types>";

/// A .docx whose `word/document.xml` inflates to `len` bytes of spaces, declaring `declared`.
pub fn docx_bomb(len: u64, declared: u32) -> Vec<u8> {
    zip_members(&[
        ZipMember::stored("[Content_Types].xml", DOCX_TYPES.as_bytes()),
        ZipMember::bomb("word/document.xml", b' ', len, declared),
    ])
}

fn xlsx_parts(sheet: ZipMember) -> Vec<u8> {
    let types = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"><Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/><Default Extension=\"xml\" ContentType=\"application/xml\"/><Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/><Override PartName=\"/xl/worksheets/sheet1.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/></Types>";
    let rels = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"xl/workbook.xml\"/></Relationships>";
    let workbook = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\"><sheets><sheet name=\"Sheet1\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>";
    let wb_rels = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"worksheets/sheet1.xml\"/></Relationships>";
    zip_members(&[
        ZipMember::stored("[Content_Types].xml", types.as_bytes()),
        ZipMember::stored("_rels/.rels", rels.as_bytes()),
        ZipMember::stored("xl/workbook.xml", workbook.as_bytes()),
        ZipMember::stored("xl/_rels/workbook.xml.rels", wb_rels.as_bytes()),
        sheet,
    ])
}

/// An .xlsx whose only sheet's XML inflates to `len` bytes of spaces, declaring `declared`.
pub fn xlsx_bomb(len: u64, declared: u32) -> Vec<u8> {
    xlsx_parts(ZipMember::bomb("xl/worksheets/sheet1.xml", b' ', len, declared))
}

/// A tiny .xlsx with two cells, in A1 and in the last cell Excel has (XFD1048576): a reader
/// that makes one dense grid of the used range asks for 17 billion cells.
pub fn xlsx_far_cells() -> Vec<u8> {
    let sheet = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><dimension ref=\"A1:XFD1048576\"/><sheetData><row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>姓名</t></is></c><c r=\"B1\" t=\"inlineStr\"><is><t>张三</t></is></c></row><row r=\"1048576\"><c r=\"XFD1048576\" t=\"inlineStr\"><is><t>far</t></is></c></row></sheetData></worksheet>";
    xlsx_parts(ZipMember::stored("xl/worksheets/sheet1.xml", sheet.as_bytes()))
}

/// A .xls (BIFF8 in a compound file) with a number in A1 and one in the last cell a BIFF8
/// record can name (row 65535, column 65535).
pub fn xls_far_cells() -> Vec<u8> {
    fn record(typ: u16, body: &[u8]) -> Vec<u8> {
        let mut v = typ.to_le_bytes().to_vec();
        v.extend((body.len() as u16).to_le_bytes());
        v.extend_from_slice(body);
        v
    }
    fn number(row: u16, col: u16, value: f64) -> Vec<u8> {
        let mut body = row.to_le_bytes().to_vec();
        body.extend(col.to_le_bytes());
        body.extend(0u16.to_le_bytes());
        body.extend(value.to_le_bytes());
        record(0x0203, &body)
    }
    let bof = |kind: u16| {
        let mut body = 0x0600u16.to_le_bytes().to_vec();
        body.extend(kind.to_le_bytes());
        body.extend([0u8; 12]);
        record(0x0809, &body)
    };
    let mut globals = bof(0x0005);
    globals.extend(record(0x0042, &1200u16.to_le_bytes())); // CODEPAGE
    let sheet_name = b"Sheet1";
    let boundsheet_len = 4 + 8 + 2 + sheet_name.len();
    let mut sheet = bof(0x0010);
    sheet.extend(number(0, 0, 1.0));
    sheet.extend(number(65535, 65535, 2.0));
    sheet.extend(record(0x000A, &[]));
    let sheet_pos = (globals.len() + boundsheet_len + 4) as u32;
    let mut bs = sheet_pos.to_le_bytes().to_vec();
    bs.extend([0u8, 0]); // visible worksheet
    bs.push(sheet_name.len() as u8);
    bs.push(0); // compressed (8-bit) characters
    bs.extend(sheet_name);
    globals.extend(record(0x0085, &bs));
    globals.extend(record(0x000A, &[]));
    let mut stream = globals;
    stream.extend(sheet);
    let mut cf = cfb::CompoundFile::create(Cursor::new(Vec::new())).expect("cfb");
    cf.create_stream("/Workbook").and_then(|mut s| s.write_all(&stream)).expect("stream");
    cf.flush().expect("flush");
    cf.into_inner().into_inner()
}

/// A PDF whose object graph loops: the page tree lists itself among its kids and is its own
/// parent, a page's parent chain loops, a form XObject draws itself, a `/Length` is a
/// reference to a reference to itself.
pub fn cyclic_pdf() -> Vec<u8> {
    let content = b"BT /F1 12 Tf 72 770 Td (cycle) Tj ET /Fm Do";
    let mut page_content = b"<< /Length 8 0 R >>\nstream\n".to_vec();
    page_content.extend_from_slice(content);
    page_content.extend(b"\nendstream");
    pdf(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R 2 0 R 7 0 R] /Count 3 /Parent 2 0 R >>".to_vec(),
        b"<< /Type /Page /Parent 7 0 R /MediaBox [0 0 595 842] /Resources 6 0 R /Contents 4 0 R >>".to_vec(),
        page_content,
        stream("/Type /XObject /Subtype /Form /BBox [0 0 10 10] /Resources << /XObject << /Fm 5 0 R >> >>", b"/Fm Do"),
        b"<< /XObject << /Fm 5 0 R /Loop 9 0 R >> /Font << /F1 10 0 R >> >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R 7 0 R] /Parent 7 0 R /Count 1 /Resources 6 0 R >>".to_vec(),
        b"9 0 R".to_vec(),
        b"8 0 R".to_vec(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
    ])
}

/// A one-page PDF whose streams claim gigabytes: an image of 100000×100000 pixels with a
/// `/Length` of 9999999999, and a FlateDecode content stream that inflates to `inflated`
/// bytes of spaces.
pub fn pdf_claiming_gigabytes(inflated: u64) -> Vec<u8> {
    let mut zlib = vec![0x78, 0x01];
    zlib.extend(deflate_run(b' ', inflated));
    zlib.extend([0, 0, 0, 0]);
    let mut image = b"<< /Type /XObject /Subtype /Image /Width 100000 /Height 100000 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Length 9999999999 >>\nstream\n".to_vec();
    image.extend([0x80u8; 64]);
    image.extend(b"\nendstream");
    pdf(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im0 5 0 R >> >> /Contents 4 0 R >>".to_vec(),
        stream("/Filter /FlateDecode", &zlib),
        image,
    ])
}

/// A text PDF encrypted with a user password (RC4 128-bit, as Acrobat's "require a password
/// to open" writes it).
pub fn encrypted_pdf() -> Vec<u8> {
    let mut doc = lopdf::Document::load_mem(&text_pdf(&["secret report"])).expect("pdf");
    let id = lopdf::Object::String(b"0123456789abcdef".to_vec(), lopdf::StringFormat::Hexadecimal);
    doc.trailer.set("ID", lopdf::Object::Array(vec![id.clone(), id]));
    let version = lopdf::EncryptionVersion::V2 {
        document: &doc,
        owner_password: "owner-pw",
        user_password: "123456",
        key_length: 128,
        permissions: lopdf::Permissions::all(),
    };
    let state = lopdf::EncryptionState::try_from(version).expect("encryption state");
    doc.encrypt(&state).expect("encrypt");
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("save");
    out
}

/// A scanned PDF of about `bytes` bytes: one page holding one image of that size.
pub fn big_scan_pdf(bytes: usize) -> Vec<u8> {
    let side = ((bytes as f64).sqrt() as usize).max(1);
    let pixels: Vec<u8> = (0..side * side).map(|i| (i % 251) as u8).collect();
    pdf(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im0 5 0 R >> >> /Contents 4 0 R >>".to_vec(),
        stream("", b"q 595 0 0 842 0 0 cm /Im0 Do Q"),
        stream(
            &format!("/Type /XObject /Subtype /Image /Width {side} /Height {side} /ColorSpace /DeviceGray /BitsPerComponent 8"),
            &pixels,
        ),
    ])
}

/// A message whose body is `depth` multiparts inside each other, with `inner` (a part's
/// headers and body) at the bottom.
pub fn nested_multipart(depth: usize, inner: &str) -> Vec<u8> {
    let mut out = String::from(
        "From: =?UTF-8?B?5pWZ5Yqh5aSE?= <jwc@school.edu.cn>\r\nTo: xfyh@ynedu.gov.cn\r\nSubject: =?UTF-8?B?5LiT5a625o6o6I2QK+aYhuaYjuWtpumZoivlvKDkuIk=?=\r\nDate: Wed, 15 Mar 2023 10:21:07 +0800\r\nMessage-ID: <nested@school.edu.cn>\r\nMIME-Version: 1.0\r\n",
    );
    for i in 0..depth {
        out.push_str(&format!("Content-Type: multipart/mixed; boundary=\"n{i}\"\r\n\r\n--n{i}\r\n"));
    }
    out.push_str(inner);
    out.push_str("\r\n");
    for i in (0..depth).rev() {
        out.push_str(&format!("--n{i}--\r\n"));
    }
    out.into_bytes()
}

/// A message that forwards a message that forwards a message … `depth` times.
pub fn nested_forwards(depth: usize) -> Vec<u8> {
    let mut out = String::from(
        "From: jwc@school.edu.cn\r\nTo: xfyh@ynedu.gov.cn\r\nSubject: Fwd\r\nMessage-ID: <fwd@school.edu.cn>\r\nMIME-Version: 1.0\r\n",
    );
    for i in 0..depth {
        out.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"f{i}\"\r\n\r\n--f{i}\r\nContent-Type: message/rfc822\r\n\r\nFrom: a{i}@school.edu.cn\r\nSubject: Fwd {i}\r\nMessage-ID: <f{i}@school.edu.cn>\r\n"
        ));
    }
    out.push_str("Content-Type: text/plain\r\n\r\nthe bottom\r\n");
    for i in (0..depth).rev() {
        out.push_str(&format!("--f{i}--\r\n"));
    }
    out.into_bytes()
}

/// A minimal Word 97-2003 `.doc`: a compound file whose `WordDocument` stream holds the FIB
/// and `text` as one UTF-16 piece (cell marks `\x07` and paragraph marks `\r` included), and
/// whose `0Table` stream holds the piece table.
pub fn word97_doc(text: &str) -> Vec<u8> {
    const TEXT_AT: usize = 0x400;
    let units: Vec<u16> = text.encode_utf16().collect();
    let mut word = vec![0u8; TEXT_AT];
    word[0..2].copy_from_slice(&0xA5ECu16.to_le_bytes());
    word[2..4].copy_from_slice(&0x00C1u16.to_le_bytes()); // nFib of Word 97
    for u in &units {
        word.extend(u.to_le_bytes());
    }
    let mut plc = Vec::new();
    plc.extend(0u32.to_le_bytes());
    plc.extend((units.len() as u32).to_le_bytes());
    plc.extend(0u16.to_le_bytes());
    plc.extend((TEXT_AT as u32).to_le_bytes()); // fc: UTF-16 text at this offset
    plc.extend(0u16.to_le_bytes());
    let mut table = vec![0x02];
    table.extend((plc.len() as u32).to_le_bytes());
    table.extend(plc);
    word[0x01A2..0x01A6].copy_from_slice(&0u32.to_le_bytes()); // fcClx
    word[0x01A6..0x01AA].copy_from_slice(&(table.len() as u32).to_le_bytes()); // lcbClx
    let mut cf = cfb::CompoundFile::create(Cursor::new(Vec::new())).expect("cfb");
    cf.create_stream("/WordDocument").and_then(|mut s| s.write_all(&word)).expect("stream");
    cf.create_stream("/0Table").and_then(|mut s| s.write_all(&table)).expect("stream");
    cf.flush().expect("flush");
    cf.into_inner().into_inner()
}
