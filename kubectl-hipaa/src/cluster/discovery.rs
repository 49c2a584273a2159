//! Which `apiVersion` and kind pairs the live cluster serves, from its API discovery, for the
//! groups a command asks about (`scan --cluster` checks the inputs' apiVersions against it).

use std::collections::BTreeSet;

use anyhow::Context as _;
use kube::{Client, Discovery};

/// Every (`apiVersion`, kind) the cluster serves in `groups` (`""` is the core group); groups the
/// cluster does not serve are left out.
pub async fn served_kinds(
    client: &Client,
    groups: &[&str],
) -> anyhow::Result<BTreeSet<(String, String)>> {
    let discovery = Discovery::new(client.clone())
        .filter(groups)
        .run()
        .await
        .context("cannot read the cluster's API discovery")?;
    let mut served = BTreeSet::new();
    for group in discovery.groups() {
        for version in group.versions() {
            for (resource, _) in group.versioned_resources(version) {
                served.insert((resource.api_version, resource.kind));
            }
        }
    }
    Ok(served)
}
