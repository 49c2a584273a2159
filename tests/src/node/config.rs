//! The node's configuration files as text: containerd's, the kubelet's, kube-proxy's, the CNI
//! network and the pods' resolv.conf. Pure functions of a [`Layout`], so that what the node runs
//! with can be read (and tested) without starting it.

use std::path::{Path, PathBuf};

/// The fixed names and addresses of the one node this machine can run at a time
/// (`tests/controlplane/node/host.sh` holds the same values: it clears and restores them).
pub const NODE_NAME: &str = "hipaa-node";
/// The bridge the CNI plugin creates for the pods.
pub const BRIDGE: &str = "hgbr0";
/// Added to `lo` as a /32 (defined with the one HTTP client, which may only reach this machine).
pub use crate::loopback_http::NODE_ADDR;
/// The pods' range (host-local IPAM on the bridge).
pub const POD_CIDR: &str = "10.213.0.0/24";
/// The Services' range (virtual: kube-proxy translates it to pod or node addresses).
pub const SERVICE_CIDR: &str = "10.213.128.0/24";
/// The `kubernetes` Service's ClusterIP (the first address of [`SERVICE_CIDR`]), a SAN of the
/// API server's certificate.
pub const KUBERNETES_SERVICE_IP: &str = "10.213.128.1";

/// Where the node keeps its state: a fixed directory, so that a run can clear what an
/// interrupted one left (mounts, sockets, containerd's content).
pub const NODE_DIR: &str = "/var/lib/hipaa-guard-node";

/// Paths and ports one node start uses.
#[derive(Clone, Debug)]
pub struct Layout {
    pub dir: PathBuf,
    pub sandbox_image: String,
    pub kubelet_healthz_port: u16,
    pub proxy_healthz_port: u16,
    pub proxy_metrics_port: u16,
}

impl Layout {
    pub fn path(&self, sub: &str) -> PathBuf {
        self.dir.join(sub)
    }

    /// containerd's gRPC socket (the kubelet's runtime endpoint, and `ctr -a`).
    pub fn containerd_socket(&self) -> PathBuf {
        self.path("containerd/containerd.sock")
    }

    pub fn ca_file(&self) -> PathBuf {
        self.path("pki/ca.crt")
    }
}

fn show(path: &Path) -> String {
    path.display().to_string()
}

/// containerd 1.6 (config version 2) with everything under the node directory. Each setting
/// below was needed on this machine kind (shared notes, real-node.md): root lacks
/// CAP_SYS_RESOURCE, so the OOM score may only be raised; AppArmor is unavailable; network
/// namespaces are mounted under the state directory so teardown finds them.
pub fn containerd_toml(layout: &Layout) -> String {
    let dir = |sub: &str| show(&layout.path(sub));
    format!(
        r#"version = 2
root = "{root}"
state = "{state}"

[grpc]
  address = "{socket}"

[plugins."io.containerd.internal.v1.opt"]
  path = "{opt}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{sandbox}"
  restrict_oom_score_adj = true
  disable_apparmor = true
  netns_mounts_under_state_dir = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{runc}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{cni_conf}"
    max_conf_num = 1
"#,
        root = dir("containerd/root"),
        state = dir("containerd/state"),
        socket = show(&layout.containerd_socket()),
        sandbox = layout.sandbox_image,
        runc = dir("runc"),
        opt = dir("containerd/opt"),
        cni_conf = dir("cni/net.d"),
    )
}

/// The pod network: a bridge with host-local addresses, port mappings, and the firewall plugin
/// that admits pod traffic through FORWARD. No masquerading: pods reach nothing off this machine.
pub fn cni_conflist(layout: &Layout) -> String {
    serde_json::json!({
        "cniVersion": "0.4.0",
        "name": "hipaa-guard-node",
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": true,
                "ipMasq": false,
                "hairpinMode": true,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{ "subnet": POD_CIDR }]],
                    "routes": [{ "dst": "0.0.0.0/0" }],
                    "dataDir": show(&layout.path("cni/ipam")),
                },
            },
            { "type": "portmap", "capabilities": { "portMappings": true } },
            { "type": "firewall", "backend": "iptables" },
        ],
    })
    .to_string()
}

/// The pods' resolver: the node's own address, where nothing answers on port 53, so a lookup
/// fails at once instead of leaving the machine (there is no cluster DNS; tests use Service IPs).
pub fn resolv_conf() -> String {
    format!("nameserver {NODE_ADDR}\noptions timeout:1 attempts:1\n")
}

