//! The command line: subcommands, flags, help text with examples, and shell completions.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use clap_complete::Shell;
use hipaa_controls::model::Severity;

use crate::input::parse_size;
pub use crate::labels::NamespaceLabels;
use crate::labels::parse_namespace_labels;

const EXAMPLES: &str = "\
Examples:
  # Check manifests before applying them (exit 1 when something fails)
  kubectl hipaa scan -f k8s/

  # Fix what can be fixed automatically: see the diff, then write it into the files
  kubectl hipaa fix -f k8s/
  kubectl hipaa fix -f k8s/ --write

  # Check a Helm chart's output against your policy, as SARIF for code scanning
  helm template my-app ./chart | kubectl hipaa scan -f - --policy hipaa-policy.yaml -o sarif

  # Compliance of every HipaaPolicy in the cluster
  kubectl hipaa status

  # An evidence report for auditors, organised by 45 CFR section
  kubectl hipaa report -o html --output-file hipaa-evidence.html

  # What a control checks and how to fix it
  kubectl hipaa controls HIPAA-K8S-NETPOL";

/// HIPAA Guard's kubectl plugin: check manifests offline, see compliance, export evidence.
#[derive(Debug, Parser)]
#[command(name = "kubectl-hipaa", bin_name = "kubectl hipaa", version, after_help = EXAMPLES)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// The flags every kubectl plugin takes.
#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: its current context).
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// scan: the namespace of objects that name none (as `kubectl apply -n`; default
    /// `default`). status, report: only this namespace's violations and the policies selecting it.
    #[arg(short = 'n', long, global = true, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check manifests offline (CI, laptops) against HIPAA Guard's controls.
    #[command(after_help = SCAN_HELP)]
    Scan(ScanArgs),
    /// Fix manifests: the smallest change that makes each fixable finding pass, as a diff,
    /// written in place (--write), or as JSON patches (-o patch).
    #[command(after_help = FIX_HELP)]
    Fix(FixArgs),
    /// Show each HipaaPolicy's compliance: score, failing controls, worst violations, exceptions.
    Status(StatusArgs),
    /// Write an evidence report organised by HIPAA section (164.308, 164.312).
    Report(ReportArgs),
    /// Check and compare the evidence history the operator keeps in S3 (docs/history.md).
    History(HistoryArgs),
    /// Who can read Secrets, exec into pods or rewrite workloads in PHI namespaces, and why.
    #[command(after_help = ACCESS_HELP)]
    Access(AccessArgs),
    /// List the control catalog, or show one control.
    Controls(ControlsArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(after_help = COMPLETION_HELP)]
    Completion(CompletionArgs),
}

const SCAN_HELP: &str = "\
Inputs: files, directories (recursive: *.yaml, *.yml, *.json), and - for standard input;
multi-document YAML and List objects are read. Kinds HIPAA Guard does not judge are skipped
and counted. NetworkPolicies, StorageClasses, PVCs and Namespaces among the inputs are the
context that context-dependent controls are judged against; --cluster reads that context
(and the HipaaPolicies) from the live cluster instead.

Namespaces that are not among the inputs (offline): their objects are judged as if the
namespace were the strictest kind, a PHI production namespace without mesh injection
(hipaaguard.io/environment=production, hipaaguard.io/phi=true) that every policy selects;
the summary says so once. --assume-namespace-labels states other labels instead (they replace
the default, and the policies' namespaceSelectors are matched against them; '' means no
labels); --no-assume-namespace reports the checks that need the labels as not evaluable.

Output: -o text (default) groups the findings by object, with each failing control's 45 CFR
sections, the problem and the fix, wrapped to the terminal (COLUMNS, else 100 columns when
not a terminal); -o table prints one row per finding, for scripts; json, sarif and junit
state each finding's result (Fail, Error, Excepted).

Directories: in a file found in a directory, a document that is not a Kubernetes object
(a Helm chart's Chart.yaml or values.yaml, kustomization.yaml, other YAML configuration,
invalid YAML) is skipped and counted, per document; a chart's templates/ are skipped whole
(scan `helm template` output instead). --verbose lists each with why; --strict skips nothing
(exit 2 at the first). In a file named with -f, or on standard input, it is an error.

Invalid objects: a kind HIPAA Guard reads, at an apiVersion Kubernetes 1.35 does not serve
(a v1 Deployment, an extensions/v1beta1 Ingress), is an error naming the served apiVersion;
with --cluster, the cluster's API discovery decides. --strict also refuses fields of judged
objects that Kubernetes does not know (a misspelt securityContext).

