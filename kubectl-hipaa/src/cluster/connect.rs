//! Connecting to the cluster as kubectl does: `--kubeconfig` (else $KUBECONFIG, then
//! ~/.kube/config, then the in-cluster service account), `--context`, and the context's
//! namespace.

use anyhow::Context as _;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::cli::GlobalArgs;

/// A client and what the report says about the cluster it talks to.
pub struct Connection {
    pub client: Client,
    /// The API server URL from the kubeconfig (the cluster's identity in reports).
    pub server_url: String,
    /// The kubeconfig context's namespace (`default` when it names none).
    pub default_namespace: String,
}

/// Connects with the global flags.
pub async fn connect(global: &GlobalArgs) -> anyhow::Result<Connection> {
    // Other crates of the workspace may enable a second rustls provider; pick ring explicitly.
    // An Err only means a provider is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let options = KubeConfigOptions {
        context: global.context.clone(),
        cluster: None,
        user: None,
    };
    let config = match (&global.kubeconfig, &global.context) {
        (Some(path), _) => {
            let kubeconfig = Kubeconfig::read_from(path)
                .with_context(|| format!("cannot read kubeconfig {}", path.display()))?;
            Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .with_context(|| format!("cannot use kubeconfig {}", path.display()))?
        }
        (None, Some(_)) => Config::from_kubeconfig(&options)
            .await
            .context("cannot use the kubeconfig")?,
        (None, None) => Config::infer()
            .await
            .context("cannot find a kubeconfig or an in-cluster service account")?,
    };
    let server_url = config
        .cluster_url
        .to_string()
        .trim_end_matches('/')
        .to_string();
    let default_namespace = config.default_namespace.clone();
    let client = Client::try_from(config).context("cannot build a Kubernetes client")?;
    Ok(Connection {
        client,
        server_url,
        default_namespace,
    })
}

/// A runtime for the commands that talk to the cluster (one thread: these are a few requests).
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
