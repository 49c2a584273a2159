//! What one control judges and says: the object with its context and parameters ([`Check`]),
//! how messages name it ([`Subject`]), and the [`Verdict`] before exceptions. Shared by the
//! engine, which runs the controls, and the controls in `k8s`, which it runs.

use std::fmt;

use crate::context::ClusterContext;
use crate::model::ResourceRef;
use crate::object::{Object, PodTemplate};
use crate::policy::Parameters;

/// A control's verdict on one object, before exceptions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The control does not apply to this object (wrong kind, or out of its scope).
    NotApplicable,
    Pass,
    /// Fails, with a message that names the object and never quotes its content.
    Fail(String),
    /// Cannot be evaluated, with the reason.
    Error(String),
}

/// The object being judged, as messages name it (`Deployment billing/api`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Subject<'a> {
    pub kind: &'static str,
    pub namespace: Option<&'a str>,
    pub name: &'a str,
}

impl fmt::Display for Subject<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

impl Subject<'_> {
    pub fn resource_ref(&self) -> ResourceRef {
        ResourceRef::new(self.kind, self.namespace, self.name)
    }
}

/// Everything a control may look at for one object.
pub(crate) struct Check<'a> {
    pub object: &'a Object,
    pub subject: Subject<'a>,
    pub template: Option<PodTemplate<'a>>,
    pub ctx: &'a ClusterContext,
    pub parameters: &'a Parameters,
}
