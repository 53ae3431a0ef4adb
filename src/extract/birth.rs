//! Birth dates as schools write them, normalised to `YYYY-MM`.

use regex::Regex;
use std::sync::LazyLock;

static YEAR_MONTH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(19\d{2}|20[0-2]\d)\s*(?:年|\.|-|/|．|－|—|\s)\s*(\d{1,2})(?:\D|$)").expect("static regex")
});
static COMPACT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(19\d{2}|20[0-2]\d)(\d{2})(\d{2})?$").expect("static regex"));

/// `1975.06`, `1975.6`, `1975年6月`, `1975-06`, `197506`, `1975/6/1`, `1975-06-01` → `1975-06`.
pub fn normalize(text: &str) -> Option<String> {
    let t = crate::text::fold(text);
    let t = t.trim();
    if t.is_empty() {
        return None;
    }
    let compact: String = t.chars().filter(|c| !c.is_whitespace()).collect();
    if let Some(c) = COMPACT.captures(&compact) {
        return month(&c[1], &c[2]);
    }
    if let Some(c) = YEAR_MONTH.captures(t) {
        return month(&c[1], &c[2]);
    }
    None
}

fn month(year: &str, month: &str) -> Option<String> {
    let m: u32 = month.parse().ok()?;
    (1..=12).contains(&m).then(|| format!("{year}-{m:02}"))
}

/// Whole years between a `YYYY-MM` birth and a date, month precision.
pub fn age_at(birth: &str, year: i32, month: u32) -> Option<i32> {
    let (y, m) = birth.split_once('-')?;
    let (y, m): (i32, i32) = (y.parse().ok()?, m.parse().ok()?);
    let months = (year * 12 + month as i32) - (y * 12 + m);
    Some(months.div_euclid(12))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_habits_of_spec_section_4() {
        for (input, want) in [
            ("1975.06", "1975-06"),
            ("1975.6", "1975-06"),
            ("1975年6月", "1975-06"),
            ("1975-06", "1975-06"),
            ("197506", "1975-06"),
            ("1975/6/1", "1975-06"),
            ("1975-06-01", "1975-06"),
            ("1975年06月15日", "1975-06"),
            ("19750615", "1975-06"),
            ("１９７５．０６", "1975-06"),
            ("1975.10", "1975-10"),
            ("1975.1", "1975-01"),
            (" 1983 年 11 月", "1983-11"),
        ] {
            assert_eq!(normalize(input).as_deref(), Some(want), "{input}");
        }
        assert_eq!(normalize(""), None);
        assert_eq!(normalize("不详"), None);
        assert_eq!(normalize("1975.13"), None);
    }

    #[test]
    fn ages_in_whole_years() {
        assert_eq!(age_at("1957-03", 2023, 3), Some(66));
        assert_eq!(age_at("1957-04", 2023, 3), Some(65));
        assert_eq!(age_at("1958-03", 2023, 3), Some(65));
    }
}
