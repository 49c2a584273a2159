//! Greedy word wrapping to a width, with the first line's and the other lines' indents given:
//! the text output's problems, fixes and notes. Widths count characters; a word longer than a
//! line (a path, an ARN) gets a line of its own rather than being cut.

/// The lines of `text` (whitespace-separated words joined by one space) wrapped at `width`:
/// the first starts with `first`, the others with `rest`. Never an empty list.
pub fn wrap(text: &str, first: &str, rest: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = first.to_string();
    let mut line_width = first.chars().count();
    let mut empty = true;
    for word in text.split_whitespace() {
        let word_width = word.chars().count();
        if !empty && line_width + 1 + word_width > width {
            lines.push(std::mem::replace(&mut line, rest.to_string()));
            line_width = rest.chars().count();
            empty = true;
        }
        if !empty {
            line.push(' ');
            line_width += 1;
        }
        line.push_str(word);
        line_width += word_width;
        empty = false;
    }
    lines.push(line.trim_end().to_string());
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_fill_each_line_up_to_the_width_with_hanging_indents() {
        let lines = wrap("aa bb cc dd ee", "> ", "  ", 8);
        assert_eq!(lines, ["> aa bb", "  cc dd", "  ee"]);
        assert!(lines.iter().all(|l| l.chars().count() <= 8));
    }

    #[test]
    fn a_long_word_gets_its_own_line_and_blanks_collapse() {
        assert_eq!(
            wrap("see  /a/very/long/path/name here", "", "    ", 12),
            ["see", "    /a/very/long/path/name", "    here"]
        );
        assert_eq!(wrap("", "- ", "  ", 10), ["-"]);
        assert_eq!(wrap("fits", "", "", 4), ["fits"]);
    }
}
