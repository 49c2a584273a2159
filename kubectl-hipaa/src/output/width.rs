//! How wide the text output may be: `--width`, else `COLUMNS`, else the terminal's width when
//! standard output is one, else 100 columns (a log, a file, a pipe).

use std::io::IsTerminal;

/// The width when nothing says otherwise.
pub const DEFAULT_WIDTH: usize = 100;
/// Narrower than this, wrapping stops helping: the text would be a column of single words.
pub const MIN_WIDTH: usize = 40;

/// The width to wrap standard output's text at.
pub fn for_stdout(flag: Option<usize>) -> usize {
    let columns = std::env::var("COLUMNS").ok();
    let terminal = if std::io::stdout().is_terminal() {
        terminal_width()
    } else {
        None
    };
    choose(flag, columns.as_deref(), terminal)
}

/// The first of `flag`, `columns` (the `COLUMNS` variable, when a positive number) and
/// `terminal`, else [`DEFAULT_WIDTH`]; never below [`MIN_WIDTH`].
pub fn choose(flag: Option<usize>, columns: Option<&str>, terminal: Option<usize>) -> usize {
    let columns = columns
        .and_then(|text| text.trim().parse::<usize>().ok())
        .filter(|&n| n > 0);
    flag.or(columns)
        .or(terminal)
        .unwrap_or(DEFAULT_WIDTH)
        .max(MIN_WIDTH)
}

/// The terminal's columns, from the window size of standard output.
#[cfg(unix)]
fn terminal_width() -> Option<usize> {
    let size = rustix::termios::tcgetwinsize(std::io::stdout()).ok()?;
    Some(usize::from(size.ws_col)).filter(|&n| n > 0)
}

#[cfg(not(unix))]
fn terminal_width() -> Option<usize> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_then_columns_then_the_terminal_then_100() {
        assert_eq!(choose(Some(72), Some("120"), Some(200)), 72);
        assert_eq!(choose(None, Some("120"), Some(200)), 120);
        assert_eq!(choose(None, Some(" 90\n"), None), 90);
        assert_eq!(choose(None, None, Some(200)), 200);
        assert_eq!(choose(None, None, None), DEFAULT_WIDTH);
    }

    #[test]
    fn nonsense_columns_are_ignored_and_tiny_widths_raised() {
        assert_eq!(choose(None, Some("wide"), Some(150)), 150);
        assert_eq!(choose(None, Some("0"), None), DEFAULT_WIDTH);
        assert_eq!(choose(None, Some("-5"), None), DEFAULT_WIDTH);
        assert_eq!(choose(Some(10), None, None), MIN_WIDTH);
    }
}
