//! The web view for tests: a store filled by the daemon from the demo's sample mails (the
//! embedded default: Maildir in, `.eml` replies out, no mail server), users made with
//! `mail-intake web hash-password`, and `mail-intake web` on a free port as a child process.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::mail_intake;

pub const ADMIN: (&str, &str) = ("clerk", "correct horse battery");
pub const READER: (&str, &str) = ("reader", "read only please");

/// An argon2 hash made by the binary.
pub fn hash(password: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mail-intake"))
        .args(["web", "hash-password"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(password.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Runs the demo into `dir/demo` (the daemon judges the ten sample mails) and adds `[web]`
/// with two users; returns the configuration file.
pub fn demo_store(dir: &Path) -> PathBuf {
    let work = dir.join("demo");
    let out = mail_intake(&["demo", "--dir", work.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let config = work.join("mail-intake.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "\n[web]\nlisten = \"127.0.0.1:0\"\n\n[[web.users]]\nname = \"{}\"\nrole = \"admin\"\npassword_hash = \"{}\"\n\n[[web.users]]\nname = \"{}\"\nrole = \"read\"\npassword_hash = \"{}\"\n",
        ADMIN.0,
        hash(ADMIN.1),
        READER.0,
        hash(READER.1)
    ));
    std::fs::write(&config, text).unwrap();
    config
}

/// `mail-intake web` as a child process.
pub struct WebServer {
    child: Child,
    /// `127.0.0.1:PORT`
    pub addr: String,
    pub log: PathBuf,
}

impl WebServer {
    /// Starts `mail-intake web -c CONFIG --listen 127.0.0.1:0` and waits for its address.
    pub fn start(config: &Path) -> WebServer {
        let log = config.with_file_name("web.log");
        let err = std::fs::File::create(&log).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_mail-intake"))
            .args(["web", "-c", config.to_str().unwrap(), "--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(err)
            .spawn()
            .expect("start mail-intake web");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap_or_else(|| {
                panic!("no address in {line:?}; log:\n{}", std::fs::read_to_string(&log).unwrap_or_default())
            })
            .to_string();
        WebServer { child, addr, log }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn client(&self) -> super::http::Client {
        super::http::Client::new(&self.addr)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether the process is still running (it must never die of a request).
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for WebServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
