//! Terminal colour for tables: ANSI escapes when colour is on (a terminal, NO_COLOR unset, or
//! `--color always`), plain text otherwise.

use std::io::IsTerminal;

use hipaa_controls::model::Severity;

use crate::cli::ColorChoice;

/// Whether to colour, decided once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
}

impl Style {
    /// Colour for standard output under `choice`.
    pub fn for_stdout(choice: ColorChoice) -> Self {
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        };
        Style { color }
    }

    pub fn plain() -> Self {
        Style { color: false }
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    pub fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }

    pub fn pass(self, text: &str) -> String {
        self.paint("32", text)
    }

    /// Checks that could not be evaluated.
    pub fn error(self, text: &str) -> String {
        self.paint("35", text)
    }

    pub fn severity(self, severity: Severity, text: &str) -> String {
        let code = match severity {
            Severity::Critical => "1;31",
            Severity::High => "31",
            Severity::Medium => "33",
            Severity::Low => "36",
        };
        self.paint(code, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_style_adds_no_escapes_and_colour_does() {
        assert_eq!(Style::plain().severity(Severity::High, "HIGH"), "HIGH");
        assert_eq!(
            Style { color: true }.severity(Severity::High, "HIGH"),
            "\x1b[31mHIGH\x1b[0m"
        );
        assert_eq!(Style::for_stdout(ColorChoice::Never), Style::plain());
    }
}
