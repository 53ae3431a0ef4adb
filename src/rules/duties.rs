//! What the campaign asks of each school, and how its replies are titled: the kinds' roles
//! in the register of schools (experts, lead applications, summary), the experts wanted,
//! the flags that ask more, and the reply subject prefixes. Code asks these of [`Rules`]
//! instead of knowing the campaign.

use super::Rules;
use crate::verdict::Decision;

/// What the register of schools counts a kind's submissions as (`school_role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchoolRole {
    /// One expert per submission (`experts_complete`, the experts wanted).
    Experts,
    /// One 专业大类 the school applies to lead (`lead_categories`).
    Leads,
    /// The school's report (`summary`).
    Summary,
}

impl SchoolRole {
    pub(super) fn parse(s: &str) -> Option<SchoolRole> {
        match s {
            "experts" => Some(SchoolRole::Experts),
            "leads" => Some(SchoolRole::Leads),
            "summary" => Some(SchoolRole::Summary),
            _ => None,
        }
    }
}

/// `[register]`: what each roster school is asked for.
#[derive(Debug, Clone)]
pub struct RegisterRules {
    /// Experts every school should recommend.
    pub experts_wanted: usize,
    /// A school with a flag starting with one of these is asked for `flagship_experts`.
    pub flagship_flags: Vec<String>,
    pub flagship_experts: usize,
    /// A school with a flag starting with one of these should apply as lead institution.
    pub lead_flags: Vec<String>,
}

/// `[reply]`: our replies' subject prefixes.
#[derive(Debug, Clone)]
pub struct ReplyRules {
    pub acknowledge_prefix: String,
    pub request_correction_prefix: String,
}

fn any_flag(flags: &[String], starts: &[String]) -> bool {
    flags.iter().any(|f| starts.iter().any(|s| f.starts_with(s.as_str())))
}

impl Rules {
    /// The role of a kind's submissions in the register of schools.
    pub fn role_of(&self, kind: &str) -> Option<SchoolRole> {
        self.kind(kind).and_then(|k| k.school_role)
    }

    /// The kinds with this role, in file order.
    pub fn kinds_with(&self, role: SchoolRole) -> impl Iterator<Item = &super::KindRule> {
        self.kinds.iter().filter(move |k| k.school_role == Some(role))
    }

    /// Whether some kind has this role (else the register asks nothing of it).
    pub fn has_role(&self, role: SchoolRole) -> bool {
        self.kinds.iter().any(|k| k.school_role == Some(role))
    }

    /// Whether a school with these flags is asked for more experts (双高/双优 here).
    pub fn flagship(&self, flags: &[String]) -> bool {
        any_flag(flags, &self.register.flagship_flags)
    }

    /// Whether a school with these flags should apply as lead institution (双高 here).
    pub fn lead_wanted(&self, flags: &[String]) -> bool {
        self.has_role(SchoolRole::Leads) && any_flag(flags, &self.register.lead_flags)
    }

    /// How many experts a roster school with these flags should recommend.
    pub fn experts_wanted(&self, flags: &[String]) -> usize {
        if !self.has_role(SchoolRole::Experts) {
            0
        } else if self.flagship(flags) {
            self.register.flagship_experts
        } else {
            self.register.experts_wanted
        }
    }

    /// Whether every school is asked for a summary.
    pub fn summary_wanted(&self) -> bool {
        self.has_role(SchoolRole::Summary)
    }

    /// The prefix of our reply's subject for a decision (`回执：`, `请更正：` here).
    pub fn reply_prefix(&self, decision: Decision) -> &str {
        match decision {
            Decision::Acknowledge => &self.reply.acknowledge_prefix,
            _ => &self.reply.request_correction_prefix,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_campaign_asks_three_experts_of_flagships_and_a_lead_of_shuanggao() {
        let r = Rules::embedded();
        let flags = |f: &[&str]| f.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(r.experts_wanted(&flags(&[])), 1);
        assert_eq!(r.experts_wanted(&flags(&["双优专业"])), 3);
        assert!(r.lead_wanted(&flags(&["双高学校"])));
        assert!(!r.lead_wanted(&flags(&["双优"])));
        assert_eq!(r.role_of("lead_institution"), Some(SchoolRole::Leads));
        assert_eq!(r.reply_prefix(Decision::Acknowledge), "回执：");
        assert_eq!(r.reply_prefix(Decision::RequestCorrection), "请更正：");
    }
}
