//! `kubectl hipaa fix`: the scan's judgement of manifests, then for each failed finding the
//! engine's automatic fix (hipaa_controls::fix), shown as a unified diff of the files, written
//! into them in place (`--write`: a splice of the text, so comments, key order and formatting
//! elsewhere stay), or printed as JSON patches per object (`-o patch`, for kustomize and
//! `kubectl patch --type=json`). A default-deny NetworkPolicy a fix creates is appended to the
//! file of the first object that needs it, as a new document; a Secret skeleton is only printed
//! (on standard error), never written: a file of placeholder Secrets invites real values into
//! version control, and applying it would hand the workload a placeholder password.

pub mod edit;
#[cfg(test)]
mod edit_tests;
pub mod files;
mod flow;
pub mod output;
pub mod plan;
pub mod render;
mod text;
pub mod tree;

use std::io::{Read, Write};

use chrono::{DateTime, Utc};
use hipaa_controls::fix::{FixOptions, Mesh};

use crate::Exit;
use crate::cli::{FixArgs, FixFormat, GlobalArgs, MeshChoice};
use crate::input::{self, InputError, InputPath, ReadLimits};
use crate::scan::assumption::NamespaceAssumption;
use crate::scan::passes::check_read;
use crate::scan::policies::{PolicyScope, load_policy_files};

/// Why `kubectl hipaa fix` could not run (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum FixError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("{0}: cannot write the fixed file: {1}")]
    Write(String, std::io::Error),
}

/// Runs the command: output on `out`, notes (findings without an automatic fix, Secret
/// skeletons) on `notes`.
pub fn run(
    args: &FixArgs,
    global: &GlobalArgs,
    stdin: &mut dyn Read,
    out: &mut dyn Write,
    notes: &mut dyn Write,
    now: DateTime<Utc>,
) -> anyhow::Result<Exit> {
    let limits = ReadLimits {
        max_input_bytes: args.max_input_size,
    };
    let inputs = input::expand(&args.files)?;
    if args.write && inputs.contains(&InputPath::Stdin) {
        return Err(InputError::usage(
            "standard input cannot be written in place: drop --write to see the diff, or use -o patch",
        )
        .into());
    }
    let mut scope = PolicyScope::new(load_policy_files(&args.policy, &limits)?);
    let default_namespace = global.namespace.as_deref().unwrap_or("default");
    let options = FixOptions {
        mesh: match args.mesh {
            MeshChoice::Istio => Mesh::Istio,
            MeshChoice::Linkerd => Mesh::Linkerd,
        },
    };
    let (sources, skipped) = plan::read_sources(inputs.clone(), stdin, &limits)?;
    let assumption = NamespaceAssumption::from_flags(
        args.assumption.assume_namespace_labels.as_ref(),
        args.assumption.no_assume_namespace,
        false,
    );
    let plan = plan::plan(
        sources,
        &mut scope,
        plan::PlanOptions {
            default_namespace,
            assumption,
            fix: &options,
            now,
        },
    )?;
    // Empty input is an error, as for scan: the command that produced it probably failed.
    check_read(
        plan.objects_read,
        plan.not_objects + skipped,
        &inputs,
        false,
    )?;
    let edited = files::edit_all(&plan);
    match (args.output, args.write) {
        (FixFormat::Patch, _) => output::write_patches(&plan, out)?,
        (FixFormat::Diff, false) => output::write_diffs(&edited, out)?,
        (FixFormat::Diff, true) => {
            for file in edited.files.iter().filter(|f| f.changed()) {
                let InputPath::File(path) = &file.input else {
                    continue;
                };
                std::fs::write(path, &file.text)
                    .map_err(|err| FixError::Write(file.name.to_string(), err))?;
                writeln!(out, "{}: {}", file.name, file.summary())?;
            }
        }
    }
    output::write_notes(&plan, &edited, notes)?;
    out.flush()?;
    let left = !plan.remaining.is_empty() || !edited.failures.is_empty();
    Ok(if left { Exit::Failed } else { Exit::Ok })
}
