//! Headless Chromium driven over the DevTools protocol (a WebSocket, `tungstenite`): start the
//! browser from the operating system's package (`chromium`), open a page, run JavaScript in
//! it, wait for navigations, allow downloads into a folder, take screenshots.
//!
//! Chromium missing: the test is skipped loudly, or FAILS when `CI=true` (`.ci/run` installs
//! it: `apt-get install chromium fonts-noto-cjk`).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// The Chromium binary, if installed.
pub fn chromium() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"] {
        for dir in std::env::var("PATH").unwrap_or_default().split(':') {
            let p = Path::new(dir).join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// A running headless browser with one page attached.
pub struct Browser {
    child: Child,
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    session: String,
    next_id: u64,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts Chromium (1366×768, a fresh profile) and opens a blank page.
    pub fn start(binary: &Path) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let child = Command::new(binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "--window-size=1366,768",
                "--lang=zh-CN",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromium");
        // Chromium writes its port and the browser's WebSocket path into the profile.
        let file = profile.path().join("DevToolsActivePort");
        let deadline = Instant::now() + Duration::from_secs(60);
        let text = loop {
            if let Ok(t) = std::fs::read_to_string(&file)
                && t.lines().count() >= 2
            {
                break t;
            }
            assert!(Instant::now() < deadline, "chromium did not open its DevTools port");
            std::thread::sleep(Duration::from_millis(100));
        };
        let mut lines = text.lines();
        let port = lines.next().unwrap().trim().to_string();
        let path = lines.next().unwrap().trim().to_string();
        let (ws, _) = tungstenite::connect(format!("ws://127.0.0.1:{port}{path}")).expect("connect to DevTools");
        let mut b = Browser { child, ws, session: String::new(), next_id: 0, _profile: profile };
        let target = b.call(None, "Target.createTarget", json!({ "url": "about:blank" }));
        let target_id = target["targetId"].as_str().unwrap().to_string();
        let attached = b.call(None, "Target.attachToTarget", json!({ "targetId": target_id, "flatten": true }));
        b.session = attached["sessionId"].as_str().unwrap().to_string();
        let session = b.session.clone();
        b.call(Some(&session), "Page.enable", json!({}));
        b.call(
            Some(&session),
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": 1366, "height": 768, "deviceScaleFactor": 1, "mobile": false }),
        );
        b
    }

    /// One DevTools command; returns its result (events in between are skipped).
    pub fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.ws.send(Message::text(msg.to_string())).expect("send to DevTools");
        loop {
            let m = self.ws.read().expect("read from DevTools");
            let Message::Text(t) = m else { continue };
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            if v["id"].as_u64() == Some(id) {
                assert!(v.get("error").is_none(), "{method}: {}", v["error"]);
                return v["result"].clone();
            }
        }
    }

    fn page(&mut self, method: &str, params: Value) -> Value {
        let s = self.session.clone();
        self.call(Some(&s), method, params)
    }

    /// Evaluates JavaScript in the page (promises awaited); returns its value.
    pub fn eval(&mut self, js: &str) -> Value {
        let r = self.page("Runtime.evaluate", json!({ "expression": js, "returnByValue": true, "awaitPromise": true }));
        assert!(r.get("exceptionDetails").is_none(), "{js}: {}", r["exceptionDetails"]);
        r["result"]["value"].clone()
    }

    fn document_id(&mut self) -> String {
        // A new document gets a new time origin.
        format!("{}|{}", self.eval("performance.timeOrigin"), self.eval("location.href"))
    }

    fn wait_loaded(&mut self, before: Option<String>) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = self.eval("document.readyState") == "complete";
            let moved = before.as_ref().is_none_or(|b| *b != self.document_id());
            if ready && moved {
                return;
            }
            assert!(Instant::now() < deadline, "the page did not load");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Opens `url` and waits until it has loaded.
    pub fn goto(&mut self, url: &str) {
        let before = self.document_id();
        self.page("Page.navigate", json!({ "url": url }));
        self.wait_loaded(Some(before));
    }

    /// Runs `js` (which clicks or submits) and waits for the next page to load.
    pub fn and_wait(&mut self, js: &str) {
        let before = self.document_id();
        self.eval(js);
        self.wait_loaded(Some(before));
    }

    /// The current path and query.
    pub fn path(&mut self) -> String {
        self.eval("location.pathname + location.search").as_str().unwrap_or_default().to_string()
    }

    pub fn text(&mut self) -> String {
        self.eval("document.body.innerText").as_str().unwrap_or_default().to_string()
    }

    /// Downloads go into `dir`.
    pub fn allow_downloads(&mut self, dir: &Path) {
        self.call(
            None,
            "Browser.setDownloadBehavior",
            json!({ "behavior": "allow", "downloadPath": dir.to_str().unwrap() }),
        );
    }

    /// A PNG of the viewport.
    pub fn screenshot(&mut self) -> Vec<u8> {
        use base64::Engine as _;
        let r = self.page("Page.captureScreenshot", json!({ "format": "png" }));
        base64::engine::general_purpose::STANDARD.decode(r["data"].as_str().unwrap()).unwrap()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
