//! HIPAA-K8S-PRIVILEGED: no privileged container or host namespace, no privilege escalation,
//! and every container runs as non-root.

use crate::check::{Check, Verdict};
use crate::k8s::{containers, verdict_from};

pub(crate) fn check(check: &Check<'_>) -> Verdict {
    let Some(template) = check.template else {
        return Verdict::NotApplicable;
    };
    let Some(spec) = template.spec else {
        return Verdict::Pass;
    };
    let mut problems = Vec::new();
    for (on, field) in [
        (spec.host_network, "hostNetwork"),
        (spec.host_pid, "hostPID"),
        (spec.host_ipc, "hostIPC"),
    ] {
        if on == Some(true) {
            problems.push(format!("{field} is on"));
        }
    }
    let pod = spec.security_context.as_ref();
    for container in containers(spec) {
        let name = container.name;
        let sc = container.security_context;
        if sc.and_then(|s| s.privileged) == Some(true) {
            problems.push(format!("container {name} is privileged"));
        }
        if sc.and_then(|s| s.allow_privilege_escalation) != Some(false) {
            problems.push(format!(
                "container {name} does not set allowPrivilegeEscalation: false"
            ));
        }
        let user = sc
            .and_then(|s| s.run_as_user)
            .or(pod.and_then(|p| p.run_as_user));
        let non_root = sc
            .and_then(|s| s.run_as_non_root)
            .or(pod.and_then(|p| p.run_as_non_root));
        match (user, non_root) {
            (Some(0), _) => problems.push(format!("container {name} runs as user 0")),
            (Some(_), _) | (None, Some(true)) => {}
            (None, _) => problems.push(format!(
                "container {name} may run as root (runAsNonRoot is not true)"
            )),
        }
    }
    verdict_from(check.subject, problems)
}
