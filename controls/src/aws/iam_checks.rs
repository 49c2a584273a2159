//! The two least-privilege controls on the IAM roles workloads run with:
//! HIPAA-IAM-DATA-WILDCARD-ACTION (no Allow of `*`, `<svc>:*` or NotAction on a data service) and
//! HIPAA-IAM-DATA-WILDCARD-RESOURCE (no Allow of a data-service action on `Resource: "*"` or with
//! NotResource). A policy that could not be read leaves the role's grants unknown: Error, unless
//! a readable policy already fails.

use chrono::{DateTime, Utc};

use crate::catalog::ids;
use crate::model::ResourceRef;
use crate::policy::EffectivePolicy;

use super::identity::{Effect, IamRole, RolePolicy, Statement};
use super::judge::{Judge, Verdict};
use super::reach::patterns::Pattern;
use super::{KIND_IAM_ROLE, LookedUp};

/// The services whose wildcard actions WILDCARD-ACTION rejects.
const WILDCARD_ACTION_SERVICES: &[&str] = &[
    "s3",
    "dynamodb",
    "rds",
    "rds-data",
    "rds-db",
    "kms",
    "secretsmanager",
];

/// The services whose actions must not be granted on every resource.
const WILDCARD_RESOURCE_SERVICES: &[&str] =
    &["s3", "rds-data", "dynamodb", "kms", "secretsmanager"];

const IAM_CONTROLS: &[&str] = &[
    ids::IAM_DATA_WILDCARD_ACTION,
    ids::IAM_DATA_WILDCARD_RESOURCE,
];

/// Judges both IAM controls on one role; the resource is the role's ARN, also named by its name.
pub(crate) fn evaluate_role<'a>(
    looked_up: &LookedUp<IamRole>,
    policy: &'a EffectivePolicy,
    now: DateTime<Utc>,
) -> Judge<'a> {
    let role = match &looked_up.result {
        Ok(role) => role,
        Err(error) => {
            let resource = ResourceRef::new(KIND_IAM_ROLE, None, looked_up.requested.clone());
            let mut judge = Judge::new(policy, now, resource);
            let what = format!("IAM role {}", looked_up.requested);
            judge.lookup_failed(IAM_CONTROLS, &what, error);
            return judge;
        }
    };
    let resource = ResourceRef::new(KIND_IAM_ROLE, None, role.arn.clone());
    let mut judge = Judge::new(policy, now, resource).also_named([role.name.clone()]);
    judge.judge(ids::IAM_DATA_WILDCARD_ACTION, |_| wildcard_action(role));
    judge.judge(ids::IAM_DATA_WILDCARD_RESOURCE, |_| wildcard_resource(role));
    judge
}

/// HIPAA-IAM-DATA-WILDCARD-ACTION on one role.
pub(crate) fn wildcard_action(role: &IamRole) -> Verdict {
    verdict(role, "wildcard actions", |statement| {
        if !statement.not_actions.is_empty() && statement.actions.is_empty() {
            return Some(format!(
                "allows every action but NotAction [{}]",
                statement.not_actions.join(", ")
            ));
        }
        let wild: Vec<&str> = statement
            .actions
            .iter()
            .filter(|action| is_data_wildcard(action))
            .map(String::as_str)
            .collect();
        (!wild.is_empty()).then(|| format!("allows {} on data services", wild.join(", ")))
    })
}

/// HIPAA-IAM-DATA-WILDCARD-RESOURCE on one role.
pub(crate) fn wildcard_resource(role: &IamRole) -> Verdict {
    verdict(role, "wildcard resources", |statement| {
        let services = data_services_acted_on(statement);
        if services.is_empty() {
            return None;
        }
        let services = services.join(", ");
        if !statement.not_resources.is_empty() && statement.resources.is_empty() {
            return Some(format!(
                "allows {services} actions on every resource but NotResource [{}]",
                statement.not_resources.join(", ")
            ));
        }
        statement
            .resources
            .iter()
            .any(|resource| is_all_stars(resource))
            .then(|| format!("allows {services} actions on Resource \"*\""))
    })
}

