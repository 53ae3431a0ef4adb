//! Text normalisation shared by every stage: width folding, label keys, CJK checks.
//!
//! Schools type full-width `＋`, `（）`, ideographic spaces and labels padded with
//! spaces; everything that compares text goes through [`fold`] or [`key`].

pub mod mutf7;

/// Folds full-width ASCII forms to ASCII and the ideographic space to a space.
pub fn fold(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{3000}' | '\u{00A0}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// A comparison key: folded, without whitespace, without trailing colons, ASCII lowercased.
pub fn key(s: &str) -> String {
    let folded: String = fold(s)
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '\u{200B}' | '\u{FEFF}'))
        .flat_map(char::to_lowercase)
        .collect();
    folded.trim_matches(|c| c == ':' || c == '*').to_string()
}

/// True for CJK unified ideographs (including extension A and compatibility ideographs).
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3134F)
}

/// Could this be a person's name as schools write it: 2–6 CJK characters, optionally with a
/// middle dot (minority names such as 岩温·香), or a short romanised name.
pub fn looks_like_person_name(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    let cjk = chars.iter().filter(|c| is_cjk(**c)).count();
    let dots = chars.iter().filter(|c| matches!(c, '·' | '•' | '.' | '・')).count();
    if cjk >= 2 && cjk + dots == chars.len() && cjk <= 8 {
        return !chars.first().is_some_and(|c| matches!(c, '·' | '•' | '.' | '・'));
    }
    false
}

/// Removes every whitespace character (names in forms are often padded: `张  三`).
pub fn squeeze(s: &str) -> String {
    fold(s).chars().filter(|c| !c.is_whitespace()).collect()
}

/// Cuts `s` to at most `max` characters, for logs and stored snippets.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_full_width_forms() {
        assert_eq!(fold("专家推荐＋昆明学院＋张三"), "专家推荐+昆明学院+张三");
        assert_eq!(fold("（盖章）"), "(盖章)");
    }

    #[test]
    fn keys_ignore_padding_and_colons() {
        assert_eq!(key("姓 名："), "姓名");
        assert_eq!(key("出生年月\n"), "出生年月");
        assert_eq!(key("E-mail"), "e-mail");
        assert_eq!(key("专业领域（专业大类）"), "专业领域(专业大类)");
    }

    #[test]
    fn person_names() {
        assert!(looks_like_person_name("张三"));
        assert!(looks_like_person_name("岩温·香"));
        assert!(!looks_like_person_name("张"));
        assert!(!looks_like_person_name("abc"));
        assert!(!looks_like_person_name("·张三"));
    }
}
