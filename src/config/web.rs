//! `[web]` in the configuration: where the web view listens, its users (argon2 hashes, in the
//! configuration or a users file) and cookie policy. Off unless `listen` is set.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Look at everything, change nothing.
    Read,
    /// Also run the actions (re-judge, resend, suppress, release).
    Admin,
}

/// One `[[web.users]]` entry as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUser {
    pub name: String,
    #[serde(default = "d_role")]
    pub role: String,
    pub password_hash: String,
}

fn d_role() -> String {
    "read".into()
}

/// `[web]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWeb {
    /// `127.0.0.1:8025`; empty: no web view.
    #[serde(default)]
    pub listen: String,
    #[serde(default)]
    pub secure_cookies: bool,
    #[serde(default)]
    pub session_ttl: Option<String>,
    #[serde(default)]
    pub users_file: String,
    #[serde(default)]
    pub users: Vec<RawUser>,
}

/// A file of users: `[[users]]` entries.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    #[serde(default)]
    users: Vec<RawUser>,
}

/// A user who may log in.
#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub role: Role,
    /// PHC string (`$argon2id$…`); never shown.
    pub password_hash: String,
}

/// The validated `[web]`.
#[derive(Debug, Clone)]
pub struct WebConfig {
    pub listen: Option<SocketAddr>,
    pub secure_cookies: bool,
    pub session_ttl: Duration,
    pub users: Vec<User>,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            listen: None,
            secure_cookies: false,
            session_ttl: Duration::from_secs(12 * 3600),
            users: Vec::new(),
        }
    }
}

impl WebConfig {
    /// Checks `[web]`, adding every problem to `problems`.
    pub fn validate(raw: RawWeb, base: &Path, problems: &mut Vec<String>) -> WebConfig {
        let mut out = WebConfig { secure_cookies: raw.secure_cookies, ..WebConfig::default() };
        if !raw.listen.trim().is_empty() {
            match raw.listen.trim().parse::<SocketAddr>() {
                Ok(a) => out.listen = Some(a),
                Err(_) => problems.push(format!(
                    "[web] listen = \"{}\" is not an address and port (e.g. \"127.0.0.1:8025\")",
                    raw.listen
                )),
            }
        }
        if let Some(ttl) = &raw.session_ttl {
            match crate::config::parse_duration(ttl) {
                Some(d) if d >= Duration::from_secs(60) => out.session_ttl = d,
                _ => problems.push(format!("[web] session_ttl = \"{ttl}\" is not a duration of a minute or more")),
            }
        }
        let mut users = raw.users;
        if !raw.users_file.is_empty() {
            let path = base.join(&raw.users_file);
            match std::fs::read_to_string(&path) {
                Ok(text) => match toml::from_str::<UsersFile>(&text) {
                    Ok(f) => users.extend(f.users),
                    Err(e) => problems.push(format!("[web] users_file {}: {e}", path.display())),
                },
                Err(e) => problems.push(format!("[web] users_file: cannot read {}: {e}", path.display())),
            }
        }
        for u in users {
            let role = match u.role.as_str() {
                "admin" => Role::Admin,
                "read" => Role::Read,
                other => {
                    problems.push(format!("[web] user {}: role \"{other}\" is neither \"admin\" nor \"read\"", u.name));
                    continue;
                }
            };
            if u.name.trim().is_empty() || u.name.chars().any(char::is_control) {
                problems.push("[web] a user has an empty or unprintable name".into());
                continue;
            }
            if argon2::PasswordHash::new(&u.password_hash).is_err() {
                problems.push(format!(
                    "[web] user {}: password_hash is not an argon2 hash; make one with `mail-intake web hash-password`",
                    u.name
                ));
                continue;
            }
            if out.users.iter().any(|x: &User| x.name == u.name) {
                problems.push(format!("[web] user {} is listed twice", u.name));
                continue;
            }
            out.users.push(User { name: u.name, role, password_hash: u.password_hash });
        }
        if out.listen.is_some() && out.users.is_empty() {
            problems.push(
                "[web] listen is set but no user may log in: add [[web.users]] (hash with `mail-intake web hash-password`)"
                    .into(),
            );
        }
        out
    }
}
