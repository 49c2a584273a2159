//! Left-aligned columns as kubectl prints them: a bold header row, two spaces between columns,
//! no trailing blanks.

use std::io::{self, Write};

use super::Style;

/// Writes `headers` and `rows`, each column as wide as its widest cell.
pub fn write_columns(
    headers: &[&str],
    rows: &[Vec<String>],
    style: Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (cell, width) in cells.zip(&widths) {
            text.push_str(&format!("{cell:<width$}  "));
        }
        text.trim_end().to_string()
    };
    writeln!(out, "{}", style.bold(&line(&mut headers.iter().copied())))?;
    for row in rows {
        writeln!(out, "{}", line(&mut row.iter().map(String::as_str)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn columns_are_as_wide_as_their_widest_cell() {
        let mut out = Vec::new();
        let rows = vec![
            vec!["a".into(), "longer".into()],
            vec!["wider".into(), "b".into()],
        ];
        write_columns(&["X", "Y"], &rows, Style::plain(), &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "X      Y\na      longer\nwider  b\n"
        );
    }
}
