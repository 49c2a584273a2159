//! HIPAA-K8S-SA-TOKEN (opt-in): PHI pods do not run as the `default` ServiceAccount, and do not
//! carry the token of a ServiceAccount that can change the cluster. The pod's
//! automountServiceAccountToken wins over the ServiceAccount's; unset on both means mounted, as
//! the API server's ServiceAccount admission plugin decides.

use crate::access::{AccessEvidence, Identity};
use crate::check::{Check, Verdict};

/// The ServiceAccount a pod without serviceAccountName runs as.
const DEFAULT_ACCOUNT: &str = "default";

pub(crate) fn check(check: &Check<'_>) -> Verdict {
    let Some(template) = check.template else {
        return Verdict::NotApplicable;
    };
    let spec = template.spec;
    let account = spec
        .and_then(|s| {
            s.service_account_name
                .as_deref()
                .filter(|name| !name.is_empty())
                .or(s.service_account.as_deref())
        })
        .filter(|name| !name.is_empty())
        .unwrap_or(DEFAULT_ACCOUNT);
    let subject = check.subject;
    if account == DEFAULT_ACCOUNT {
        return Verdict::Fail(format!(
            "{subject}: its pods run as the default ServiceAccount, which every pod of the \
             namespace shares"
        ));
    }
    let namespace = subject.namespace.unwrap_or("default");
    let pod_automount = spec.and_then(|s| s.automount_service_account_token);
    if pod_automount == Some(false) {
        return Verdict::Pass;
    }
    let model = match check.ctx.access() {
        AccessEvidence::Known(model) => model,
        AccessEvidence::NotObserved => {
            return Verdict::Error(format!(
                "cannot evaluate {subject}: the RBAC of ServiceAccount {namespace}/{account} \
                 is not known (add its Roles and bindings to the inputs, or scan with --cluster)"
            ));
        }
        AccessEvidence::Unreadable(reason) => {
            return Verdict::Error(format!("cannot evaluate {subject}: {reason}"));
        }
    };
    let account_automount = model
        .service_account_automount(namespace, account)
        .flatten();
    if pod_automount.or(account_automount) == Some(false) {
        return Verdict::Pass;
    }
    match model.write_access(&Identity::service_account(namespace, account)) {
        Ok(None) => Verdict::Pass,
        Ok(Some(path)) => Verdict::Fail(format!(
            "{subject}: its pods mount the token of ServiceAccount {namespace}/{account}, which \
             can change the cluster through {path}"
        )),
        Err(problem) => Verdict::Error(format!(
            "cannot evaluate {subject}: the rights of ServiceAccount {namespace}/{account} are \
             not known: {} {}",
            problem.binding, problem.message
        )),
    }
}
