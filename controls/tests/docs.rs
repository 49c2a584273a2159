//! docs/controls.md agrees with the catalog: one row per control with its severity and sections.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use hipaa_controls::catalog;

#[test]
fn the_controls_page_lists_every_control_as_the_catalog_defines_it() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/controls.md");
    let page = std::fs::read_to_string(path).unwrap();
    for control in catalog() {
        let prefix = format!("| `{}` |", control.id);
        let row = page
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no row for {}", control.id));
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        assert_eq!(cells[2], control.title, "{}", control.id);
        assert_eq!(cells[3], control.severity.as_str(), "{}", control.id);
        assert_eq!(cells[4], control.sections.join(", "), "{}", control.id);
        for parameter in control.parameters {
            assert!(
                cells[7].contains(&format!(
                    "`{}` (default {})",
                    parameter.name, parameter.default
                )),
                "{}",
                control.id
            );
        }
        assert_eq!(
            cells[6].contains("opt-in"),
            control.opt_in,
            "{}: the scope cell says opt-in exactly for opt-in controls",
            control.id
        );
        assert!(
            page.contains(&format!("### `{}`: {}", control.id, control.title)),
            "{}",
            control.id
        );
    }
}
