//! The `allowedSubjects` parameter of the access controls: entries `User:NAME`, `Group:NAME` and
//! `ServiceAccount:NAMESPACE:NAME`, with `*` matching any run of characters, and whether a subject
//! is allowed under the lists of every policy that governs a namespace.

use super::subject::Subject;
use crate::catalog::DEFAULT_ALLOWED_SUBJECTS;
use crate::policy::{Parameters, glob_matches};
pub use crate::validate::parse_allowed_subject;

/// Whether one list allows `subject`. Entries that do not parse allow nothing (the policy's
/// validation reports them).
pub fn list_allows<S: AsRef<str>>(list: &[S], subject: &Subject) -> bool {
    let text = match subject {
        Subject::User { name } | Subject::Group { name } => name.clone(),
        Subject::ServiceAccount { namespace, name } => format!("{namespace}:{name}"),
    };
    list.iter().any(|entry| {
        parse_allowed_subject(entry.as_ref())
            .is_ok_and(|(kind, pattern)| kind == subject.kind() && glob_matches(pattern, &text))
    })
}

/// Whether `subject` is allowed under `parameters`: by every list the merged policies set, or by
/// the default list when none sets one.
pub fn is_allowed(parameters: &Parameters, subject: &Subject) -> bool {
    if parameters.allowed_subject_lists.is_empty() {
        return list_allows(DEFAULT_ALLOWED_SUBJECTS, subject);
    }
    parameters
        .allowed_subject_lists
        .iter()
        .all(|list| list_allows(list, subject))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn user(name: &str) -> Subject {
        Subject::User { name: name.into() }
    }

    fn sa(namespace: &str, name: &str) -> Subject {
        Subject::ServiceAccount {
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    #[test]
    fn entries_parse_by_kind_and_bad_ones_say_why() {
        assert_eq!(parse_allowed_subject("User:alice"), Ok(("User", "alice")));
        assert_eq!(
            parse_allowed_subject("Group:system:masters"),
            Ok(("Group", "system:masters"))
        );
        assert!(parse_allowed_subject("ServiceAccount:billing:api").is_ok());
        assert!(
            parse_allowed_subject("ServiceAccount:api")
                .unwrap_err()
                .contains("NAMESPACE:NAME")
        );
        assert!(
            parse_allowed_subject("Robot:r2")
                .unwrap_err()
                .contains("unknown subject kind")
        );
        assert!(parse_allowed_subject("alice").is_err());
        assert!(parse_allowed_subject("User:").is_err());
        assert!(parse_allowed_subject("User:al ice").is_err());
    }

    #[test]
    fn the_default_list_allows_the_control_plane_and_nobody_else() {
        let defaults = Parameters::default();
        assert!(is_allowed(
            &defaults,
            &Subject::Group {
                name: "system:masters".into()
            }
        ));
        assert!(is_allowed(
            &defaults,
            &sa("kube-system", "namespace-controller")
        ));
        assert!(is_allowed(&defaults, &user("eks:addon-manager")));
        assert!(!is_allowed(&defaults, &user("alice")));
        assert!(!is_allowed(&defaults, &sa("billing", "api")));
        // A kind must match: a Group named like an allowed User is not allowed.
        assert!(!is_allowed(
            &defaults,
            &Subject::Group {
                name: "system:kube-controller-manager".into()
            }
        ));
    }

    #[test]
    fn every_list_set_must_allow_the_subject() {
        let parameters = Parameters {
            allowed_subject_lists: vec![
                vec!["User:alice".into(), "User:bob".into()],
                vec!["User:a*".into()],
            ],
            ..Parameters::default()
        };
        assert!(is_allowed(&parameters, &user("alice")));
        assert!(!is_allowed(&parameters, &user("bob")));
        // A list that is set replaces the default one.
        assert!(!is_allowed(
            &parameters,
            &Subject::Group {
                name: "system:masters".into()
            }
        ));
    }
}