/// Runs `offence` over every Allow statement of every policy of `role`: Fail naming each
/// offending statement, else Error when a policy could not be read, else Pass.
fn verdict(role: &IamRole, what: &str, offence: impl Fn(&Statement) -> Option<String>) -> Verdict {
    let mut failures = Vec::new();
    let mut unreadable = Vec::new();
    if let Some(error) = &role.policies_error {
        unreadable.push(format!("its policies could not be listed: {error}"));
    }
    for policy in &role.policies {
        let document = match &policy.document {
            Ok(document) => document,
            Err(error) => {
                unreadable.push(format!(
                    "policy {} could not be read: {error}",
                    policy_name(policy)
                ));
                continue;
            }
        };
        for (index, statement) in document.statements.iter().enumerate() {
            if statement.effect != Some(Effect::Allow) {
                continue;
            }
            if let Some(problem) = offence(statement) {
                let statement_name = match &statement.sid {
                    Some(sid) if !sid.is_empty() => format!("statement {sid}"),
                    _ => format!("statement #{}", index + 1),
                };
                // A Condition may narrow the grant, but conditions are not evaluated: say so.
                let condition = if statement.condition.is_some() {
                    " (under a Condition, not evaluated)"
                } else {
                    ""
                };
                failures.push(format!(
                    "policy {} {statement_name} {problem}{condition}",
                    policy_name(policy)
                ));
            }
        }
    }
    let role_name = format!("IAM role {} ({})", role.name, role.arn);
    if !failures.is_empty() {
        let mut message = format!("{role_name}: {}", failures.join("; "));
        if !unreadable.is_empty() {
            message.push_str(&format!(" (and {})", unreadable.join("; ")));
        }
        return Verdict::Fail(message);
    }
    if !unreadable.is_empty() {
        return Verdict::Error(format!(
            "cannot check {role_name} for {what}: {}",
            unreadable.join("; ")
        ));
    }
    Verdict::Pass
}

/// `my-policy (arn:aws:iam::…:policy/my-policy)` for a managed policy, the name for an inline one.
fn policy_name(policy: &RolePolicy) -> String {
    match &policy.arn {
        Some(arn) => format!("{} ({arn})", policy.name),
        None => format!("{} (inline)", policy.name),
    }
}

fn is_all_stars(text: &str) -> bool {
    let text = text.trim();
    !text.is_empty() && text.bytes().all(|b| b == b'*')
}

/// `*`, or `<svc>:*` where `<svc>` (itself maybe a pattern) names a data service.
fn is_data_wildcard(action: &str) -> bool {
    if is_all_stars(action) {
        return true;
    }
    let Some((service, verb)) = action.trim().split_once(':') else {
        return false;
    };
    let service = Pattern::action(service);
    is_all_stars(verb) && WILDCARD_ACTION_SERVICES.iter().any(|s| service.matches(s))
}

/// The data services (of WILDCARD-RESOURCE's list) on which the statement allows some action.
fn data_services_acted_on(statement: &Statement) -> Vec<&'static str> {
    let excluding = statement.actions.is_empty() && !statement.not_actions.is_empty();
    let listed: Vec<Pattern> = if excluding {
        statement
            .not_actions
            .iter()
            .map(|a| Pattern::action(a))
            .collect()
    } else {
        statement
            .actions
            .iter()
            .map(|a| Pattern::action(a))
            .collect()
    };
    WILDCARD_RESOURCE_SERVICES
        .iter()
        .copied()
        .filter(|service| {
            let prefix = format!("{service}:");
            if excluding {
                let all = Pattern::action(&format!("{prefix}*"));
                !listed.iter().any(|pattern| pattern.covers(&all))
            } else {
                listed
                    .iter()
                    .any(|pattern| pattern.matches_some_extension(&prefix))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
