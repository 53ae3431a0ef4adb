//! `mail-intake run`, `default-config`, `config check`: the daemon from the command line.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use tokio::sync::watch;

use crate::config::{Config, DEFAULT_CONFIG};
use crate::daemon;

/// Loads rules named by the configuration (or the embedded ones).
pub fn rules_for(cfg: &Config) -> anyhow::Result<crate::Rules> {
    super::load_rules(cfg.rules_dir.as_deref())
}

/// Runs the daemon until SIGINT/SIGTERM (or once, with `--once`).
pub fn run(config: &Path, once: bool) -> anyhow::Result<ExitCode> {
    let cfg = Config::load(config).with_context(|| format!("cannot use the configuration {}", config.display()))?;
    let rules = rules_for(&cfg)?;
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the runtime")?;
    runtime.block_on(async move {
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("stop requested; finishing the current step");
            let _ = tx.send(true);
        });
        // The web view, when configured, is one more task sharing the stop signal.
        let web = match (once, cfg.web.listen) {
            (false, Some(addr)) => {
                let app = crate::web::App::new(cfg.clone(), rules.clone(), config.display().to_string())?;
                let listener = crate::web::bind(addr).await?;
                let rx = rx.clone();
                Some(tokio::spawn(async move { crate::web::serve(app, listener, rx).await }))
            }
            _ => None,
        };
        let summary = daemon::run(cfg, rules, once, rx).await.context("the daemon stopped")?;
        if let Some(web) = web {
            match web.await {
                Ok(Err(e)) => tracing::error!(stage = "web", error = %e, "the web view stopped"),
                Err(e) => tracing::error!(stage = "web", error = %e, "the web view's task failed"),
                Ok(Ok(())) => {}
            }
        }
        if once {
            println!(
                "stored {} new message(s), judged {}, sent {} reply(ies)",
                summary.stored, summary.judged, summary.replies_sent
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}

pub(crate) async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Prints the commented example configuration; with a provider, ready for it.
pub fn default_config(provider: Option<&str>) -> anyhow::Result<ExitCode> {
    use crate::config::presets;
    match provider {
        None => print!("{DEFAULT_CONFIG}"),
        Some(name) if name.trim().eq_ignore_ascii_case("custom") => print!("{DEFAULT_CONFIG}"),
        Some(name) => match presets::find(name) {
            Some(p) => print!("{}", presets::config_file(DEFAULT_CONFIG, p)),
            None => anyhow::bail!("unknown provider \"{name}\"; use one of {}", presets::names().join(", ")),
        },
    }
    Ok(ExitCode::SUCCESS)
}

/// Validates a configuration file; prints every problem.
pub fn config_check(config: &Path, connect: bool) -> anyhow::Result<ExitCode> {
    match Config::load(config) {
        Ok(cfg) => {
            let source = match &cfg.source {
                crate::config::SourceConfig::Imap(i) => {
                    format!("IMAP {}@{}:{} ({:?}) folder {}", i.user, i.host, i.port, i.tls, i.folder)
                }
                crate::config::SourceConfig::Maildir { path, .. } => format!("Maildir {}", path.display()),
            };
            let transport = match &cfg.transport {
                crate::config::TransportConfig::Smtp(s) => {
                    format!("SMTP {}:{} ({:?}) as {}", s.host, s.port, s.tls, s.from)
                }
                crate::config::TransportConfig::Dir { path, from } => format!("files in {} as {from}", path.display()),
            };
            rules_for(&cfg)?;
            println!(
                "{}: OK\n  mail from: {source}\n  replies:   {transport}\n  store:     {}",
                config.display(),
                cfg.store_path.display()
            );
            if connect {
                return connect_check(&cfg);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(crate::config::ConfigError::Invalid(problems)) => {
            println!("{}: {} problem(s)", config.display(), problems.len());
            for p in problems {
                println!("  - {p}");
            }
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(anyhow::Error::new(e)),
    }
}

/// `config check --connect`: logs in and reports folders, the Sent folder and why.
fn connect_check(cfg: &Config) -> anyhow::Result<ExitCode> {
    let crate::config::SourceConfig::Imap(imap) = &cfg.source else {
        println!("  (a Maildir source: nothing to connect to)");
        return Ok(ExitCode::SUCCESS);
    };
    let smtp = matches!(cfg.transport, crate::config::TransportConfig::Smtp(_));
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the runtime")?;
    match runtime.block_on(crate::intake::probe::report(imap, cfg.daemon.io_timeout, smtp)) {
        Ok(report) => {
            print!("{report}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("  CANNOT CONNECT: {e}");
            Ok(ExitCode::from(1))
        }
    }
}
