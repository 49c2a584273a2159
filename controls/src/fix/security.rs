//! HIPAA-K8S-PRIVILEGED: host namespaces off, and in every container privileged off, privilege
//! escalation off and `runAsNonRoot: true`. A container that explicitly runs as user 0 is left
//! alone: which user it should run as is not ours to guess.

use serde_json::{Map, Value, json};

use super::pointer::{self, Pointer};
use super::{Change, PatchOp};
use crate::object::Object;
use crate::object::pod_spec::SecurityContext;

pub(crate) fn fix(object: &Object) -> Option<Change> {
    let template = object.pod_template()?;
    let spec = template.spec?;
    let spec_at = pointer::pod_spec(object)?;
    let mut patch = Vec::new();
    let mut done = Vec::new();
    let mut unfixed = Vec::new();
    for (on, field) in [
        (spec.host_network, "hostNetwork"),
        (spec.host_pid, "hostPID"),
        (spec.host_ipc, "hostIPC"),
    ] {
        if on == Some(true) {
            patch.push(PatchOp::Replace {
                path: spec_at.key(field).into_string(),
                value: Value::Bool(false),
            });
            done.push(format!("{field}: false"));
        }
    }
    let pod = spec.security_context.as_ref();
    for (at, container) in pointer::containers(&spec_at, spec) {
        let sc = container.security_context.as_ref();
        let user = sc
            .and_then(|s| s.run_as_user)
            .or(pod.and_then(|p| p.run_as_user));
        let non_root = sc
            .and_then(|s| s.run_as_non_root)
            .or(pod.and_then(|p| p.run_as_non_root));
        let mut fields: Vec<(&str, bool)> = Vec::new();
        if sc.and_then(|s| s.privileged) == Some(true) {
            fields.push(("privileged", false));
        }
        if sc.and_then(|s| s.allow_privilege_escalation) != Some(false) {
            fields.push(("allowPrivilegeEscalation", false));
        }
        match (user, non_root) {
            (Some(0), _) => unfixed.push(format!(
                "container {} runs as user 0: choose a non-root user (runAsUser) for it",
                container.name
            )),
            (Some(_), _) | (None, Some(true)) => {}
            (None, _) => fields.push(("runAsNonRoot", true)),
        }
        if fields.is_empty() {
            continue;
        }
        let names: Vec<String> = fields.iter().map(|(f, v)| format!("{f}: {v}")).collect();
        done.push(format!(
            "container {}: {}",
            container.name,
            names.join(", ")
        ));
        set_fields(&mut patch, &at.key("securityContext"), sc, &fields);
    }
    let description = format!("set {}", done.join("; "));
    Some(Change {
        description,
        patch,
        create: Vec::new(),
        unfixed,
    })
}

/// Sets boolean fields of a container's securityContext: one `add` of the whole context when it
/// is absent, otherwise one operation per field (`replace` where the field is set).
fn set_fields(
    patch: &mut Vec<PatchOp>,
    at: &Pointer,
    current: Option<&SecurityContext>,
    fields: &[(&str, bool)],
) {
    let Some(current) = current else {
        let members: Map<String, Value> = fields
            .iter()
            .map(|(f, v)| ((*f).to_string(), Value::Bool(*v)))
            .collect();
        patch.push(PatchOp::Add {
            path: at.clone().into_string(),
            value: Value::Object(members),
        });
        return;
    };
    for (field, value) in fields {
        let present = match *field {
            "privileged" => current.privileged.is_some(),
            "allowPrivilegeEscalation" => current.allow_privilege_escalation.is_some(),
            "runAsNonRoot" => current.run_as_non_root.is_some(),
            _ => false,
        };
        let path = at.key(field).into_string();
        patch.push(if present {
            PatchOp::Replace {
                path,
                value: json!(value),
            }
        } else {
            PatchOp::Add {
                path,
                value: json!(value),
            }
        });
    }
}
