//! HIPAA-K8S-PHI-SCOPE: a label change does not take a namespace that holds workloads out of the
//! scope of a HipaaPolicy that governed it. A transition, judged at admission only
//! (`crate::engine::evaluate_namespace_departures` knows the old and the new labels); the audit
//! and offline scans see one state and never run it.

use crate::check::{Subject, Verdict};

/// The verdict for a namespace whose new labels leave `policy`'s namespaceSelector: Fail when it
/// holds workloads (`held`: kind names and counts, e.g. `[("Deployment", 1), ("Pod", 2)]`), Pass
/// when it holds none (nothing would be left ungoverned).
pub(crate) fn verdict(subject: Subject<'_>, policy: &str, held: &[(&str, usize)]) -> Verdict {
    let held: Vec<String> = held
        .iter()
        .filter(|(_, count)| *count > 0)
        .map(|(kind, count)| plural(kind, *count))
        .collect();
    if held.is_empty() {
        return Verdict::Pass;
    }
    Verdict::Fail(format!(
        "{subject}: the new labels take it out of the scope of HipaaPolicy {policy} (its \
         namespaceSelector matches the old labels, not the new ones) while it holds {}",
        held.join(", ")
    ))
}

/// `1 Deployment`, `3 Pods`: every workload kind's plural is its name and an `s`.
fn plural(kind: &str, count: usize) -> String {
    if count == 1 {
        format!("{count} {kind}")
    } else {
        format!("{count} {kind}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject() -> Subject<'static> {
        Subject {
            kind: "Namespace",
            namespace: None,
            name: "billing",
        }
    }

    #[test]
    fn an_empty_namespace_may_leave() {
        assert_eq!(verdict(subject(), "phi", &[]), Verdict::Pass);
        assert_eq!(verdict(subject(), "phi", &[("Pod", 0)]), Verdict::Pass);
    }

    #[test]
    fn a_namespace_with_workloads_fails_naming_the_policy_and_what_it_holds() {
        let Verdict::Fail(message) = verdict(subject(), "phi", &[("Deployment", 1), ("Pod", 3)])
        else {
            panic!("not a failure")
        };
        assert_eq!(
            message,
            "Namespace billing: the new labels take it out of the scope of HipaaPolicy phi (its \
             namespaceSelector matches the old labels, not the new ones) while it holds \
             1 Deployment, 3 Pods"
        );
    }
}
