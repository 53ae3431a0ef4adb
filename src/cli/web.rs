//! `mail-intake web`: serve the office's web view on its own (`-c CONF`, beside a running
//! daemon or without one), or make a password hash for `[[web.users]]` (`hash-password`,
//! reading the password on stdin so that it never shows in the shell's history).

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use tokio::sync::watch;

use crate::config::Config;
use crate::web;

/// `mail-intake web hash-password`.
pub fn hash_password() -> anyhow::Result<ExitCode> {
    let bytes = crate::limits::read_capped(std::io::stdin(), 64 * 1024)
        .map_err(|e| anyhow::anyhow!("cannot read the password from stdin: {e}"))?;
    let input = String::from_utf8(bytes).context("the password on stdin is not UTF-8")?;
    let password = input.strip_suffix('\n').map(|s| s.strip_suffix('\r').unwrap_or(s)).unwrap_or(&input);
    if password.is_empty() {
        bail!("no password on stdin; e.g. `read -rs P && printf %s \"$P\" | mail-intake web hash-password`");
    }
    let hash = web::auth::hash_password(password).map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))?;
    println!("{hash}");
    Ok(ExitCode::SUCCESS)
}

/// Binds, prints the address and serves until SIGINT/SIGTERM.
pub fn serve_until_stopped(
    app: std::sync::Arc<web::App>,
    addr: SocketAddr,
    fallback: bool,
    note: &str,
) -> anyhow::Result<()> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the runtime")?;
    runtime.block_on(async move {
        let listener = match web::bind(addr).await {
            Ok(l) => l,
            Err(_) if fallback => web::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?,
            Err(e) => return Err(anyhow::Error::new(e)),
        };
        let bound = listener.local_addr().context("cannot read the listening address")?;
        println!("web view: http://{bound}/{note}");
        std::io::stdout().flush().ok();
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            super::run::wait_for_signal().await;
            let _ = tx.send(true);
        });
        web::serve(app, listener, rx).await.context("the web view stopped")
    })
}

/// `mail-intake web -c CONF [--listen ADDR]`.
pub fn serve(config: &Path, listen: Option<&str>) -> anyhow::Result<ExitCode> {
    let cfg = Config::load(config).with_context(|| format!("cannot use the configuration {}", config.display()))?;
    let addr = match listen {
        Some(l) => {
            l.parse::<SocketAddr>().with_context(|| format!("--listen {l}: expected an address like 127.0.0.1:8025"))?
        }
        None => match cfg.web.listen {
            Some(a) => a,
            None => bail!(
                "{}: [web] listen is not set; add e.g. listen = \"127.0.0.1:8025\" under [web], or give --listen",
                config.display()
            ),
        },
    };
    if cfg.web.users.is_empty() {
        bail!(
            "{}: nobody may log in; add [[web.users]] with a hash from `mail-intake web hash-password`",
            config.display()
        );
    }
    super::admin::require_store(&cfg, config)?;
    let rules = super::run::rules_for(&cfg)?;
    let app = web::App::new(cfg, rules, config.display().to_string())?;
    serve_until_stopped(app, addr, false, "")?;
    Ok(ExitCode::SUCCESS)
}
