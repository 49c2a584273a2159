//! JSON Pointers (RFC 6901) into an object: escaping of reference tokens, and where each kind
//! that runs pods keeps its pod spec and its pod template's metadata.

use crate::object::pod_spec::{Container, PodSpec};
use crate::object::{Object, ObjectKind};

/// A reference token escaped for a JSON Pointer: `~` as `~0`, `/` as `~1`.
pub fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// A JSON Pointer built one token at a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pointer(String);

impl Pointer {
    /// From tokens that need no escaping (`/spec/template/spec`).
    pub fn at(path: &str) -> Self {
        Pointer(path.to_string())
    }

    /// This pointer with one more (escaped) member name.
    pub fn key(&self, name: &str) -> Self {
        Pointer(format!("{}/{}", self.0, escape_token(name)))
    }

    /// This pointer with one more array index.
    pub fn index(&self, index: usize) -> Self {
        Pointer(format!("{}/{index}", self.0))
    }

    /// The end of the array this pointer names (`/-`: append).
    pub fn end(&self) -> Self {
        Pointer(format!("{}/-", self.0))
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Where the pod spec of a kind that runs pods is: `/spec` for a Pod, the job template's for a
/// CronJob, `spec.template.spec` for the others. None for other kinds.
pub(crate) fn pod_spec(object: &Object) -> Option<Pointer> {
    match object.object_kind() {
        ObjectKind::Pod => Some(Pointer::at("/spec")),
        ObjectKind::CronJob => Some(Pointer::at("/spec/jobTemplate/spec/template/spec")),
        ObjectKind::Deployment
        | ObjectKind::StatefulSet
        | ObjectKind::DaemonSet
        | ObjectKind::ReplicaSet
        | ObjectKind::Job => Some(Pointer::at("/spec/template/spec")),
        _ => None,
    }
}

/// Where the metadata that the pods get is: a Pod's own, the pod template's for the others.
pub(crate) fn pod_metadata(object: &Object) -> Option<Pointer> {
    match object.object_kind() {
        ObjectKind::Pod => Some(Pointer::at("/metadata")),
        ObjectKind::CronJob => Some(Pointer::at("/spec/jobTemplate/spec/template/metadata")),
        ObjectKind::Deployment
        | ObjectKind::StatefulSet
        | ObjectKind::DaemonSet
        | ObjectKind::ReplicaSet
        | ObjectKind::Job => Some(Pointer::at("/spec/template/metadata")),
        _ => None,
    }
}

/// The containers of a pod spec with the pointer to each, in the order the controls list them
/// (init containers, containers, ephemeral containers).
pub(crate) fn containers<'a>(
    spec_at: &Pointer,
    spec: &'a PodSpec,
) -> Vec<(Pointer, &'a Container)> {
    let list = |field: &str, items: Option<&'a Vec<Container>>| {
        let at = spec_at.key(field);
        items
            .into_iter()
            .flatten()
            .enumerate()
            .map(move |(i, c)| (at.index(i), c))
    };
    list("initContainers", spec.init_containers.as_ref())
        .chain(list("containers", Some(&spec.containers)))
        .chain(list(
            "ephemeralContainers",
            spec.ephemeral_containers.as_ref(),
        ))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn tokens_escape_tilde_before_slash() {
        assert_eq!(escape_token("a/b~c"), "a~1b~0c");
        assert_eq!(escape_token("~1"), "~01");
        assert_eq!(
            Pointer::at("/metadata/annotations")
                .key("nginx.ingress.kubernetes.io/ssl-redirect")
                .into_string(),
            "/metadata/annotations/nginx.ingress.kubernetes.io~1ssl-redirect"
        );
        assert_eq!(
            Pointer::at("").key("spec").index(2).end().into_string(),
            "/spec/2/-"
        );
    }
}