Limits: each file, and standard input, holds at most --max-input-size (default 32MiB); a
document nests at most 128 levels and holds at most 250,000 YAML nodes; YAML aliases that
expand without bound are refused. Input with no Kubernetes object at all (empty standard
input, empty or comment-only files) is an error unless --allow-empty is given. Directories:
symbolic links to files are read, links to directories are not followed, and a broken or
looping link is an error.

Exit status: 0 when nothing at or above --fail-on fails, 1 when something does (a check
that cannot be evaluated counts as failing), 2 on bad usage or unreadable, invalid, empty or
over-limit input, an apiVersion that is not served, or (--strict) a skip or unknown field
(nothing is printed on standard output then, in any format).

Examples:
  kubectl hipaa scan -f k8s/ -o sarif > hipaa.sarif
  kustomize build overlays/prod | kubectl hipaa scan -f - --fail-on HIGH
  kubectl hipaa scan -f deploy.yaml --policy policies/production-phi.yaml -o junit
  kubectl hipaa scan -f . --verbose        # a whole repository, listing what is not a manifest";

const FIX_HELP: &str = "\
Reads the inputs as scan does (files, directories, - for standard input; --policy, -n), judges
every object, and for each failed finding that has an automatic fix proposes the smallest change
that makes it pass: securityContext fields (allowPrivilegeEscalation, runAsNonRoot, privileged,
host namespaces), replicas and a zone topologySpreadConstraint (HIPAA-K8S-HA), spec.tls for every
Ingress host and its ssl-redirect annotations, a default-deny NetworkPolicy for a namespace with
none (appended to the file as a new document), mesh injection (--mesh), and literal credentials
moved to a secretKeyRef (the Secret skeleton is printed on standard error, with placeholders,
never the values: create the Secret outside version control).

Output: a unified diff of the files by default (apply it with `git apply` or `patch -p1`);
--write changes the files in place, keeping comments, key order and formatting elsewhere
(standard input cannot be written: use the diff or -o patch); -o patch prints, per object, its
RFC 6902 JSON patch with its kustomize target (for `patches:` in a kustomization, or
`kubectl patch --type=json`). Findings without an automatic fix are listed on standard error
with how to fix them.

Exit status: 0 when every finding is fixed (or has a fix shown), 1 when findings remain that
have no automatic fix, 2 on bad usage or unreadable, invalid or over-limit input (as scan).

Examples:
  kubectl hipaa fix -f deploy.yaml
  kubectl hipaa fix -f k8s/ --policy policies/production-phi.yaml --write
  helm template my-app ./chart | kubectl hipaa fix -f - -o patch";

const COMPLETION_HELP: &str = "\
Examples:
  source <(kubectl hipaa completion bash)
  kubectl hipaa completion zsh > \"${fpath[1]}/_kubectl-hipaa\"
  kubectl hipaa completion fish > ~/.config/fish/completions/kubectl-hipaa.fish";

#[derive(Debug, Clone, Args)]
pub struct ScanArgs {
    /// Manifest files or directories to check; - reads standard input. Repeatable.
    #[arg(short = 'f', long = "filename", value_name = "PATH", required = true, num_args = 1..)]
    pub files: Vec<String>,
    /// A HipaaPolicy YAML file to judge against (repeatable; several policies merge as in the
    /// cluster). Default: every catalog control, enforced, with default parameters.
    #[arg(long, value_name = "FILE")]
    pub policy: Vec<PathBuf>,
    /// Output format: text groups the findings by object; table is one row per finding.
    #[arg(short = 'o', long, value_enum, default_value_t = ScanFormat::Text, env = "KUBECTL_HIPAA_OUTPUT")]
    pub output: ScanFormat,
    /// Exit 1 when a check of at least this severity fails (LOW, MEDIUM, HIGH, CRITICAL).
    #[arg(long, value_name = "SEVERITY", default_value = "LOW", value_parser = parse_severity, env = "KUBECTL_HIPAA_FAIL_ON")]
    pub fail_on: Severity,
    /// Take the context (Namespaces, NetworkPolicies, StorageClasses, PVCs, backup schedules)
    /// and the HipaaPolicies from the live cluster; the inputs override objects of the same name.
    #[arg(long)]
    pub cluster: bool,
    /// When to colour the text and table outputs (auto honours NO_COLOR).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Wrap -o text at this many columns (default: $COLUMNS, else the terminal's width, else 100).
    #[arg(long, value_name = "COLUMNS")]
    pub width: Option<usize>,
    #[command(flatten)]
    pub assumption: AssumptionArgs,
    /// The most one file, or standard input, may hold (e.g. 32MiB, 512KiB, 1000000); larger
    /// input is refused (exit 2) before it is read further.
    #[arg(long, value_name = "SIZE", default_value = "32MiB", value_parser = parse_size, env = "KUBECTL_HIPAA_MAX_INPUT_SIZE")]
    pub max_input_size: u64,
    /// Accept input that holds no Kubernetes object at all (by default that exits 2: the command
    /// that produced it probably failed).
    #[arg(long, env = "KUBECTL_HIPAA_ALLOW_EMPTY")]
    pub allow_empty: bool,
    /// Skip nothing found in directories (YAML that is not a Kubernetes object exits 2, as in a
    /// named file), and refuse judged objects with fields Kubernetes does not know.
    #[arg(long, env = "KUBECTL_HIPAA_STRICT")]
    pub strict: bool,
    /// List each document skipped in directories because it is not a Kubernetes object, with why.
    #[arg(long, env = "KUBECTL_HIPAA_VERBOSE")]
    pub verbose: bool,
}

