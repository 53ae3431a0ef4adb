//! A small HTTP/1.1 client for tests of the web view: one request per connection, cookies
//! kept by hand, chunked bodies decoded. Nothing is followed automatically.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

/// A response as received.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// Header names lowercased; repeated headers joined with `\n`.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// Every `Set-Cookie` value.
    pub fn set_cookies(&self) -> Vec<&str> {
        self.header("set-cookie").map(|v| v.split('\n').collect()).unwrap_or_default()
    }
}

/// A client for one server, with a cookie jar.
pub struct Client {
    pub addr: String,
    pub cookies: BTreeMap<String, String>,
    /// Extra headers on every request.
    pub extra: Vec<(String, String)>,
}

fn decode_chunked(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = body.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&body[..end]).split(';').next().unwrap().trim(), 16)
            .unwrap_or(0);
        body = &body[end + 2..];
        if size == 0 || body.len() < size {
            break;
        }
        out.extend_from_slice(&body[..size]);
        body = &body[(size + 2).min(body.len())..];
    }
    out
}

impl Client {
    /// `addr` is `host:port`.
    pub fn new(addr: &str) -> Client {
        Client { addr: addr.to_string(), cookies: BTreeMap::new(), extra: Vec::new() }
    }

    /// Sends raw request bytes (the target may be anything, even malformed).
    pub fn raw(&mut self, method: &str, target: &str, body: Option<(&str, &[u8])>) -> Response {
        let mut s = TcpStream::connect(&self.addr).expect("connect to the web view");
        s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
        let mut req = format!("{method} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n", self.addr);
        if !self.cookies.is_empty() {
            let c: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            req.push_str(&format!("Cookie: {}\r\n", c.join("; ")));
        }
        for (k, v) in &self.extra {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some((ctype, b)) = body {
            req.push_str(&format!("Content-Type: {ctype}\r\nContent-Length: {}\r\n", b.len()));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).unwrap();
        if let Some((_, b)) = body {
            s.write_all(b).unwrap();
        }
        let all = mail_intake::limits::read_capped(&mut s, 1 << 30).expect("read the response");
        let split = all.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete response head");
        let head = String::from_utf8_lossy(&all[..split]).into_owned();
        let mut lines = head.split("\r\n");
        let status: u16 = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
        let mut headers: BTreeMap<String, String> = BTreeMap::new();
        for l in lines {
            if let Some((k, v)) = l.split_once(':') {
                let k = k.trim().to_ascii_lowercase();
                let v = v.trim().to_string();
                headers
                    .entry(k)
                    .and_modify(|x| {
                        x.push('\n');
                        x.push_str(&v)
                    })
                    .or_insert(v);
            }
        }
        let mut body = all[split + 4..].to_vec();
        if headers.get("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
            body = decode_chunked(&body);
        }
        let r = Response { status, headers, body };
        for c in r.set_cookies() {
            let pair = c.split(';').next().unwrap_or("");
            if let Some((k, v)) = pair.split_once('=') {
                if v.is_empty() || c.contains("Max-Age=0") {
                    self.cookies.remove(k.trim());
                } else {
                    self.cookies.insert(k.trim().to_string(), v.to_string());
                }
            }
        }
        r
    }

    pub fn get(&mut self, target: &str) -> Response {
        self.raw("GET", target, None)
    }

    /// A form POST (`pairs` URL-encoded).
    pub fn post(&mut self, target: &str, pairs: &[(&str, &str)]) -> Response {
        let body = pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&");
        self.raw("POST", target, Some(("application/x-www-form-urlencoded", body.as_bytes())))
    }

    /// Logs in through the form; returns the final response of the POST.
    pub fn login(&mut self, user: &str, password: &str) -> Response {
        let form = self.get("/login");
        let token = hidden(&form.text(), "csrf").expect("the login form has a CSRF field");
        self.post("/login", &[("csrf", &token), ("user", user), ("password", password), ("next", "/")])
    }
}

/// URL-encodes a form value.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The value of the hidden input `name` in a page.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let key = format!("name=\"{name}\" value=\"");
    let start = html.find(&key)? + key.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_string())
}
