//! Making directory text safe to print on a terminal. A value read from AD can carry escape
//! sequences that recolour, retitle or rewrite the screen (OSC 52 can even set the clipboard),
//! so every value is cleaned before it reaches a terminal.

/// Removes ANSI escape sequences (ESC and C1 introduced: CSI, OSC, DCS, SOS, PM, APC and
/// two-character escapes), every other C0 control, DEL and C1 control, and the Unicode
/// bidirectional overrides/isolates that reorder what is displayed. Tab, CR and LF become a
/// space so words stay apart.
pub fn terminal_safe(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                Some('[') => skip_csi(&mut chars),
                Some(']' | 'P' | 'X' | '^' | '_') => skip_string(&mut chars),
                // Two-character escape (ESC c, ESC 7, ...): the second char is consumed.
                _ => {}
            },
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            '\t' | '\n' | '\r' => out.push(' '),
            c if is_control(c) || is_bidi_control(c) => {}
            c => out.push(c),
        }
    }
    out
}

fn is_control(c: char) -> bool {
    (c as u32) < 0x20 || (0x7f..=0x9f).contains(&(c as u32))
}

/// LRE, RLE, PDF, LRO, RLO and the isolates LRI, RLI, FSI, PDI ("Trojan Source").
pub(crate) fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Whether `s` holds a character [`is_bidi_control`] names. Every such character is
/// encoded in UTF-8 starting with byte 0xE2, so text without that byte (nearly all of a
/// directory) is ruled out by one vectorised byte search instead of decoding each char.
pub(crate) fn has_bidi_control(s: &str) -> bool {
    s.as_bytes().contains(&0xE2) && s.chars().any(is_bidi_control)
}

/// CSI: parameter and intermediate bytes up to a final byte 0x40..=0x7e.
fn skip_csi(chars: &mut impl Iterator<Item = char>) {
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) {
            break;
        }
    }
}

/// OSC/DCS/SOS/PM/APC: everything up to BEL, ST (ESC \) or C1 ST.
fn skip_string(chars: &mut std::iter::Peekable<impl Iterator<Item = char>>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => break,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                break;
            }
            _ => {}
        }
    }
}

/// Shortens to at most `max` characters (an ellipsis marks the cut), so a 64 KiB name does not
/// swallow the terminal.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_controls_are_found_by_their_lead_byte_and_nothing_else() {
        for c in ('\u{202a}'..='\u{202e}').chain('\u{2066}'..='\u{2069}') {
            assert!(
                has_bidi_control(&format!("cifs/{c}HV01")),
                "{:04X}",
                c as u32
            );
        }
        // Other characters starting with 0xE2 (dashes, arrows, U+2069's neighbours) are not.
        assert!(!has_bidi_control(
            "HV01 \u{2013} \u{2192} \u{2065}\u{206a}\u{2029}\u{202f}"
        ));
        assert!(!has_bidi_control("Ünïcødé-主机 cifs/hv01.lab.test"));
        assert!(!has_bidi_control(""));
    }

    #[test]
    fn strips_escape_sequences_and_controls() {
        assert_eq!(terminal_safe("a\u{1b}[31mred\u{1b}[0m"), "ared");
        assert_eq!(terminal_safe("x\u{1b}]0;title\u{7}y"), "xy");
        assert_eq!(terminal_safe("x\u{1b}]52;c;aGk=\u{1b}\\y"), "xy");
        assert_eq!(terminal_safe("a\u{9b}2Jb"), "ab");
        assert_eq!(terminal_safe("a\u{0}b\u{7f}c\u{85}d"), "abcd");
        assert_eq!(terminal_safe("a\tb\r\nc"), "a b  c");
        assert_eq!(terminal_safe("ab\u{202e}cd"), "abcd");
        assert_eq!(terminal_safe("Ünïcødé-主机"), "Ünïcødé-主机");
        // An unterminated sequence eats the rest rather than leaking a partial escape.
        assert_eq!(terminal_safe("a\u{1b}[12"), "a");
    }

    #[test]
    fn truncates_by_characters() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("主机主机", 4), "主机主机");
        assert_eq!(truncate("主机主机x", 4), "主机主…");
    }
}
