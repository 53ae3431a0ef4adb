//! Laying a computed [`Digest`] out: text and HTML from minijinja templates compiled into
//! the binary (the layout follows the struct's shape; every campaign word comes from
//! `rules/`), and the email (multipart: text + HTML, the register as `.xlsx`).

use chrono::NaiveDate;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart};

use super::{Digest, DigestError};
use crate::rules::Rules;

const TEXT_TEMPLATE: &str = include_str!("digest.txt");
const HTML_TEMPLATE: &str = include_str!("digest.html");
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn environment() -> Result<minijinja::Environment<'static>, DigestError> {
    let mut env = minijinja::Environment::new();
    let mut syntax = minijinja::syntax::SyntaxConfig::builder();
    syntax.trim_blocks(true).lstrip_blocks(true);
    env.set_syntax(syntax.build().map_err(|source| DigestError::Template { name: "syntax", source })?);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_template("digest.txt", TEXT_TEMPLATE)
        .map_err(|source| DigestError::Template { name: "digest.txt", source })?;
    env.add_template("digest.html", HTML_TEMPLATE)
        .map_err(|source| DigestError::Template { name: "digest.html", source })?;
    Ok(env)
}

fn render(d: &Digest, name: &'static str) -> Result<String, DigestError> {
    let env = environment()?;
    env.get_template(name)
        .and_then(|t| t.render(minijinja::Value::from(minijinja::value::Serde(d))))
        .map_err(|source| DigestError::Template { name, source })
}

/// The plain-text digest (also what `mail-intake digest --text` prints).
pub fn render_text(d: &Digest) -> Result<String, DigestError> {
    render(d, "digest.txt")
}

/// The HTML digest: tables with inline styles only, no scripts and no external resources,
/// laid out for 600–800 px (what mail clients show).
pub fn render_html(d: &Digest) -> Result<String, DigestError> {
    render(d, "digest.html")
}

/// The deterministic Message-ID of the digest of a date: `<digest.DATE@office-domain>`.
pub fn message_id(date: NaiveDate, from: &str) -> String {
    let domain = crate::reply::transport::bare(from).rsplit_once('@').map(|(_, d)| d.trim()).unwrap_or("");
    let domain = if domain.is_empty() { "mail-intake.invalid" } else { domain };
    format!("<digest.{date}@{domain}>")
}

/// The name of the register attached to the digest of a date.
pub fn attachment_name(date: &str) -> String {
    format!("登记表-{date}.xlsx")
}

/// The digest as an email: multipart/mixed (alternative (text, HTML), the register as
/// `.xlsx`), from the office to `to`, marked `Auto-Submitted: auto-generated`.
/// Returns (Message-ID, raw bytes).
pub fn build_email(
    d: &Digest,
    rules: &Rules,
    from: &str,
    to: &[String],
    xlsx: Vec<u8>,
) -> Result<(String, Vec<u8>), DigestError> {
    if to.is_empty() {
        return Err(DigestError::NoRecipients);
    }
    let date = NaiveDate::parse_from_str(&d.date, "%Y-%m-%d").map_err(|e| DigestError::Build(format!("date: {e}")))?;
    let mut d = d.clone();
    let file_name = attachment_name(&d.date);
    d.attachment = Some(file_name.clone());
    let text = render_text(&d)?;
    let html = render_html(&d)?;
    let office: Mailbox = from.parse().map_err(|e| DigestError::Build(format!("from address {from}: {e}")))?;
    let id = message_id(date, from);
    let deadline = match d.days_to_deadline {
        Some(n) if n > 0 => format!("（距截止 {n} 天）"),
        Some(0) => "（今天截止）".into(),
        Some(n) => format!("（已过截止 {} 天）", -n),
        None => String::new(),
    };
    let subject = format!("收件日报 {} · {}{deadline}", d.date, d.campaign);
    let mut builder = lettre::Message::builder()
        .from(office)
        .subject(subject)
        .message_id(Some(id.clone()))
        .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("Auto-Submitted"), "auto-generated".into()))
        .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("X-Auto-Response-Suppress"), "All".into()))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii(rules.automatic.own_header.clone())
                .unwrap_or_else(|_| HeaderName::new_from_ascii_str("X-Mail-Intake")),
            format!("digest; {}", d.date),
        ));
    for t in to {
        let mailbox: Mailbox = t.parse().map_err(|e| DigestError::Build(format!("recipient {t}: {e}")))?;
        builder = builder.to(mailbox);
    }
    let content_type = ContentType::parse(XLSX).map_err(|e| DigestError::Build(e.to_string()))?;
    let msg = builder
        .multipart(
            MultiPart::mixed()
                .multipart(MultiPart::alternative_plain_html(text, html))
                .singlepart(Attachment::new(file_name).body(xlsx, content_type)),
        )
        .map_err(|e| DigestError::Build(e.to_string()))?;
    Ok((id, msg.formatted()))
}
