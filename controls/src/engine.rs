//! The entry points: judge one Kubernetes object (or one change the object alone does not show:
//! a NetworkPolicy's creation, update or deletion, a workload's scale, a namespace's label change)
//! against every control the effective policy applies, and turn verdicts into findings with
//! exceptions applied.

use chrono::{DateTime, Utc};
use hipaa_crds::HipaaPolicy;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::networking::v1::NetworkPolicy;

use crate::access::AccessModel;
use crate::catalog::{self, ids};
use crate::check::{Check, Subject, Verdict};
use crate::context::ClusterContext;
use crate::k8s;
use crate::model::{Control, ExceptionRef, Finding, Outcome, Scope};
use crate::object::{Object, ObjectKind};
use crate::policy::{EffectivePolicy, Parameters};

/// Where an evaluation runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// On the admission path: Scope::KubernetesAudit controls are skipped.
    Admission,
    /// Audits and offline scans: every Kubernetes control runs.
    Audit,
}

/// What one evaluation found: findings for the controls that did not pass, and every control
/// that was checked (passing or not), so that callers can count passes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Evaluation {
    pub findings: Vec<Finding>,
    pub checked: Vec<&'static Control>,
}

impl Evaluation {
    /// True when no finding is a violation (failed and not waived) or an error.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty() || self.findings.iter().all(|f| f.outcome == Outcome::Excepted)
    }

    /// The findings that are real violations.
    pub fn violations(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.is_violation())
    }
}

/// Judges `object` against every control `policy` applies. Controls that do not target the
/// object's kind are neither checked nor reported; AWS controls never run here.
pub fn evaluate(
    object: &Object,
    ctx: &ClusterContext,
    policy: &EffectivePolicy,
    mode: Mode,
    now: DateTime<Utc>,
) -> Evaluation {
    let subject = Subject {
        kind: object.kind(),
        namespace: object.effective_namespace(),
        name: object.name(),
    };
    let template = object.pod_template();
    let mut out = Evaluation {
        findings: Vec::new(),
        checked: Vec::with_capacity(12),
    };
    for control in catalog::catalog() {
        let runs = match control.scope {
            Scope::Kubernetes => true,
            Scope::KubernetesAudit => mode == Mode::Audit,
            // Transitions need the old object too: `evaluate_namespace_departures`.
            Scope::KubernetesAdmission | Scope::Aws => false,
        };
        if !runs {
            continue;
        }
        let Some(setting) = policy.setting(control.id) else {
            continue;
        };
        let check = Check {
            object,
            subject,
            template,
            ctx,
            parameters: &setting.parameters,
        };
        let verdict = k8s::run(control.id, &check);
        record(
            &mut out,
            control,
            verdict,
            subject,
            setting.enforcement,
            policy,
            now,
        );
    }
    out
}

/// Judges the creation of a NetworkPolicy under HIPAA-K8S-NETPOL: a finding when a rule of it
/// lets everything in (see k8s::netpol); a new policy cannot otherwise uncover pods.
pub fn evaluate_network_policy_creation(
    np: &NetworkPolicy,
    ctx: &ClusterContext,
    policy: &EffectivePolicy,
    now: DateTime<Utc>,
) -> Evaluation {
    judge_network_policy_change(None, Some(np), ctx, policy, now)
}

/// Judges the deletion of a NetworkPolicy under HIPAA-K8S-NETPOL: a finding when the pods it
/// selected are no longer covered by a remaining ingress-restricting policy (see k8s::netpol).
pub fn evaluate_network_policy_deletion(
    np: &NetworkPolicy,
    ctx: &ClusterContext,
    policy: &EffectivePolicy,
    now: DateTime<Utc>,
) -> Evaluation {
    judge_network_policy_change(Some(np), None, ctx, policy, now)
}

/// Judges an update of a NetworkPolicy from `old` to `new` under HIPAA-K8S-NETPOL: as a deletion
/// of `old` in which `new` counts among the remaining policies (an update that narrows the
/// selector or drops Ingress from policyTypes can uncover pods just like a deletion), and as a
/// creation of `new` (a rule that lets everything in uncovers the pods it selects).
pub fn evaluate_network_policy_update(
    old: &NetworkPolicy,
    new: &NetworkPolicy,
    ctx: &ClusterContext,
    policy: &EffectivePolicy,
    now: DateTime<Utc>,
) -> Evaluation {
    judge_network_policy_change(Some(old), Some(new), ctx, policy, now)
}

