//! The scan's text (cargo feature `ocr`): a scan page read by the operating system's
//! Tesseract with its Simplified Chinese model (`tesseract-ocr`, `tesseract-ocr-chi-sim`), run
//! as a process with a time limit. Without the feature, or without `tesseract` installed,
//! nothing is read and everything else works.
//!
//! Only the first [`MAX_PICTURES`] pictures of a file are read (the form's title, the expert's
//! name and the school are on its first page), each shrunk to [`OCR_SIDE`] pixels a side.

use std::cell::RefCell;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Longest side of the grey picture handed to Tesseract.
pub const OCR_SIDE: usize = 2000;
/// Pictures read per file.
pub const MAX_PICTURES: usize = 2;
/// Time one Tesseract run may take.
pub const TIMEOUT: Duration = Duration::from_secs(30);
const MAX_CHARS: usize = 4000;

thread_local! {
    static TEXT: RefCell<Option<(usize, String)>> = const { RefCell::new(None) };
}

/// Starts collecting text for one file on this thread.
pub fn begin() {
    TEXT.with(|t| *t.borrow_mut() = Some((0, String::new())));
}

/// The text collected since [`begin`] (`None` when nothing was read).
pub fn take() -> Option<String> {
    TEXT.with(|t| t.borrow_mut().take()).map(|(_, s)| s).filter(|s| !s.trim().is_empty())
}

/// Whether another picture of this file should be read.
pub fn wanted() -> bool {
    TEXT.with(|t| t.borrow().as_ref().is_some_and(|(n, _)| *n < MAX_PICTURES))
}

/// Reads grey pixels (`width`×`height`, one byte each) and adds their text to this file's.
pub fn read_into(pixels: &[u8], width: usize, height: usize) {
    let text = read(pixels, width, height).unwrap_or_default();
    TEXT.with(|t| {
        if let Some((n, s)) = t.borrow_mut().as_mut() {
            *n += 1;
            if s.chars().count() < MAX_CHARS {
                s.push_str(&text);
                s.push('\n');
            }
        }
    });
}

/// Runs Tesseract on one grey picture; `None` when it is missing, fails or takes too long.
pub fn read(pixels: &[u8], width: usize, height: usize) -> Option<String> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let path = std::env::temp_dir().join(format!(
        "mail-intake-ocr-{}-{}.pgm",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let mut file = std::fs::File::create(&path).ok()?;
    let written = file
        .write_all(format!("P5\n{width} {height}\n255\n").as_bytes())
        .and_then(|_| file.write_all(&pixels[..(width * height).min(pixels.len())]));
    drop(file);
    let result = written.ok().and_then(|_| run(&path));
    let _ = std::fs::remove_file(&path);
    result
}

fn run(path: &std::path::Path) -> Option<String> {
    let mut child = Command::new("tesseract")
        .arg(path)
        .arg("stdout")
        .args(["-l", "chi_sim", "--psm", "3"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => break,
            Ok(Some(_)) => return None,
            Ok(None) if started.elapsed() > TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                tracing::warn!(stage = "ocr", "tesseract took longer than {} s: stopped", TIMEOUT.as_secs());
                return None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => return None,
        }
    }
    let out = child.stdout.take()?;
    let bytes = crate::limits::read_capped(out, 1 << 20).ok()?;
    let text: String = String::from_utf8_lossy(&bytes).chars().filter(|c| !c.is_whitespace() || *c == '\n').collect();
    Some(crate::text::clip(text.trim(), MAX_CHARS))
}

/// Grey pixels at [`OCR_SIDE`] from decoded samples (`channels` 1 or 3).
pub fn grey(data: &[u8], width: usize, height: usize, channels: usize) -> (Vec<u8>, usize, usize) {
    let f = width.max(height).div_ceil(OCR_SIDE).max(1);
    let (ow, oh) = ((width / f).max(1), (height / f).max(1));
    let mut out = Vec::with_capacity(ow * oh);
    for oy in 0..oh {
        for ox in 0..ow {
            let i = ((oy * f) * width + ox * f) * channels;
            let v = if channels >= 3 {
                (u16::from(data[i]) + u16::from(data[i + 1]) + u16::from(data[i + 2])) / 3
            } else {
                u16::from(data[i])
            };
            out.push(v as u8);
        }
    }
    (out, ow, oh)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grey_halves_a_big_picture() {
        let data = vec![90u8; 4000 * 10 * 3];
        let (g, w, h) = grey(&data, 4000, 10, 3);
        assert_eq!((w, h, g.len()), (2000, 5, 10_000));
        assert!(g.iter().all(|&v| v == 90));
    }

    #[test]
    fn only_the_first_pictures_are_wanted() {
        begin();
        assert!(wanted());
        TEXT.with(|t| {
            if let Some((n, _)) = t.borrow_mut().as_mut() {
                *n = MAX_PICTURES;
            }
        });
        assert!(!wanted());
        assert_eq!(take(), None);
        assert!(!wanted());
    }
}
