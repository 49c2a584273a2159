//! Who can reach PHI: the access model computed from the cluster's RBAC objects (Roles,
//! ClusterRoles with their aggregation, RoleBindings, ClusterRoleBindings), for the access controls,
//! `kubectl hipaa access` and the report's access review. Pure: the caller hands it the objects.

mod aggregate;
pub mod allow;
pub mod change;
mod grant;
mod model;
pub mod probes;
pub mod rules;
mod set;
mod subject;
pub mod traits;

pub use change::{RbacChange, RbacObject};
pub use grant::{Grant, ObjectRef, Problem};
pub use model::{AccessModel, RbacObjects, Superuser};
pub use probes::{Access, PROBES, Probe};
pub use rules::Names;
pub use set::{AccessEvidence, RbacSet};
pub use subject::{Identity, Subject, UnusableSubject};

#[cfg(test)]
mod tests;
