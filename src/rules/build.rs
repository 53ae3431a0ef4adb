//! Building [`Rules`] from the rule files' texts: each file parsed, each section built and
//! checked by its own module, every problem collected before giving up.

use std::collections::BTreeMap;

use super::campaign::{self, Campaign};
use super::error::{Problems, RuleProblem, parse_file, problem};
use super::raw::{CampaignFile, CategoriesFile, SchoolsFile, TitlesFile};
use super::roster::{self, Catalogue, Roster, TitleTable};
use super::{Rules, TEMPLATES, school_key_with};
use crate::text::key;

/// The rule files' texts, by name; `None` where a file is missing.
struct Texts<'a> {
    sources: &'a [(&'a str, &'a str)],
}

impl<'a> Texts<'a> {
    fn get(&self, name: &str) -> Option<&'a str> {
        self.sources.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
    }

    /// Parses one TOML file, recording that it is missing or why it cannot be read.
    fn parse<T: serde::de::DeserializeOwned>(&self, name: &str, out: &mut Vec<RuleProblem>) -> Option<(T, &'a str)> {
        let Some(text) = self.get(name) else {
            out.push(problem(name, 0, "file is missing"));
            return None;
        };
        parse_file(name, text, out).map(|v| (v, text))
    }
}

/// Builds rules from `(file name, contents)` pairs, collecting every problem.
pub(super) fn from_sources(sources: &[(&str, &str)]) -> Result<Rules, Vec<RuleProblem>> {
    let texts = Texts { sources };
    let mut problems = Vec::new();
    let campaign = texts.parse::<CampaignFile>("campaign.toml", &mut problems);
    let schools = texts.parse::<SchoolsFile>("schools.toml", &mut problems);
    let categories = texts.parse::<CategoriesFile>("categories.toml", &mut problems);
    let titles = texts.parse::<TitlesFile>("titles.toml", &mut problems);

    // The roster's keys drop the province prefix campaign.toml names.
    let province_prefix = campaign.as_ref().map(|(c, _)| key(&c.campaign.province_prefix)).unwrap_or_default();
    let school_key = |s: &str| school_key_with(&province_prefix, s);
    let roster = schools.map(|(file, text)| {
        roster::schools(file, school_key, &mut Problems { file: "schools.toml", text, out: &mut problems })
    });
    let catalogue = categories.map(|(file, text)| {
        roster::categories(file, &mut Problems { file: "categories.toml", text, out: &mut problems })
    });
    let title_table = titles
        .map(|(file, text)| roster::titles(file, &mut Problems { file: "titles.toml", text, out: &mut problems }));
    let templates = templates(&texts, &mut problems);
    let campaign = campaign.map(|(file, text)| {
        let title_levels = title_table.as_ref().map(|t| t.levels.as_slice());
        campaign::build(file, title_levels, &mut Problems { file: "campaign.toml", text, out: &mut problems })
    });

    match (campaign, problems.is_empty()) {
        (Some(campaign), true) => Ok(assemble(
            campaign,
            roster.unwrap_or_default(),
            catalogue.unwrap_or_default(),
            title_table.unwrap_or_default(),
            templates,
        )),
        _ => Err(problems),
    }
}

/// The reply templates, each compiled once to find its mistakes.
fn templates(texts: &Texts<'_>, problems: &mut Vec<RuleProblem>) -> BTreeMap<String, String> {
    let mut templates = BTreeMap::new();
    for name in TEMPLATES {
        let file = format!("templates/{name}.txt");
        let Some(t) = texts.get(&file) else {
            problems.push(problem(&file, 0, "file is missing"));
            continue;
        };
        let mut env = minijinja::Environment::new();
        if let Err(e) = env.add_template_owned(file.clone(), t.to_string()) {
            problems.push(problem(&file, e.line().unwrap_or(0), e.to_string()));
        }
        templates.insert(name.to_string(), t.to_string());
    }
    templates
}

fn assemble(
    c: Campaign,
    roster: Roster,
    catalogue: Catalogue,
    titles: TitleTable,
    templates: BTreeMap<String, String>,
) -> Rules {
    Rules {
        campaign_name: c.name,
        office: c.office,
        timezone: c.timezone,
        expert_max_age: c.expert_max_age,
        senior_levels: c.senior_levels,
        province_prefix: c.province_prefix,
        levels: roster.levels,
        title_levels: titles.levels,
        register: c.register,
        reply: c.reply,
        reasons: c.reasons,
        kinds: c.kinds,
        forms: c.forms,
        subject: c.subject,
        automatic: c.automatic,
        links: c.links,
        attachments: c.attachments,
        schools: roster.schools,
        categories: catalogue.categories,
        templates,
        school_index: roster.index,
        category_index: catalogue.index,
        title_index: titles.index,
        non_titles: titles.non_titles,
    }
}
