//! The register as data (spec §8): `dossiers --json` and `schools --json`, one object per
//! submission / per school, read from the store.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::Connection;
use serde::Serialize;

use crate::rules::{Part, Rules, SchoolRole};
use crate::store::Result;
use crate::store::dossiers::{self, DossierFilter, DossierRow};
use crate::verdict::{DossierState, Role};

/// One current part, as `dossiers --json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct PartView {
    pub role: Role,
    pub message: i64,
    pub filename: String,
    pub size: u64,
    pub sha256: String,
}

/// One submission, as `dossiers --json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct DossierView {
    pub id: i64,
    pub kind: String,
    pub school: Option<String>,
    pub expert_name: Option<String>,
    pub category: Option<String>,
    pub state: &'static str,
    pub superseded_by: Option<i64>,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    pub messages: Vec<i64>,
    pub parts: Vec<PartView>,
    pub updated: Option<String>,
}

fn detail_part(rules: &Rules, kind: &str) -> Option<Part> {
    rules
        .kind(kind)
        .and_then(|k| k.subject_parts.iter().find(|p| matches!(p, Part::ExpertName | Part::Category)).copied())
}

fn view(d: DossierRow, messages: Vec<i64>, rules: &Rules) -> DossierView {
    let detail = (!d.detail.is_empty()).then(|| d.detail.clone());
    let part = detail_part(rules, &d.kind);
    DossierView {
        id: d.id,
        expert_name: if part == Some(Part::ExpertName) { detail.clone() } else { None },
        category: if part == Some(Part::Category) { detail } else { None },
        kind: d.kind,
        school: d.school,
        state: d.state.as_str(),
        superseded_by: d.superseded_by,
        errors: d.errors,
        warnings: d.warnings,
        messages,
        parts: d
            .parts
            .into_iter()
            .map(|p| PartView {
                role: p.role,
                message: p.message,
                filename: p.filename,
                size: p.size,
                sha256: p.sha256,
            })
            .collect(),
        updated: d.updated,
    }
}

/// Every submission matching the filter, by id.
pub fn dossiers(conn: &Connection, filter: &DossierFilter, rules: &Rules) -> Result<Vec<DossierView>> {
    let rows = dossiers::list(conn, filter)?;
    let mut members: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for (d, m) in dossiers::all_members(conn)? {
        members.entry(d).or_default().push(m);
    }
    Ok(rows
        .into_iter()
        .map(|d| {
            let messages = members.remove(&d.id).unwrap_or_default();
            view(d, messages, rules)
        })
        .collect())
}

/// One school, as `schools --json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct SchoolView {
    pub school: String,
    pub level: Option<String>,
    pub flags: Vec<String>,
    pub on_roster: bool,
    pub status: &'static str,
    pub experts_complete: Vec<String>,
    pub experts_incomplete: Vec<String>,
    pub experts_listed_not_received: Vec<String>,
    pub lead_categories: Vec<String>,
    pub summary: bool,
}

#[derive(Default)]
struct Tally {
    experts_complete: BTreeSet<String>,
    experts_incomplete: BTreeSet<String>,
    known_names: BTreeSet<String>,
    lead_complete: BTreeSet<String>,
    summary: bool,
    incomplete: usize,
    any: bool,
}

impl Tally {
    /// Counts one submission by its kind's `school_role` in the rules.
    fn add(&mut self, d: &DossierRow, rules: &Rules) {
        let role = rules.role_of(&d.kind);
        if role == Some(SchoolRole::Experts) {
            self.known_names.insert(d.detail.clone());
            if let Some(n) = &d.form_name {
                self.known_names.insert(n.clone());
            }
        }
        if d.state == DossierState::Superseded {
            return;
        }
        self.any = true;
        let complete = d.state == DossierState::Complete;
        if !complete {
            self.incomplete += 1;
        }
        match role {
            Some(SchoolRole::Experts) if !d.detail.is_empty() => {
                if complete {
                    self.experts_complete.insert(d.detail.clone());
                } else {
                    self.experts_incomplete.insert(d.detail.clone());
                }
            }
            Some(SchoolRole::Leads) if complete && !d.detail.is_empty() => {
                self.lead_complete.insert(d.detail.clone());
            }
            Some(SchoolRole::Summary) if complete => self.summary = true,
            _ => {}
        }
    }

    /// `未报送`, `已报送` or `部分` for a school with these flags.
    fn status(&self, flags: &[String], rules: &Rules) -> &'static str {
        let complete = self.experts_complete.len() >= rules.experts_wanted(flags)
            && (!rules.lead_wanted(flags) || !self.lead_complete.is_empty())
            && (self.summary || !rules.summary_wanted())
            && self.incomplete == 0;
        if !self.any {
            "未报送"
        } else if complete {
            "已报送"
        } else {
            "部分"
        }
    }
}

/// Every roster school, then every off-roster school seen, with what it has sent.
///
/// Which field a submission fills comes from its kind's `school_role` in the rules. Status:
/// `未报送` no submission at all; `已报送` the experts the rules ask of the school
/// ([`Rules::experts_wanted`]) complete, a lead application where [`Rules::lead_wanted`], the
/// summary where the rules have one, and nothing incomplete; `部分` anything in between.
pub fn schools(conn: &Connection, rules: &Rules) -> Result<Vec<SchoolView>> {
    let mut tally: BTreeMap<String, Tally> = BTreeMap::new();
    for d in dossiers::list(conn, &DossierFilter::default())? {
        if let Some(school) = d.school.clone() {
            tally.entry(school).or_default().add(&d, rules);
        }
    }
    let mut listed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (school, name) in dossiers::listed_experts(conn)? {
        listed.entry(school).or_default().insert(name);
    }
    for t in tally.values_mut() {
        t.experts_incomplete.retain(|n| !t.experts_complete.contains(n));
    }

    let empty = Tally::default();
    let emit = |name: &str, level: Option<String>, flags: Vec<String>, on_roster: bool, t: &Tally| {
        let not_received: Vec<String> = listed
            .get(name)
            .map(|names| names.iter().filter(|n| !t.known_names.contains(*n)).cloned().collect())
            .unwrap_or_default();
        SchoolView {
            school: name.to_string(),
            level,
            status: t.status(&flags, rules),
            flags,
            on_roster,
            experts_complete: t.experts_complete.iter().cloned().collect(),
            experts_incomplete: t.experts_incomplete.iter().cloned().collect(),
            experts_listed_not_received: not_received,
            lead_categories: t.lead_complete.iter().cloned().collect(),
            summary: t.summary,
        }
    };
    let mut out: Vec<SchoolView> = rules
        .schools
        .iter()
        .map(|s| emit(&s.name, Some(s.level.clone()), s.flags.clone(), true, tally.get(&s.name).unwrap_or(&empty)))
        .collect();
    for (name, t) in &tally {
        if rules.school(name).is_none_or(|s| s.name != *name) {
            out.push(emit(name, None, Vec::new(), false, t));
        }
    }
    Ok(out)
}
