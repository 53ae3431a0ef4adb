//! `/actions/{id}/{action}`: re-judge a mail, resend or suppress its reply, release a reply
//! held back by a rule. `GET` asks for confirmation, `POST` (admin only, with the session's
//! CSRF token) runs it through [`crate::actions`] — the command line's code path — logs who
//! did it, and shows the outcome on the mail's page.

use crate::store;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Form, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;

use super::super::App;
use super::super::auth::Session;
use super::super::render::PageError;
use super::super::rows::printable;
use super::login::check_csrf;
use crate::actions::{self, ActionError, ReplyAction};
use crate::store::Store;

/// (label, what it does) for an action name; `None`: no such action.
fn describe(action: &str) -> Option<(&'static str, &'static str)> {
    Some(match action {
        "rejudge" => ("重新判定", "按当前规则重新判定这封邮件；判定结果变化时会自动生成新的回执（等待发送）。"),
        "resend" => ("重发回执", "把最近一份回执放回发件箱（一分钟内发出）；没有回执时按当前判定生成一份。"),
        "suppress" => ("不发送回执", "尚未发出的回执将不再发送（之后仍可重发）。"),
        "release" => ("放行回执", "被规则扣下（如超过每日上限、早于启用日期）的回执放回发件箱，一分钟内发出。"),
        _ => return None,
    })
}

fn admin_only(s: &Session) -> Result<(), PageError> {
    if s.is_admin() {
        Ok(())
    } else {
        Err(PageError::Forbidden("只读用户不能执行操作；请找管理员。".into()))
    }
}

/// `GET /actions/{id}/{action}`: the confirmation page.
pub async fn confirm(
    State(app): State<Arc<App>>,
    Extension(s): Extension<Session>,
    Path((id, action)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let id = super::parse_id(&id)?;
    let Some((label, explain)) = describe(&action) else {
        return Err(PageError::NotFound("没有这个操作".into()));
    };
    admin_only(&s)?;
    let m = super::read(&app, move |c, _| Ok(store::messages::message(c, id)?)).await?;
    let Some(m) = m else { return Err(PageError::NotFound(format!("没有邮件 #{id}"))) };
    super::render(
        &app,
        &s,
        "mails",
        "confirm.html",
        context! { title => label, label, explain, id, action, subject => printable(&m.subject) },
    )
}

/// `POST /actions/{id}/{action}`.
pub async fn run(
    State(app): State<Arc<App>>,
    Extension(s): Extension<Session>,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    if let Err(r) = check_csrf(&s, &form) {
        return Ok(*r);
    }
    let id = super::parse_id(&id)?;
    let Some((label, _)) = describe(&action) else {
        return Err(PageError::NotFound("没有这个操作".into()));
    };
    admin_only(&s)?;
    let who = format!("web: {}", s.user);
    let name = action.clone();
    let a = app.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let app = &a;
        // Its own connection: re-judging rebuilds the register in one transaction, and the
        // pages keep reading meanwhile (WAL).
        let store = Store::open(&app.cfg.store_path)?;
        match name.as_str() {
            "rejudge" => {
                let selected = BTreeSet::from([id]);
                let (changes, total) =
                    actions::rejudge(&app.cfg, &app.rules, &store, Some(&selected), true, Some(&who))?;
                let Some(c) = changes.into_iter().next() else {
                    return Err(ActionError::Refused(format!("there is no message #{id} to judge again")));
                };
                let mut lines = vec![format!("{} → {}", c.decision_before.as_deref().unwrap_or("-"), c.decision_after)];
                lines.extend(c.changed);
                if c.reply_queued {
                    lines.push("已生成新的回执，等待发送".into());
                }
                lines.push(format!("（共重新归并 {total} 封邮件）"));
                Ok(lines)
            }
            "suppress" => {
                actions::reply(&app.cfg, &app.rules, &store, id, ReplyAction::Suppress, Some(&who), &app.config_hint)
            }
            _ => actions::reply(&app.cfg, &app.rules, &store, id, ReplyAction::Resend, Some(&who), &app.config_hint),
        }
    })
    .await
    .map_err(|e| PageError::Internal(format!("an action stopped: {e}")))?;
    let message = match outcome {
        Ok(lines) => {
            tracing::info!(stage = "web", id, user = %s.user, action = %action, "web action done");
            format!("{label}：已完成。{}", lines.join("；"))
        }
        Err(ActionError::Refused(why)) => {
            tracing::info!(stage = "web", id, user = %s.user, action = %action, reason = %why, "web action refused");
            format!("{label}：未执行。{why}")
        }
        Err(e) => return Err(PageError::Internal(e.to_string())),
    };
    app.sessions.set_flash(&s.token, message);
    Ok(Redirect::to(&format!("/mails/{id}")).into_response())
}