/// What scan and fix take a namespace to be when the inputs do not hold it (docs/scan.md).
#[derive(Debug, Clone, Default, Args)]
pub struct AssumptionArgs {
    /// Offline: judge namespaces that are not among the inputs as carrying exactly these labels
    /// (KEY=VALUE,...; '' for none) instead of the strictest default (a PHI production
    /// namespace that every policy selects).
    #[arg(long, value_name = "KEY=VALUE,...", value_parser = parse_namespace_labels, env = "KUBECTL_HIPAA_ASSUME_NAMESPACE_LABELS", conflicts_with = "no_assume_namespace")]
    pub assume_namespace_labels: Option<NamespaceLabels>,
    /// Offline: assume nothing of namespaces that are not among the inputs; the checks that
    /// need their labels report that they cannot be evaluated.
    #[arg(long, env = "KUBECTL_HIPAA_NO_ASSUME_NAMESPACE")]
    pub no_assume_namespace: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanFormat {
    /// Grouped by object, wrapped to the terminal: for people.
    Text,
    /// One row per finding: for scripts.
    Table,
    /// Each finding with its result (Fail, Error), and the summary.
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// JUnit XML, for CI test reports.
    Junit,
}

#[derive(Debug, Clone, Args)]
pub struct FixArgs {
    /// Manifest files or directories to fix; - reads standard input. Repeatable.
    #[arg(short = 'f', long = "filename", value_name = "PATH", required = true, num_args = 1..)]
    pub files: Vec<String>,
    /// A HipaaPolicy YAML file to judge against (repeatable), as for scan.
    #[arg(long, value_name = "FILE")]
    pub policy: Vec<PathBuf>,
    #[command(flatten)]
    pub assumption: AssumptionArgs,
    /// Output: a unified diff of the files, or the JSON patches per object.
    #[arg(short = 'o', long, value_enum, default_value_t = FixFormat::Diff, env = "KUBECTL_HIPAA_FIX_OUTPUT")]
    pub output: FixFormat,
    /// Change the files in place (not standard input) instead of printing the diff.
    #[arg(long, conflicts_with = "output")]
    pub write: bool,
    /// The mesh whose injection HIPAA-K8S-TLS-WORKLOAD's fix turns on.
    #[arg(long, value_enum, default_value_t = MeshChoice::Istio, env = "KUBECTL_HIPAA_MESH")]
    pub mesh: MeshChoice,
    /// The most one file, or standard input, may hold, as for scan.
    #[arg(long, value_name = "SIZE", default_value = "32MiB", value_parser = parse_size, env = "KUBECTL_HIPAA_MAX_INPUT_SIZE")]
    pub max_input_size: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FixFormat {
    Diff,
    Patch,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MeshChoice {
    /// The pod label sidecar.istio.io/inject: "true".
    Istio,
    /// The pod annotation linkerd.io/inject: enabled.
    Linkerd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when standard output is a terminal and NO_COLOR is not set.
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Only this HipaaPolicy.
    #[arg(long, value_name = "NAME")]
    pub policy: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = StatusFormat::Table)]
    pub output: StatusFormat,
    /// When to colour the table.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    Table,
    Json,
    Yaml,
}

const ACCESS_HELP: &str = "\
Reviews the namespaces a HipaaPolicy selects (or only -n NAMESPACE): every User, Group and
ServiceAccount that can read Secrets (get, list, watch), exec, attach, port-forward or debug
(ephemeral containers) into pods, or create, update or patch Pods and their controllers, with
the RoleBinding or ClusterRoleBinding, the role and the rule that grant it. ClusterRole
aggregation and `*` in verbs, API groups and resources are resolved as the API server's RBAC
authorizer resolves them. Members of system:masters bypass RBAC and are not listed unless a
binding names the group; identities mapped from AWS IAM are listed under the Kubernetes
user or group they map to.

Needs `list` on roles, clusterroles, rolebindings, clusterrolebindings, namespaces and
hipaapolicies cluster-wide. A binding to a role that does not exist is reported as incomplete.";

#[derive(Debug, Clone, Args)]
pub struct AccessArgs {
    /// Only this subject: a user or group name, or NAMESPACE/NAME for a ServiceAccount.
    #[arg(long, value_name = "NAME")]
    pub subject: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = AccessFormat::Table)]
    pub output: AccessFormat,
    /// When to colour the table.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AccessFormat {
    Table,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// Only this HipaaPolicy (default: every policy).
    #[arg(long, value_name = "NAME")]
    pub policy: Option<String>,
    /// Output format, as kubectl's -o/--output.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = ReportFormat::Markdown)]
    pub format: ReportFormat,
    /// Write the report to this file instead of standard output.
    #[arg(long = "output-file", value_name = "FILE")]
    pub output_file: Option<PathBuf>,
    /// Build the report from the evidence history at this S3 location instead of the live
    /// cluster (AWS credentials and region from the standard AWS chain).
    #[arg(long, value_name = "s3://BUCKET/PREFIX")]
    pub history: Option<String>,
    /// With --history: the report as it was at this time (RFC 3339; default: now).
    #[arg(long, requires = "history", value_name = "TIME", value_parser = parse_time)]
    pub at: Option<DateTime<Utc>>,
    /// With --history: this cluster's records (needed when several clusters share the prefix).
    #[arg(
        long,
        requires = "history",
        conflicts_with = "fleet",
        value_name = "NAME"
    )]
    pub cluster: Option<String>,
    /// With --history: one report across every cluster found under the prefix.
    #[arg(long, requires = "history")]
    pub fleet: bool,
}

