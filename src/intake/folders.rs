//! Which folder is the office's Sent folder, from what the server lists: the one flagged
//! `\Sent` (RFC 6154), else the provider's known name, else the configured name — with the
//! reason, for the log and `config check --connect`. Pure: the listing comes from
//! [`super::imap::list_folders`].

use crate::config::presets::Preset;

/// One folder as the server listed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    /// Decoded (`已发送`); the wire form when the server sent a name that is not valid
    /// modified UTF-7.
    pub name: String,
    /// As the server names it (`&XfJT0ZAB-`): what goes back in commands.
    pub wire: String,
    /// Flagged `\Sent` (RFC 6154).
    pub sent: bool,
    /// `\Noselect` / `\NonExistent`: a hierarchy node, not a mailbox.
    pub noselect: bool,
    /// Every attribute as listed (`\HasNoChildren`, `\Sent`, …).
    pub attributes: Vec<String>,
}

/// How the Sent folder was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentChoice {
    /// Decoded name.
    pub name: String,
    /// Wire name (modified UTF-7).
    pub wire: String,
    /// Whether the server listed it (otherwise it is created before the first append).
    pub exists: bool,
    /// Why, in one sentence.
    pub why: String,
    /// Something the office should look at (two `\Sent` folders, none at all).
    pub warning: Option<String>,
}

/// Chooses the Sent folder: `\Sent` first (two or more: the one the configuration or the
/// preset names, else the first by name, with a warning), then a folder named in the
/// configuration (when written there), then the preset's names, then the configured (or
/// default) name, created if need be.
pub fn choose_sent(folders: &[Folder], preset: Option<&Preset>, configured: &str, explicit: bool) -> SentChoice {
    let same = |a: &str, b: &str| a == b || (a.is_ascii() && a.eq_ignore_ascii_case(b));
    let mut flagged: Vec<&Folder> = folders.iter().filter(|f| f.sent && !f.noselect).collect();
    flagged.sort_by(|a, b| a.name.cmp(&b.name));
    let known: Vec<&str> = explicit
        .then_some(configured)
        .into_iter()
        .chain(preset.map(|p| p.sent_names.to_vec()).unwrap_or_default())
        .chain((!explicit).then_some(configured))
        .collect();
    let pick = |f: &Folder, why: String, warning: Option<String>| SentChoice {
        name: f.name.clone(),
        wire: f.wire.clone(),
        exists: true,
        why,
        warning,
    };
    match flagged.as_slice() {
        [one] => return pick(one, format!("the server flags “{}” \\Sent (RFC 6154)", one.name), None),
        [first, ..] => {
            let names: Vec<&str> = flagged.iter().map(|f| f.name.as_str()).collect();
            let by_name = known.iter().find_map(|k| flagged.iter().find(|f| same(&f.name, k)));
            let (chosen, how) = match by_name {
                Some(f) => (*f, "the name the configuration or provider preset gives"),
                None => (*first, "the first by name"),
            };
            let warning = format!(
                "{} folders are flagged \\Sent ({}); using “{}”, {how}; set [mailbox] sent_folder to choose another",
                flagged.len(),
                names.join(", "),
                chosen.name
            );
            return pick(chosen, format!("flagged \\Sent, {how}"), Some(warning));
        }
        [] => {}
    }
    let selectable = || folders.iter().filter(|f| !f.noselect);
    for k in &known {
        if let Some(f) = selectable().find(|f| same(&f.name, k)) {
            let source = if explicit && same(k, configured) {
                "[mailbox] sent_folder"
            } else if preset.is_some_and(|p| p.sent_names.iter().any(|n| same(n, k))) {
                "the provider preset's Sent folder name"
            } else {
                "the default Sent folder name"
            };
            return pick(
                f,
                format!("no folder is flagged \\Sent; “{}” is {source}", f.name),
                Some("the server flags no folder \\Sent (RFC 6154); fell back to a folder name".into()),
            );
        }
    }
    SentChoice {
        name: configured.to_string(),
        wire: super::mutf7::encode(configured),
        exists: false,
        why: format!("no folder is flagged \\Sent and none has a known Sent name; “{configured}” will be created"),
        warning: Some(format!("the server lists no Sent folder; replies will be filed in a new folder “{configured}”")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::presets;

    fn f(name: &str, sent: bool) -> Folder {
        Folder {
            name: name.into(),
            wire: crate::intake::mutf7::encode(name),
            sent,
            noselect: false,
            attributes: Vec::new(),
        }
    }

    #[test]
    fn special_use_wins() {
        let folders = [f("INBOX", false), f("已发送", true), f("Sent", false)];
        let c = choose_sent(&folders, None, "Sent", false);
        assert_eq!((c.name.as_str(), c.wire.as_str(), c.warning.is_none()), ("已发送", "&XfJT0ZAB-", true));
    }

    #[test]
    fn two_sent_folders_are_chosen_deterministically_with_a_warning() {
        let folders = [f("Sent", true), f("Sent Messages", true), f("INBOX", false)];
        let exmail = presets::find("exmail");
        let c = choose_sent(&folders, exmail, "Sent Messages", false);
        assert_eq!(c.name, "Sent Messages");
        assert!(c.warning.as_deref().is_some_and(|w| w.contains("2 folders")), "{c:?}");
        let reversed = [f("Sent Messages", true), f("Sent", true)];
        assert_eq!(choose_sent(&reversed, None, "X", false).name, "Sent");
        assert_eq!(choose_sent(&folders, None, "X", false).name, "Sent");
    }

    #[test]
    fn without_special_use_the_preset_then_the_configuration() {
        let folders = [f("INBOX", false), f("已发送", false), f("草稿箱", false)];
        let c = choose_sent(&folders, presets::find("163"), "已发送", false);
        assert_eq!(c.name, "已发送");
        assert!(c.why.contains("preset"), "{c:?}");
        assert!(c.warning.is_some());
        let c = choose_sent(&[f("INBOX", false), f("Mine", false)], None, "Mine", true);
        assert!(c.exists && c.why.contains("sent_folder"), "{c:?}");
        let c = choose_sent(&[f("INBOX", false)], None, "Sent", false);
        assert!(!c.exists && c.why.contains("created"), "{c:?}");
    }
}
