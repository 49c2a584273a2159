//! A role's policy documents compiled once for reach: Allow statements split into per-service
//! action units (each knowing which Deny statements cover it), and unconditional Deny statements.
//! Conditional Denys are dropped here on purpose: conditions are reported, not evaluated, and a
//! Deny that may not apply must not hide a grant.

use std::borrow::Cow;

use super::super::identity::{Effect, PolicyDocument, Statement};
use super::inventory::{SERVICES, Surface};
use super::patterns::Pattern;

/// `Resource` or `NotResource` of a statement.
#[derive(Debug)]
pub(crate) enum Resources {
    Listed(Vec<Pattern>),
    AllBut(Vec<Pattern>),
}

/// `Action` or `NotAction` of a statement.
#[derive(Debug)]
enum Actions {
    Listed(Vec<Pattern>),
    AllBut(Vec<Pattern>),
}

/// One unconditional Deny statement.
#[derive(Debug)]
pub(crate) struct Deny {
    actions: Actions,
    resources: Resources,
}

/// What an Allow statement grants on one service: reported as the role's label number `label`.
#[derive(Debug)]
pub(crate) struct Unit {
    /// Index into [`CompiledRole::labels`].
    pub(crate) label: usize,
    pub(crate) service: u8,
    /// Indices of the Deny statements whose actions cover this unit.
    pub(crate) denied_by: Vec<usize>,
}

/// One Allow statement.
#[derive(Debug)]
pub(crate) struct Allow {
    pub(crate) units: Vec<Unit>,
    pub(crate) resources: Resources,
    /// The union of the units' services.
    pub(crate) services: u8,
    pub(crate) conditional: bool,
}

/// A role's statements, compiled.
#[derive(Debug, Default)]
pub(crate) struct CompiledRole<'a> {
    pub(crate) allows: Vec<Allow>,
    pub(crate) denies: Vec<Deny>,
    /// The distinct granting action patterns as written (a NotAction statement as
    /// `NotAction [..]`), numbered in the order first seen.
    pub(crate) labels: Vec<Cow<'a, str>>,
}

