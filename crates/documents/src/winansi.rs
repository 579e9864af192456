//! Text in the standard fonts' WinAnsi encoding, and Helvetica's widths for
//! laying it out.

/// The byte for `c` in WinAnsiEncoding; '?' for characters it lacks.
pub fn byte(c: char) -> u8 {
    let code = c as u32;
    match c {
        ' '..='~' => code as u8,
        '\u{a0}'..='\u{ff}' => code as u8,
        '€' => 0x80,
        '‚' => 0x82,
        '„' => 0x84,
        '…' => 0x85,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '™' => 0x99,
        '\t' => b' ',
        _ => b'?',
    }
}

/// `s` encoded for a PDF string in a WinAnsi font.
pub fn encode(s: &str) -> Vec<u8> {
    s.chars().map(byte).collect()
}

/// Helvetica's advance widths (thousandths of an em) for 32..=126.
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278,
    278, // space to /
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // 0-9
    278, 278, 584, 584, 584, 556, 1015, // : to @
    667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667,
    611, 722, 667, 944, 667, 667, 611, // A-Z
    278, 278, 278, 469, 556, 333, // [ to `
    556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500,
    278, 556, 500, 722, 500, 500, 500, // a-z
    334, 260, 334, 584, // { to ~
];

/// Helvetica-Bold's advance widths for 32..=126.
const HELVETICA_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278,
    278, // space to /
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // 0-9
    333, 333, 584, 584, 584, 611, 975, // : to @
    722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667,
    611, 722, 667, 944, 667, 667, 611, // A-Z
    333, 278, 333, 584, 556, 333, // [ to `
    556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611, 611, 611, 389, 556,
    333, 611, 556, 778, 556, 556, 500, // a-z
    389, 280, 389, 584, // { to ~
];

/// The width of `s` in points at `size`.
pub fn width(s: &str, size: f32, bold: bool) -> f32 {
    let table = if bold { &HELVETICA_BOLD } else { &HELVETICA };
    let units: u32 = s
        .chars()
        .map(|c| {
            let b = byte(c);
            if (32..=126).contains(&b) {
                u32::from(table[usize::from(b - 32)])
            } else {
                // Accented letters and typographic marks: about an average letter.
                600
            }
        })
        .sum();
    units as f32 * size / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pound_signs_curly_quotes_and_dashes_survive() {
        assert_eq!(
            encode("£12 – “x”"),
            vec![0xa3, b'1', b'2', b' ', 0x96, b' ', 0x93, b'x', 0x94]
        );
        assert_eq!(encode("日本"), b"??".to_vec());
    }

    #[test]
    fn widths_follow_the_font() {
        assert!((width("Hello", 10.0, false) - 22.78).abs() < 0.01);
        assert!(width("Hello", 10.0, true) > width("Hello", 10.0, false));
    }
}