/// A HipaaPolicy whose namespaceSelector matched a namespace's old labels and does not match its
/// new ones, and the verdict of HIPAA-K8S-PHI-SCOPE under that policy alone (its enforcement, its
/// exceptions).
#[derive(Clone, Debug, PartialEq)]
pub struct Departure {
    /// The name of the policy that would stop governing the namespace.
    pub policy: String,
    pub evaluation: Evaluation,
}

/// Judges a namespace's label change from `old` to `new` under HIPAA-K8S-PHI-SCOPE: one
/// [`Departure`] per policy among `policies` (by name) that selects the old labels and not the new
/// ones and applies the control; its evaluation fails when the namespace holds workloads (`held`:
/// kind names and counts) and passes when it holds none.
pub fn evaluate_namespace_departures<'p>(
    old: &Namespace,
    new: &Namespace,
    policies: impl IntoIterator<Item = &'p HipaaPolicy>,
    held: &[(&str, usize)],
    now: DateTime<Utc>,
) -> Vec<Departure> {
    let Some(control) = catalog::control(ids::K8S_PHI_SCOPE) else {
        return Vec::new();
    };
    let subject = Subject {
        kind: "Namespace",
        namespace: None,
        name: new.metadata.name.as_deref().unwrap_or(""),
    };
    let mut leaving: Vec<&HipaaPolicy> = policies
        .into_iter()
        .filter(|p| EffectivePolicy::selects(p, old) && !EffectivePolicy::selects(p, new))
        .collect();
    leaving.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    leaving
        .into_iter()
        .filter_map(|policy| {
            let effective = EffectivePolicy::of_policy(policy);
            let setting = effective.setting(ids::K8S_PHI_SCOPE)?;
            let name = policy.metadata.name.clone().unwrap_or_default();
            let verdict = k8s::phi_scope::verdict(subject, &name, held);
            let mut evaluation = Evaluation::default();
            record(
                &mut evaluation,
                control,
                verdict,
                subject,
                setting.enforcement,
                &effective,
                now,
            );
            Some(Departure {
                policy: name,
                evaluation,
            })
        })
        .collect()
}

fn judge_network_policy_change(
    old: Option<&NetworkPolicy>,
    new: Option<&NetworkPolicy>,
    ctx: &ClusterContext,
    policy: &EffectivePolicy,
    now: DateTime<Utc>,
) -> Evaluation {
    let Some(named) = new.or(old) else {
        return Evaluation::default();
    };
    let subject = Subject {
        kind: "NetworkPolicy",
        namespace: Some(named.metadata.namespace.as_deref().unwrap_or("default")),
        name: named.metadata.name.as_deref().unwrap_or(""),
    };
    judge_one(ids::K8S_NETPOL, subject, policy, now, |parameters| {
        k8s::netpol::change(old, new, subject, ctx, parameters)
    })
}

/// The evaluation of one control, `id`, on `subject` under `policy`: nothing when the policy does
/// not apply it, otherwise the verdict `judge` gives with the control's parameters, recorded with
/// the policy's enforcement and exceptions.
fn judge_one(
    id: &str,
    subject: Subject<'_>,
    policy: &EffectivePolicy,
    now: DateTime<Utc>,
    judge: impl FnOnce(&Parameters) -> Verdict,
) -> Evaluation {
    let mut out = Evaluation::default();
    let (Some(control), Some(setting)) = (catalog::control(id), policy.setting(id)) else {
        return out;
    };
    let verdict = judge(&setting.parameters);
    record(
        &mut out,
        control,
        verdict,
        subject,
        setting.enforcement,
        policy,
        now,
    );
    out
}

