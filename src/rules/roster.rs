//! Building the lists: `schools.toml` (the roster), `categories.toml` (专业大类) and
//! `titles.toml` (职称 and their levels), each with its lookup index.

use std::collections::HashMap;

use toml::Spanned;

use super::error::Problems;
use super::raw::{CategoriesFile, SchoolsFile, TitlesFile};
use super::{Category, School};
use crate::text::key;

/// The roster, with key(name or alias) → index.
#[derive(Default)]
pub(super) struct Roster {
    pub(super) levels: Vec<String>,
    pub(super) schools: Vec<School>,
    pub(super) index: HashMap<String, usize>,
}

/// The 专业大类, with key(name or alias) → index.
#[derive(Default)]
pub(super) struct Catalogue {
    pub(super) categories: Vec<Category>,
    pub(super) index: HashMap<String, usize>,
}

/// key(title) → level, and key(term) of words that are not titles.
#[derive(Default)]
pub(super) struct TitleTable {
    pub(super) levels: Vec<String>,
    pub(super) index: HashMap<String, String>,
    pub(super) non_titles: Vec<String>,
}

/// The roster: every name and alias names one school only.
pub(super) fn schools(file: SchoolsFile, school_key: impl Fn(&str) -> String, p: &mut Problems<'_>) -> Roster {
    let mut roster = Roster { levels: levels(file.levels, p), ..Roster::default() };
    for entry in file.school {
        let at = entry.span().start;
        let s = entry.into_inner();
        if s.name.trim().is_empty() {
            p.at(at, "school without a name");
            continue;
        }
        if !roster.levels.contains(&s.level) {
            let levels = roster.levels.join(", ");
            p.at(at, format!("school {}: level `{}` is not one of {levels}", s.name, s.level));
        }
        let idx = roster.schools.len();
        for n in std::iter::once(&s.name).chain(s.aliases.iter()) {
            let k = school_key(n);
            if k.is_empty() {
                p.at(at, format!("school {}: empty alias", s.name));
                continue;
            }
            if let Some(&other) = roster.index.get(&k) {
                if other != idx {
                    let other_name = &roster.schools[other].name;
                    p.at(at, format!("school {}: name or alias `{n}` is also used by {other_name}", s.name));
                }
                continue;
            }
            roster.index.insert(k, idx);
        }
        roster.schools.push(School { name: s.name, aliases: s.aliases, level: s.level, flags: s.flags });
    }
    if roster.schools.is_empty() {
        p.at(0, "the roster has no school");
    }
    roster
}

/// The 专业大类: every name and alias names one category only.
pub(super) fn categories(file: CategoriesFile, p: &mut Problems<'_>) -> Catalogue {
    let mut cat = Catalogue::default();
    for entry in file.category {
        let at = entry.span().start;
        let c = entry.into_inner();
        let idx = cat.categories.len();
        for n in std::iter::once(&c.name).chain(c.aliases.iter()) {
            let k = key(n);
            if k.is_empty() {
                p.at(at, format!("category {}: empty name or alias", c.name));
                continue;
            }
            if let Some(&other) = cat.index.get(&k) {
                if other != idx {
                    let other_name = &cat.categories[other].name;
                    p.at(at, format!("category {}: `{n}` is also used by {other_name}", c.name));
                }
                continue;
            }
            cat.index.insert(k, idx);
        }
        cat.categories.push(Category { name: c.name, aliases: c.aliases });
    }
    cat
}

/// The 职称: each with one level; terms that are not titles.
pub(super) fn titles(file: TitlesFile, p: &mut Problems<'_>) -> TitleTable {
    let mut table = TitleTable { levels: levels(file.levels, p), ..TitleTable::default() };
    for entry in file.title {
        let at = entry.span().start;
        let t = entry.into_inner();
        if !table.levels.contains(&t.level) {
            let levels = table.levels.join(", ");
            p.at(at, format!("title {}: level `{}` is not one of {levels}", t.name, t.level));
            continue;
        }
        let k = key(&t.name);
        match table.index.get(&k) {
            Some(level) if level != &t.level => {
                p.at(at, format!("title {} is listed twice with different levels", t.name));
            }
            _ => {
                table.index.insert(k, t.level);
            }
        }
    }
    for entry in file.non_title {
        let at = entry.span().start;
        let t = entry.into_inner();
        let k = key(&t.term);
        if k.is_empty() {
            p.at(at, "non_title without a term");
        }
        table.non_titles.push(k);
    }
    table
}

/// A `levels` list: at least one, none empty, none twice.
fn levels(raw: Spanned<Vec<String>>, p: &mut Problems<'_>) -> Vec<String> {
    let at = raw.span().start;
    let levels = raw.into_inner();
    if levels.is_empty() {
        p.at(at, "levels: at least one level is needed");
    }
    for (i, level) in levels.iter().enumerate() {
        if level.trim().is_empty() {
            p.at(at, "levels: a level is empty");
        } else if levels[..i].contains(level) {
            p.at(at, format!("levels: `{level}` is listed twice"));
        }
    }
    levels
}
