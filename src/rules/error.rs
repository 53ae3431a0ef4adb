//! What can be wrong with a rules folder: one [`RuleProblem`] per mistake, with file and line.

use std::fmt;

/// One mistake in a rule file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleProblem {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for RuleProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// Why a rules folder could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("cannot read rule file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the rules have {} problem(s); run `mail-intake rules check` to see them all:\n{}", .0.len(), .0.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<RuleProblem>),
}

/// Collects problems with their positions while a file is checked.
pub(super) struct Problems<'a> {
    pub(super) file: &'a str,
    pub(super) text: &'a str,
    pub(super) out: &'a mut Vec<RuleProblem>,
}

impl Problems<'_> {
    /// A problem at a byte offset of the file (0: the file as a whole, reported at line 1).
    pub(super) fn at(&mut self, offset: usize, message: impl Into<String>) {
        let line = self.text[..offset.min(self.text.len())].matches('\n').count() + 1;
        self.out.push(RuleProblem { file: self.file.to_string(), line, message: message.into() });
    }
}

/// A problem about a whole file that has no line (a missing file, a template error without one).
pub(super) fn problem(file: &str, line: usize, message: impl Into<String>) -> RuleProblem {
    RuleProblem { file: file.to_string(), line, message: message.into() }
}

/// Parses a TOML file, or records why it cannot be read.
pub(super) fn parse_file<T: serde::de::DeserializeOwned>(
    file: &str,
    text: &str,
    out: &mut Vec<RuleProblem>,
) -> Option<T> {
    match toml::from_str::<T>(text) {
        Ok(v) => Some(v),
        Err(e) => {
            let offset = e.span().map(|s| s.start).unwrap_or(0);
            let message = e.message().trim().to_string();
            Problems { file, text, out }.at(offset, message);
            None
        }
    }
}