/// Every service's bit, action prefix and `svc:*`, in [`SERVICES`] order.
pub(crate) type ServiceWildcards = Vec<(u8, &'static str, Pattern)>;

pub(crate) fn service_wildcards() -> ServiceWildcards {
    SERVICES
        .iter()
        .map(|(bit, prefix)| (*bit, *prefix, Pattern::action(&format!("{prefix}*"))))
        .collect()
}

impl<'a> CompiledRole<'a> {
    pub(crate) fn compile(
        documents: impl IntoIterator<Item = &'a PolicyDocument>,
        wildcards: &[(u8, &'static str, Pattern)],
    ) -> CompiledRole<'a> {
        let statements: Vec<&'a Statement> = documents
            .into_iter()
            .flat_map(|document| &document.statements)
            .collect();
        let denies: Vec<Deny> = statements
            .iter()
            .filter(|s| s.effect == Some(Effect::Deny) && s.condition.is_none())
            .map(|s| Deny {
                actions: actions_of(s),
                resources: resources_of(s),
            })
            .collect();
        let mut labels = Vec::new();
        let allows = statements
            .iter()
            .filter(|s| s.effect == Some(Effect::Allow))
            .map(|s| allow(s, &denies, wildcards, &mut labels))
            .filter(|a| !a.units.is_empty())
            .collect();
        CompiledRole {
            allows,
            denies,
            labels,
        }
    }
}

fn actions_of(statement: &Statement) -> Actions {
    if statement.actions.is_empty() && !statement.not_actions.is_empty() {
        Actions::AllBut(
            statement
                .not_actions
                .iter()
                .map(|a| Pattern::action(a))
                .collect(),
        )
    } else {
        Actions::Listed(
            statement
                .actions
                .iter()
                .map(|a| Pattern::action(a))
                .collect(),
        )
    }
}

fn resources_of(statement: &Statement) -> Resources {
    if statement.resources.is_empty() && !statement.not_resources.is_empty() {
        Resources::AllBut(
            statement
                .not_resources
                .iter()
                .map(|r| Pattern::resource(r))
                .collect(),
        )
    } else {
        Resources::Listed(
            statement
                .resources
                .iter()
                .map(|r| Pattern::resource(r))
                .collect(),
        )
    }
}

fn allow<'a>(
    statement: &'a Statement,
    denies: &[Deny],
    wildcards: &[(u8, &'static str, Pattern)],
    labels: &mut Vec<Cow<'a, str>>,
) -> Allow {
    let mut units = Vec::new();
    let mut unit = |label: &Cow<'a, str>, pattern: &Pattern, service: u8, wildcard: &Pattern| {
        let label = match labels.iter().position(|known| known == label) {
            Some(known) => known,
            None => {
                labels.push(label.clone());
                labels.len() - 1
            }
        };
        // A Deny removes the grant on this service when it covers the pattern, or all of the
        // service (the pattern narrowed to the service is within `svc:*`).
        let denied_by = denies
            .iter()
            .enumerate()
            .filter(|(_, deny)| deny.covers_action(pattern) || deny.covers_action(wildcard))
            .map(|(index, _)| index)
            .collect();
        units.push(Unit {
            label,
            service,
            denied_by,
        });
    };
    match actions_of(statement) {
        Actions::Listed(patterns) => {
            for (raw, pattern) in statement.actions.iter().zip(&patterns) {
                for (bit, prefix, wildcard) in wildcards {
                    if pattern.matches_some_extension(prefix) {
                        unit(&Cow::Borrowed(raw.as_str()), pattern, *bit, wildcard);
                    }
                }
            }
        }
        Actions::AllBut(excluded) => {
            let label: Cow<'a, str> =
                Cow::Owned(format!("NotAction [{}]", statement.not_actions.join(", ")));
            for (bit, _, wildcard) in wildcards {
                if !excluded.iter().any(|pattern| pattern.covers(wildcard)) {
                    unit(&label, wildcard, *bit, wildcard);
                }
            }
        }
    }
    let services = units.iter().fold(0, |all, unit| all | unit.service);
    Allow {
        units,
        resources: resources_of(statement),
        services,
        conditional: statement.condition.is_some(),
    }
}

impl Deny {
    /// True when every action `pattern` matches is denied by this statement.
    fn covers_action(&self, pattern: &Pattern) -> bool {
        match &self.actions {
            Actions::Listed(denied) => denied.iter().any(|d| d.covers(pattern)),
            Actions::AllBut(spared) => {
                !spared.is_empty() && spared.iter().all(|s| s.disjoint(pattern))
            }
        }
    }

    /// True when this statement denies all of `surface` that the allow pattern `granted` (none
    /// for a NotResource allow) reaches.
    pub(crate) fn covers_surface(&self, surface: &Surface, granted: Option<&Pattern>) -> bool {
        let key = surface.key.as_str();
        match (&self.resources, surface.space) {
            (Resources::Listed(denied), false) => denied.iter().any(|d| d.surely_matches(key)),
            (Resources::Listed(denied), true) => denied.iter().any(|d| {
                d.covers_extensions_of(key) || granted.is_some_and(|granted| d.covers(granted))
            }),
            (Resources::AllBut(spared), false) => {
                !spared.is_empty() && !spared.iter().any(|s| s.matches(key))
            }
            (Resources::AllBut(spared), true) => {
                !spared.is_empty() && !spared.iter().any(|s| s.matches_some_extension(key))
            }
        }
    }
}

impl Resources {
    /// For an Allow with NotResource: true when `surface` is not excluded (a widened variable
    /// in NotResource never excludes).
    pub(crate) fn spares(spared: &[Pattern], surface: &Surface) -> bool {
        let key = surface.key.as_str();
        if surface.space {
            !spared.iter().any(|s| s.covers_extensions_of(key))
        } else {
            !spared.iter().any(|s| s.surely_matches(key))
        }
    }
}
