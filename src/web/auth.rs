//! Who may look and who may act: argon2 password hashes, in-memory sessions behind an
//! `HttpOnly; SameSite=Strict` cookie (`Secure` with `[web] secure_cookies`), a CSRF token per
//! session checked on every POST, and login slowing per client address.
//!
//! Slowing, not locking: after a few failures from one address every further attempt from it
//! waits (up to [`MAX_DELAY`]) before its password is checked, and at most
//! [`MAX_IN_FLIGHT`] attempts per address are checked at once (the rest are answered 429 at
//! once, costing no hashing). The right password still works, so the real user is never
//! locked out; failures are logged (the first few, then at powers of two).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::{Argon2, PasswordHasher as _, PasswordVerifier as _};

use super::config::{Role, User};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "mi_session";
/// The login form's CSRF cookie (set before there is a session).
pub const LOGIN_COOKIE: &str = "mi_login";
/// Failures from one address before attempts are slowed.
pub const FREE_FAILURES: u32 = 5;
/// The longest wait before a password is checked.
pub const MAX_DELAY: Duration = Duration::from_secs(2);
/// Login attempts from one address checked at the same time.
pub const MAX_IN_FLIGHT: u32 = 4;
/// Addresses remembered before the quiet ones are forgotten.
const MAX_ADDRESSES: usize = 10_000;
/// Failures are forgotten this long after the last one.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);

/// A fresh random token (32 bytes, hex).
pub fn token() -> String {
    let mut b = [0u8; 32];
    if getrandom::fill(&mut b).is_err() {
        // No OS randomness is no session at all: an unguessable token cannot be made.
        tracing::error!(stage = "web", "the operating system gave no random bytes; refusing to make a session");
        return String::new();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Constant-time comparison of two tokens.
pub fn same_token(a: &str, b: &str) -> bool {
    if a.is_empty() || a.len() != b.len() {
        return false;
    }
    a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An argon2id hash (PHC string) of `password`.
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(|e| e.to_string())
}

/// A hash nobody's password matches, checked for unknown user names so that they cost the
/// same time as known ones.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0mVq8DMoKZyBU3TgeeOnuMdI8RGLmM1cJfS0DGrnoFQ";

/// The user named `name` if `password` is theirs. Slow on purpose (argon2).
pub fn check_password<'u>(users: &'u [User], name: &str, password: &str) -> Option<&'u User> {
    let user = users.iter().find(|u| u.name == name);
    let hash = user.map(|u| u.password_hash.as_str()).unwrap_or(DUMMY_HASH);
    let ok = Argon2::default().verify_password(password.as_bytes(), hash).is_ok();
    user.filter(|_| ok)
}

/// One logged-in user.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub user: String,
    pub role: Role,
    /// Every POST carries this.
    pub csrf: String,
    expires: Instant,
}

impl Session {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// The sessions of this process (a restart logs everybody out).
pub struct Sessions {
    map: Mutex<HashMap<String, (Session, Option<String>)>>,
    ttl: Duration,
}

impl Sessions {
    pub fn new(ttl: Duration) -> Sessions {
        Sessions { map: Mutex::new(HashMap::new()), ttl }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Starts a session; `None` when no random token could be made.
    pub fn create(&self, user: &User) -> Option<Session> {
        let (t, csrf) = (token(), token());
        if t.is_empty() || csrf.is_empty() {
            return None;
        }
        let s =
            Session { token: t, user: user.name.clone(), role: user.role, csrf, expires: Instant::now() + self.ttl };
        let mut map = self.map.lock().ok()?;
        let now = Instant::now();
        map.retain(|_, (s, _)| s.expires > now);
        map.insert(s.token.clone(), (s.clone(), None));
        Some(s)
    }

    /// The live session with this token.
    pub fn get(&self, token: &str) -> Option<Session> {
        let map = self.map.lock().ok()?;
        map.get(token).map(|(s, _)| s.clone()).filter(|s| s.expires > Instant::now())
    }

    pub fn remove(&self, token: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(token);
        }
    }

    /// A message shown once on the next page.
    pub fn set_flash(&self, token: &str, message: String) {
        if let Ok(mut map) = self.map.lock()
            && let Some((_, flash)) = map.get_mut(token)
        {
            *flash = Some(message);
        }
    }