/// The kubelet: cgroupfs on this host's cgroup v1 hierarchy, swap tolerated, client
/// certificates from the node's CA, every path it would otherwise put under /var kept in the
/// node directory, and eviction thresholds a small test disk does not trip.
pub fn kubelet_yaml(layout: &Layout) -> String {
    format!(
        r#"apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: {NODE_ADDR}
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: {healthz}
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://{socket}
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: {ca}
authorization:
  mode: Webhook
podLogsDir: {pod_logs}
resolvConf: {resolv}
volumePluginDir: {plugins}
clusterDomain: cluster.local
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
maxPods: 30
serializeImagePulls: false
staticPodPath: ""
"#,
        healthz = layout.kubelet_healthz_port,
        socket = show(&layout.containerd_socket()),
        ca = show(&layout.ca_file()),
        pod_logs = show(&layout.path("pod-logs")),
        resolv = show(&layout.path("resolv.conf")),
        plugins = show(&layout.path("volume-plugins")),
    )
}

/// kube-proxy in iptables mode, NodePorts only on the node's own /32, and every conntrack
/// setting 0 so that the host's values stay as they are.
pub fn kube_proxy_yaml(layout: &Layout) -> String {
    format!(
        r#"apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: {kubeconfig}
mode: iptables
clusterCIDR: {POD_CIDR}
hostnameOverride: {NODE_NAME}
bindAddress: {NODE_ADDR}
healthzBindAddress: 127.0.0.1:{healthz}
metricsBindAddress: 127.0.0.1:{metrics}
nodePortAddresses: ["{NODE_ADDR}/32"]
iptables:
  localhostNodePorts: false
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
"#,
        kubeconfig = show(&layout.path("kubeconfigs/kube-proxy")),
        healthz = layout.proxy_healthz_port,
        metrics = layout.proxy_metrics_port,
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn layout() -> Layout {
        Layout {
            dir: PathBuf::from("/n"),
            sandbox_image: "hipaa-guard/pause:1".into(),
            kubelet_healthz_port: 1,
            proxy_healthz_port: 2,
            proxy_metrics_port: 3,
        }
    }

    #[test]
    fn the_kubelet_keeps_its_paths_in_the_node_directory() {
        let yaml: yaml_serde::Value = yaml_serde::from_str(&kubelet_yaml(&layout())).unwrap();
        assert_eq!(
            yaml["containerRuntimeEndpoint"],
            "unix:///n/containerd/containerd.sock"
        );
        for key in ["podLogsDir", "resolvConf", "volumePluginDir"] {
            assert!(yaml[key].as_str().unwrap().starts_with("/n/"), "{key}");
        }
        assert_eq!(yaml["failCgroupV1"], false);
        assert_eq!(yaml["readOnlyPort"], 0);
    }

    #[test]
    fn the_pod_network_never_masquerades_and_uses_the_fixed_bridge() {
        let conf: serde_json::Value = serde_json::from_str(&cni_conflist(&layout())).unwrap();
        let bridge = &conf["plugins"][0];
        assert_eq!(bridge["bridge"], BRIDGE);
        assert_eq!(bridge["ipMasq"], false);
        assert_eq!(bridge["ipam"]["ranges"][0][0]["subnet"], POD_CIDR);
        assert_eq!(bridge["ipam"]["dataDir"], "/n/cni/ipam");
    }

    #[test]
    fn containerd_runs_the_local_sandbox_image_with_private_paths() {
        let toml = containerd_toml(&layout());
        assert!(toml.contains(r#"sandbox_image = "hipaa-guard/pause:1""#));
        assert!(toml.contains("restrict_oom_score_adj = true"));
        assert!(toml.contains(r#"conf_dir = "/n/cni/net.d""#));
        assert!(!toml.contains("/var/lib/containerd"));
    }

    #[test]
    fn kube_proxy_leaves_conntrack_alone_and_serves_node_ports_on_the_node_only() {
        let yaml: yaml_serde::Value = yaml_serde::from_str(&kube_proxy_yaml(&layout())).unwrap();
        assert_eq!(yaml["conntrack"]["maxPerCore"], 0);
        assert_eq!(yaml["nodePortAddresses"][0], format!("{NODE_ADDR}/32"));
        assert_eq!(yaml["iptables"]["localhostNodePorts"], false);
    }

    #[test]
    fn the_fixed_addresses_match_the_host_script() {
        let script = include_str!("../../controlplane/node/host.sh");
        for (name, value) in [
            ("BRIDGE", BRIDGE),
            ("NODE_ADDR", NODE_ADDR),
            ("POD_CIDR", POD_CIDR),
            ("SERVICE_CIDR", SERVICE_CIDR),
        ] {
            assert!(
                script.contains(&format!("{name}=\"{value}\"")),
                "host.sh must set {name}=\"{value}\""
            );
        }
        assert!(script.contains(&format!("NODE_DIR=\"{NODE_DIR}\"")));
    }
}