#[derive(Debug, Clone, Args)]
pub struct HistoryArgs {
    #[command(subcommand)]
    pub command: HistoryCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum HistoryCommand {
    /// Check every record's hash and each chain's links; name the first broken or missing record
    /// of each chain (exit 1 when there is one).
    Verify(HistoryVerifyArgs),
    /// What changed between the records in force at two times, for each chain.
    Diff(HistoryDiffArgs),
}

#[derive(Debug, Clone, Args)]
pub struct HistoryVerifyArgs {
    /// The history's location.
    #[arg(value_name = "s3://BUCKET/PREFIX")]
    pub location: String,
    /// Only this cluster's chains.
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    #[arg(short = 'o', long = "output", value_enum, default_value_t = HistoryFormat::Text)]
    pub output: HistoryFormat,
}

#[derive(Debug, Clone, Args)]
pub struct HistoryDiffArgs {
    /// The history's location.
    #[arg(value_name = "s3://BUCKET/PREFIX")]
    pub location: String,
    /// The earlier time (RFC 3339).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub from: DateTime<Utc>,
    /// The later time (RFC 3339; default: now).
    #[arg(long, value_name = "TIME", value_parser = parse_time, default_value = "now")]
    pub to: DateTime<Utc>,
    /// Only this cluster's chains.
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    #[arg(short = 'o', long = "output", value_enum, default_value_t = HistoryFormat::Text)]
    pub output: HistoryFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HistoryFormat {
    Text,
    Json,
}

/// An RFC 3339 time (`2026-12-06T05:00:00Z`), or `now`.
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    if text == "now" {
        return Ok(Utc::now());
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.to_utc())
        .map_err(|e| format!("{text:?} is not an RFC 3339 time such as 2026-12-06T05:00:00Z: {e}"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Markdown,
    Html,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct ControlsArgs {
    /// A control ID, e.g. HIPAA-K8S-NETPOL (default: the whole catalog).
    pub id: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = ControlsFormat::Table)]
    pub output: ControlsFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ControlsFormat {
    Table,
    Json,
    Yaml,
}

#[derive(Debug, Clone, Args)]
pub struct CompletionArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

fn parse_severity(text: &str) -> Result<Severity, String> {
    Severity::parse(text)
        .ok_or_else(|| format!("unknown severity {text:?}: use LOW, MEDIUM, HIGH or CRITICAL"))
}

/// Writes the completion script for `shell`. The script completes the `kubectl-hipaa` binary;
/// kubectl 1.26+ completes `kubectl hipaa` through it too (see the README).
pub fn write_completion(shell: Shell, out: &mut dyn std::io::Write) {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "kubectl-hipaa", out);
}

#[cfg(test)]
mod tests;
