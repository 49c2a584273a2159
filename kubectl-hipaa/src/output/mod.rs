//! Printing a scan: grouped text (the default), table, JSON, SARIF 2.1.0 and JUnit XML.

pub mod columns;
pub mod json;
pub mod junit;
pub mod sarif;
pub mod style;
pub mod table;
pub mod text;
pub mod width;
pub mod wrap;

use std::io::{self, Write};

pub use style::Style;

use crate::cli::ScanFormat;
use crate::scan::model::ScanReport;

/// Writes `report` in `format`; `style` only affects the text and the table, `width` the text.
pub fn write_scan(
    report: &ScanReport,
    format: ScanFormat,
    style: Style,
    width: usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        ScanFormat::Text => text::write(report, style, width, out),
        ScanFormat::Table => table::write(report, style, out),
        ScanFormat::Json => json::write(report, out),
        ScanFormat::Sarif => sarif::write(report, out),
        ScanFormat::Junit => junit::write(report, out),
    }
}
