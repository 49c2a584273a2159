//! The human form of `kubectl hipaa access`: one row per subject, access and path, namespace by
//! namespace (ALLOWED: whether the allowedSubjects of the control that judges the access allow the
//! subject; `-` where no control judges it), then what the review could not know.

use std::io::{self, Write};

use super::{AccessDocument, ReviewedGrant};
use crate::output::Style;
use crate::output::columns::write_columns;

const HEADERS: [&str; 7] = [
    "NAMESPACE",
    "SUBJECT",
    "ACCESS",
    "ALLOWED",
    "VERBS",
    "RESOURCES",
    "GRANTED BY",
];

pub fn write(document: &AccessDocument, style: Style, out: &mut dyn Write) -> io::Result<()> {
    if document.namespaces.is_empty() {
        return writeln!(
            out,
            "No HipaaPolicy selects any namespace: there is no PHI namespace to review."
        );
    }
    let rows: Vec<Vec<String>> = document
        .namespaces
        .iter()
        .flat_map(|ns| ns.grants.iter().map(|grant| row(&ns.namespace, grant)))
        .collect();
    if rows.is_empty() {
        writeln!(out, "No subject has any of the reviewed accesses.")?;
    } else {
        write_columns(&HEADERS, &rows, style, out)?;
    }
    for namespace in &document.namespaces {
        if namespace.policies.is_empty() {
            writeln!(
                out,
                "{}",
                style.dim(&format!(
                    "note: no HipaaPolicy selects {}: it is out of HIPAA scope",
                    namespace.namespace
                ))
            )?;
        }
        for problem in &namespace.problems {
            writeln!(
                out,
                "{}",
                style.error(&format!(
                    "incomplete in {}: {}: {}",
                    namespace.namespace, problem.binding, problem.message
                ))
            )?;
        }
    }
    Ok(())
}

fn row(namespace: &str, reviewed: &ReviewedGrant) -> Vec<String> {
    let grant = &reviewed.grant;
    let mut resources = grant.resources.join(",");
    if let Some(names) = &grant.names {
        resources.push_str(&format!(" (only {})", names.join(",")));
    }
    vec![
        namespace.to_owned(),
        grant.subject.to_string(),
        grant.access.to_string(),
        reviewed.allowed_text().to_owned(),
        grant.verbs.join(","),
        resources,
        grant.path(),
    ]
}
