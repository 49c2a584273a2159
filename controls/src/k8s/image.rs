//! HIPAA-K8S-IMAGE-REGISTRY: images come from allowed registries and are pinned.

use crate::check::{Check, Verdict};
use crate::image_ref::ImageReference;
use crate::k8s::{containers, verdict_from};

pub(crate) fn check(check: &Check<'_>) -> Verdict {
    let Some(template) = check.template else {
        return Verdict::NotApplicable;
    };
    let Some(spec) = template.spec else {
        return Verdict::Pass;
    };
    let allowed = check.parameters.allowed_registries.as_deref();
    let mut problems = Vec::new();
    let mut missing = Vec::new();
    for container in containers(spec) {
        let name = container.name;
        let Some(image) = container.image.filter(|i| !i.trim().is_empty()) else {
            missing.push(name);
            continue;
        };
        let reference = ImageReference::parse(image);
        let permitted = match allowed {
            None => reference.ecr().is_some(),
            Some(entries) => entries.iter().any(|entry| entry_allows(entry, &reference)),
        };
        if !permitted {
            let expected = if allowed.is_none() {
                "a private ECR registry"
            } else {
                "an allowed registry"
            };
            problems.push(format!(
                "container {name} pulls {image} from {}, which is not {expected}",
                reference.registry
            ));
        }
        if !reference.is_pinned() {
            let why = if reference.tag.is_none() {
                " (no tag means latest)"
            } else {
                ""
            };
            problems.push(format!("container {name} image {image} is not pinned{why}"));
        }
    }
    if problems.is_empty() && !missing.is_empty() {
        return Verdict::Error(format!(
            "cannot evaluate {}: container {} has no image",
            check.subject,
            missing.join(", ")
        ));
    }
    verdict_from(check.subject, problems)
}

/// An allowedRegistries entry: `host[:port]`, `*.suffix`, `host/path/*` or `host/repository`.
fn entry_allows(entry: &str, image: &ImageReference<'_>) -> bool {
    let entry = entry.trim();
    let (host, path) = match entry.split_once('/') {
        Some((host, path)) => (host, Some(path)),
        None => (entry, None),
    };
    if !host_matches(host, image.registry) {
        return false;
    }
    match path {
        None => true,
        Some("*") => true,
        Some(path) => match path.strip_suffix("/*") {
            Some(prefix) => image
                .repository
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/')),
            None => image.repository == path,
        },
    }
}

fn host_matches(pattern: &str, registry: &str) -> bool {
    if pattern.eq_ignore_ascii_case(registry) {
        return true;
    }
    match pattern.strip_prefix('*') {
        Some(suffix) if suffix.starts_with('.') => {
            registry.len() > suffix.len()
                && registry
                    .get(registry.len() - suffix.len()..)
                    .is_some_and(|end| end.eq_ignore_ascii_case(suffix))
        }
        _ => false,
    }
}
