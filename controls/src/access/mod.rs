//! Who can reach PHI: the access model computed from the cluster's RBAC objects (Roles,
//! ClusterRoles with their aggregation, RoleBindings, ClusterRoleBindings), for the access controls,
//! `kubectl hipaa access` and the report's access review. Pure: the caller hands it the objects.

mod aggregate;
mod grant;
mod model;
pub mod probes;
pub mod rules;
mod subject;

pub use grant::{Grant, ObjectRef, Problem};
pub use model::{AccessModel, RbacObjects};
pub use probes::{Access, PROBES, Probe};
pub use rules::Names;
pub use subject::{Identity, Subject, UnusableSubject};

#[cfg(test)]
mod tests;
