//! `kubectl hipaa controls [ID]`: the catalog as a table, or one control in full (sections,
//! severity, what it applies to, what passes, parameters, remediation), or either as JSON/YAML.

use std::io::Write;

use anyhow::{Context as _, bail};
use hipaa_controls::{Control, catalog, control};

use crate::cli::{ControlsArgs, ControlsFormat};

/// Prints the catalog or one control.
pub fn run(args: &ControlsArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let selected: Vec<&'static Control> = match &args.id {
        Some(id) => {
            let wanted = id.to_ascii_uppercase();
            match control(&wanted) {
                Some(found) => vec![found],
                None => bail!("unknown control {id}; `kubectl hipaa controls` lists them"),
            }
        }
        None => catalog().iter().collect(),
    };
    let document = || -> anyhow::Result<serde_json::Value> {
        Ok(match (&args.id, selected.as_slice()) {
            (Some(_), [one]) => serde_json::to_value(one)?,
            _ => serde_json::to_value(&selected)?,
        })
    };
    match args.output {
        ControlsFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &document()?).context("cannot write JSON")?;
            writeln!(out)?;
        }
        ControlsFormat::Yaml => out.write_all(
            yaml_serde::to_string(&document()?)
                .context("cannot write YAML")?
                .as_bytes(),
        )?,
        ControlsFormat::Table if args.id.is_some() => {
            for control in &selected {
                write_detail(control, out)?;
            }
        }
        ControlsFormat::Table => write_table(&selected, out)?,
    }
    Ok(())
}

fn write_table(controls: &[&'static Control], out: &mut dyn Write) -> std::io::Result<()> {
    let rows: Vec<[String; 5]> = controls
        .iter()
        .map(|c| {
            [
                c.id.to_string(),
                c.severity.to_string(),
                c.evaluated_where(),
                c.sections.join(", "),
                c.title.to_string(),
            ]
        })
        .collect();
    let headers = ["ID", "SEVERITY", "EVALUATED", "SECTIONS (45 CFR)", "TITLE"];
    let mut widths = headers.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String; 5]| {
        let mut text = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  "));
            }
        }
        text
    };
    writeln!(out, "{}", line(&headers.map(str::to_string)))?;
    for row in &rows {
        writeln!(out, "{}", line(row))?;
    }
    writeln!(
        out,
        "\nDetails, parameters and remediation: kubectl hipaa controls <ID>"
    )
}

fn write_detail(control: &Control, out: &mut dyn Write) -> std::io::Result<()> {
    let targets: Vec<&str> = control.targets.iter().map(|t| t.as_str()).collect();
    writeln!(out, "{}: {}", control.id, control.title)?;
    writeln!(out, "Severity:     {}", control.severity)?;
    writeln!(out, "Sections:     45 CFR {}", control.sections.join(", "))?;
    writeln!(out, "Applies to:   {}", targets.join(", "))?;
    writeln!(out, "Evaluated:    {}", control.evaluated_where())?;
    writeln!(out, "Passes when:  {}", control.description)?;
    if control.parameters.is_empty() {
        writeln!(out, "Parameters:   none")?;
    } else {
        writeln!(
            out,
            "Parameters (spec.controls[].parameters in a HipaaPolicy):"
        )?;
        for parameter in control.parameters {
            writeln!(
                out,
                "  {} (default {}): {}",
                parameter.name, parameter.default, parameter.description
            )?;
        }
    }
    writeln!(out, "Remediation:  {}", control.remediation)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn run_to_string(id: Option<&str>, output: ControlsFormat) -> anyhow::Result<String> {
        let mut out = Vec::new();
        run(
            &ControlsArgs {
                id: id.map(str::to_string),
                output,
            },
            &mut out,
        )?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn the_table_lists_every_control() {
        let text = run_to_string(None, ControlsFormat::Table).unwrap();
        for control in catalog() {
            assert!(text.contains(control.id), "{} missing", control.id);
        }
    }

    #[test]
    fn one_control_shows_sections_parameters_and_remediation() {
        let netpol = control("HIPAA-K8S-NETPOL").unwrap();
        let text = run_to_string(Some("hipaa-k8s-netpol"), ControlsFormat::Table).unwrap();
        assert!(text.starts_with(&format!("HIPAA-K8S-NETPOL: {}", netpol.title)));
        assert!(text.contains(netpol.sections[0]));
        assert!(text.contains(netpol.remediation));
        for parameter in netpol.parameters {
            assert!(text.contains(parameter.name));
        }
    }

    #[test]
    fn json_and_yaml_carry_the_catalog_and_unknown_ids_are_errors() {
        let json: serde_json::Value =
            serde_json::from_str(&run_to_string(None, ControlsFormat::Json).unwrap()).unwrap();
        assert_eq!(json.as_array().unwrap().len(), catalog().len());
        let yaml: serde_json::Value = yaml_serde::from_str(
            &run_to_string(Some("HIPAA-K8S-HA"), ControlsFormat::Yaml).unwrap(),
        )
        .unwrap();
        assert_eq!(yaml["id"], "HIPAA-K8S-HA");
        let err = run_to_string(Some("HIPAA-NOPE"), ControlsFormat::Table).unwrap_err();
        assert!(err.to_string().contains("unknown control HIPAA-NOPE"));
    }
}