    pub fn take_flash(&self, token: &str) -> Option<String> {
        self.map.lock().ok()?.get_mut(token).and_then(|(_, f)| f.take())
    }
}

#[derive(Debug, Default)]
struct Attempts {
    failures: u32,
    last: Option<Instant>,
    in_flight: u32,
}

/// Login failures per client address.
#[derive(Debug, Default)]
pub struct Limiter {
    map: Mutex<HashMap<IpAddr, Attempts>>,
}

/// What the limiter says about an attempt.
#[derive(Debug, PartialEq, Eq)]
pub enum Gate {
    /// Check the password after waiting this long.
    Wait(Duration),
    /// Too many attempts from this address at once: answer 429 without checking.
    Busy,
}

/// The wait before checking a password after `failures` failures.
pub fn delay_for(failures: u32) -> Duration {
    if failures < FREE_FAILURES {
        return Duration::ZERO;
    }
    let step = failures - FREE_FAILURES;
    Duration::from_millis(100u64.saturating_mul(1u64 << step.min(10))).min(MAX_DELAY)
}

impl Limiter {
    /// Admits an attempt from `addr` (call [`Limiter::done`] after it).
    pub fn admit(&self, addr: IpAddr) -> Gate {
        let Ok(mut map) = self.map.lock() else { return Gate::Busy };
        if map.len() >= MAX_ADDRESSES {
            // Many addresses (a spray from a whole network): forget the quiet ones.
            map.retain(|_, a| a.in_flight > 0 || a.last.is_some_and(|l| l.elapsed() <= FORGET_AFTER));
        }
        let a = map.entry(addr).or_default();
        if a.last.is_some_and(|l| l.elapsed() > FORGET_AFTER) {
            a.failures = 0;
        }
        if a.in_flight >= MAX_IN_FLIGHT {
            a.failures = a.failures.saturating_add(1);
            return Gate::Busy;
        }
        a.in_flight += 1;
        Gate::Wait(delay_for(a.failures))
    }

    /// Records how an admitted attempt ended; returns the failures so far from `addr`.
    pub fn done(&self, addr: IpAddr, success: bool) -> u32 {
        let Ok(mut map) = self.map.lock() else { return 0 };
        let a = map.entry(addr).or_default();
        a.in_flight = a.in_flight.saturating_sub(1);
        if success {
            a.failures = 0;
        } else {
            a.failures = a.failures.saturating_add(1);
            a.last = Some(Instant::now());
        }
        a.failures
    }
}

/// Whether the `n`th failure from an address is worth a log line (the first few, then at
/// powers of two: 1 000 failures make 15 lines, not 1 000).
pub fn worth_logging(n: u32) -> bool {
    n <= FREE_FAILURES || n.is_power_of_two()
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'h>(header: &'h str, name: &str) -> Option<&'h str> {
    header.split(';').filter_map(|p| p.trim().split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v)
}

/// A `Set-Cookie` value.
pub fn set_cookie(name: &str, value: &str, path: &str, max_age: Option<Duration>, secure: bool) -> String {
    let mut c = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={}", age.as_secs()));
    }
    if secure {
        c.push_str("; Secure");
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        let users = vec![User { name: "clerk".into(), role: Role::Admin, password_hash: h }];
        assert!(check_password(&users, "clerk", "correct horse").is_some());
        assert!(check_password(&users, "clerk", "wrong").is_none());
        assert!(check_password(&users, "nobody", "correct horse").is_none());
        assert!(argon2::PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn failures_slow_down_but_never_lock_out() {
        assert_eq!(delay_for(0), Duration::ZERO);
        assert_eq!(delay_for(FREE_FAILURES - 1), Duration::ZERO);
        assert!(delay_for(FREE_FAILURES) > Duration::ZERO);
        assert_eq!(delay_for(1000), MAX_DELAY);
        assert_eq!(delay_for(u32::MAX), MAX_DELAY);
        let l = Limiter::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..1000 {
            assert!(matches!(l.admit(ip), Gate::Wait(_)));
            l.done(ip, false);
        }
        // The real user, after 1 000 failures from the same address: slowed, then let in.
        assert_eq!(l.admit(ip), Gate::Wait(MAX_DELAY));
        assert_eq!(l.done(ip, true), 0);
        assert_eq!(l.admit(ip), Gate::Wait(Duration::ZERO));
        // Another address is not slowed at all.
        assert_eq!(l.admit("10.0.0.2".parse().unwrap()), Gate::Wait(Duration::ZERO));
        // Too many at once from one address.
        let busy: IpAddr = "10.0.0.3".parse().unwrap();
        for _ in 0..MAX_IN_FLIGHT {
            assert!(matches!(l.admit(busy), Gate::Wait(_)));
        }
        assert_eq!(l.admit(busy), Gate::Busy);
        let logged = (1..=1000).filter(|n| worth_logging(*n)).count();
        assert!(logged < 20, "{logged}");
    }

    #[test]
    fn tokens_and_cookies() {
        let (a, b) = (token(), token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(same_token(&a, &a.clone()));
        assert!(!same_token(&a, &b));
        assert!(!same_token("", ""));
        assert_eq!(cookie("a=1; mi_session=xyz; b=2", SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie("a=1", SESSION_COOKIE), None);
        let c = set_cookie(SESSION_COOKIE, "t", "/", Some(Duration::from_secs(60)), true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.ends_with("Secure"));
    }
}
