//! Test support for HIPAA Guard's end-to-end tests: a real kube-apiserver + etcd and a moto AWS
//! endpoint per test binary, all on loopback, plus the helpers the tests share (server-side apply,
//! waiting, kubectl/helm, admission verdicts, guarded child processes).
//!
//! Every process this crate starts runs under a supervisor that kills it as soon as the test
//! process is gone, however it went (normal exit, panic, SIGKILL); see [`ChildGuard`]. The final
//! API and the environment variables are documented in `tests/README.md`.

mod apply;
mod binaries;
mod browser;
mod command;
mod control_plane;
mod guard;
mod loopback_http;
mod moto;
mod node;
mod run_dir;
mod wait;

pub use apply::{apply_yaml, apply_yaml_in, fresh_namespace};
pub use binaries::{BIN_DIR_ENV, PinnedVersions, bin_dir, pinned_versions};
pub use browser::{CHROMIUM_ENV, PageLoad, artifacts_dir, chromium, console_lines, load_page};
pub use command::{
    CmdOutput, cargo_bin, expect_allowed, expect_denied, free_port, run, run_with_timeout,
};
pub use control_plane::{
    ControlPlane, HIPAA_POLICY_COLUMNS, PrivateControlPlane, START_TIMEOUT_ENV, control_plane,
};
pub use guard::{ChildGuard, spawn_guarded, spawn_guarded_with_grace};
pub use moto::{Moto, moto};
pub use node::{
    IMAGES_DIR_ENV, NODE_ADDR, NODE_DIR, NODE_NAME, Node, POD_CIDR, SERVICE_CIDR, node,
};
pub use run_dir::{KEEP_ENV, RUN_MARKER_ENV, processes_of_run, run_dir};
pub use wait::wait_for;
