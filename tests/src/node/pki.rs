//! The node cluster's credentials: one CA for the API server's serving certificate and the
//! client certificate it shows the kubelet; static tokens for the admin and every component
//! (the bootstrap RBAC already binds their well-known user names); one kubeconfig each.

use std::path::Path;

use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

use super::config::{KUBERNETES_SERVICE_IP, NODE_ADDR, NODE_NAME};
use crate::control_plane::kubeconfig_yaml;

/// The identities that talk to the API server with a token: (kubeconfig name, user, groups).
/// `system:node:<name>` in `system:nodes` is what the Node authorizer and NodeRestriction expect.
const COMPONENTS: [(&str, &str, &str); 5] = [
    ("admin", "hipaa-testkit-admin", "system:masters"),
    ("kubelet", "system:node:hipaa-node", "system:nodes"),
    (
        "kube-controller-manager",
        "system:kube-controller-manager",
        "",
    ),
    ("kube-scheduler", "system:kube-scheduler", ""),
    ("kube-proxy", "system:kube-proxy", ""),
];

/// Writes `pki/` (CA, API server serving pair, the API server's kubelet-client pair, the
/// service-account key pair), `tokens.csv` and `kubeconfigs/<component>` under `dir`.
pub fn write(dir: &Path, server: &str) -> anyhow::Result<()> {
    debug_assert_eq!(COMPONENTS[1].1, format!("system:node:{NODE_NAME}"));
    let pki = dir.join("pki");
    std::fs::create_dir_all(&pki).with_context(|| format!("creating {}", pki.display()))?;
    let write = |name: &str, contents: &str| -> anyhow::Result<()> {
        let path = pki.join(name);
        std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))
    };

    let ca_key = KeyPair::generate().context("generating the CA key")?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.distinguished_name = name("hipaa-testkit-node-ca", None);
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params.self_signed(&ca_key)?;
    write("ca.crt", &ca_cert.pem())?;
    let ca = Issuer::new(ca_params, ca_key);

    let mut serving = CertificateParams::new(vec![
        "kubernetes".to_string(),
        "kubernetes.default".to_string(),
        "kubernetes.default.svc".to_string(),
        "kubernetes.default.svc.cluster.local".to_string(),
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        NODE_ADDR.to_string(),
        KUBERNETES_SERVICE_IP.to_string(),
    ])?;
    serving.distinguished_name = name("kube-apiserver", None);
    serving.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let serving_key = KeyPair::generate()?;
    write(
        "apiserver.crt",
        &serving.signed_by(&serving_key, &ca)?.pem(),
    )?;
    write("apiserver.key", &serving_key.serialize_pem())?;

    // The API server proves itself to the kubelet (logs, exec) as a system:masters client.
    let mut client = CertificateParams::new(Vec::<String>::new())?;
    client.distinguished_name = name("kube-apiserver-kubelet-client", Some("system:masters"));
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_key = KeyPair::generate()?;
    write(
        "apiserver-kubelet-client.crt",
        &client.signed_by(&client_key, &ca)?.pem(),
    )?;
    write("apiserver-kubelet-client.key", &client_key.serialize_pem())?;

    let sa = KeyPair::generate().context("generating the service-account signing key")?;
    write("sa.key", &sa.serialize_pem())?;
    write("sa.pub", &sa.public_key_pem())?;

    let kubeconfigs = dir.join("kubeconfigs");
    std::fs::create_dir_all(&kubeconfigs)?;
    let mut tokens = String::new();
    for (file, user, groups) in COMPONENTS {
        let token = random_token(file);
        tokens.push_str(&format!("{token},{user},{user},\"{groups}\"\n"));
        let path = kubeconfigs.join(file);
        std::fs::write(&path, kubeconfig_yaml(server, &pki.join("ca.crt"), &token))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    std::fs::write(dir.join("tokens.csv"), tokens).context("writing tokens.csv")?;
    Ok(())
}

fn name(common: &str, organization: Option<&str>) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common);
    if let Some(organization) = organization {
        name.push(DnType::OrganizationName, organization);
    }
    name
}

fn random_token(salt: &str) -> String {
    use std::hash::{BuildHasher, RandomState};
    let part = |n: u64| RandomState::new().hash_one((salt, n, std::process::id()));
    format!("{:016x}{:016x}", part(1), part(2))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_component_gets_a_kubeconfig_and_a_distinct_token() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "https://10.213.255.1:6443").unwrap();
        let tokens = std::fs::read_to_string(dir.path().join("tokens.csv")).unwrap();
        let mut seen: Vec<&str> = tokens
            .lines()
            .map(|l| l.split(',').next().unwrap())
            .collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), COMPONENTS.len());
        assert!(tokens.contains("system:node:hipaa-node,system:node:hipaa-node,\"system:nodes\""));
        for (file, _, _) in COMPONENTS {
            let text = std::fs::read_to_string(dir.path().join("kubeconfigs").join(file)).unwrap();
            assert!(text.contains("https://10.213.255.1:6443"), "{file}");
        }
        for file in [
            "ca.crt",
            "apiserver.crt",
            "apiserver.key",
            "sa.key",
            "sa.pub",
        ] {
            assert!(dir.path().join("pki").join(file).is_file(), "{file}");
        }
    }
}