/// Judges a write of the `scale` subresource of the workload `name` (of `kind`) in `namespace`
/// to `replicas` under HIPAA-K8S-HA (`kubectl scale`, an autoscaler): a finding when it leaves a
/// production Deployment or StatefulSet below `minReplicas`, unless a HorizontalPodAutoscaler
/// scales that workload (see k8s::ha).
pub fn evaluate_scale(
    kind: ObjectKind,
    namespace: &str,
    name: &str,
    replicas: i32,
    ctx: &ClusterContext,
    policy: &EffectivePolicy,
    now: DateTime<Utc>,
) -> Evaluation {
    let subject = Subject {
        kind: kind.as_str(),
        namespace: Some(namespace),
        name,
    };
    judge_one(ids::K8S_HA, subject, policy, now, |parameters| {
        k8s::ha::scale(kind, replicas, subject, ctx, parameters)
    })
}

/// The RBAC kinds whose changes the access controls judge.
pub const RBAC_KINDS: [&str; 4] = ["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"];

/// Judges a change of the RBAC object `kind` `object_namespace`/`name` (one of [`RBAC_KINDS`]:
/// its creation, update or deletion) for one governed `namespace` under the access controls
/// `policy` applies there: `before` is the model of the cluster's RBAC, `after` the model with the
/// change applied. One finding per control whose disallowed accesses the change adds in that
/// namespace (see k8s::access); nothing for a kind that is not RBAC.
#[allow(clippy::too_many_arguments)]
pub fn evaluate_rbac_change(
    kind: &str,
    object_namespace: Option<&str>,
    name: &str,
    before: &AccessModel,
    after: &AccessModel,
    namespace: &str,
    policy: &EffectivePolicy,
    now: DateTime<Utc>,
) -> Evaluation {
    evaluate_rbac_change_of(
        kind,
        object_namespace,
        name,
        (before, after),
        None,
        namespace,
        policy,
        now,
    )
}

/// [`evaluate_rbac_change`] when the caller knows every subject whose access the change can
/// alter (`only`: the subjects of a binding written, or of the bindings that name a role
/// written): the other subjects' grants are not resolved, and the verdicts are the same.
#[allow(clippy::too_many_arguments)]
pub fn evaluate_rbac_change_of(
    kind: &str,
    object_namespace: Option<&str>,
    name: &str,
    models: (&AccessModel, &AccessModel),
    only: Option<&[crate::access::Subject]>,
    namespace: &str,
    policy: &EffectivePolicy,
    now: DateTime<Utc>,
) -> Evaluation {
    let Some(kind) = RBAC_KINDS.into_iter().find(|k| *k == kind) else {
        return Evaluation::default();
    };
    let subject = Subject {
        kind,
        namespace: object_namespace,
        name,
    };
    let mut out = Evaluation::default();
    for id in [
        ids::K8S_ACCESS_SECRETS,
        ids::K8S_ACCESS_EXEC,
        ids::K8S_CLUSTER_ADMIN,
    ] {
        let one = judge_one(id, subject, policy, now, |parameters| {
            k8s::access::change(id, models, namespace, subject, parameters, only)
        });
        out.findings.extend(one.findings);
        out.checked.extend(one.checked);
    }
    out
}

fn record(
    out: &mut Evaluation,
    control: &'static Control,
    verdict: Verdict,
    subject: Subject<'_>,
    enforcement: hipaa_crds::Enforcement,
    policy: &EffectivePolicy,
    now: DateTime<Utc>,
) {
    let (outcome, message, exception) = match verdict {
        Verdict::NotApplicable => return,
        Verdict::Pass => {
            out.checked.push(control);
            return;
        }
        Verdict::Error(message) => (Outcome::Error, message, None),
        Verdict::Fail(message) => {
            match policy.exception_for(
                control.id,
                subject.kind,
                subject.namespace,
                subject.name,
                now,
            ) {
                Some(e) => (
                    Outcome::Excepted,
                    message,
                    Some(ExceptionRef {
                        policy: e.policy.clone(),
                        index: e.index,
                    }),
                ),
                None => (Outcome::Fail, message, None),
            }
        }
    };
    out.checked.push(control);
    out.findings.push(Finding {
        control,
        outcome,
        resource: subject.resource_ref(),
        message,
        enforcement,
        exception,
    });
}
