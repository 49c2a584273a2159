//! Shared by the demos' end-to-end tests, demo_e2e.rs (`make demo`) and demo_cluster_e2e.rs
//! (`make demo-cluster`): reading a demo's output step by step, and the assertions on the story
//! both demos tell (the policies table as the operator audited it, what the audit found in
//! Kubernetes and AWS, the data stores the workloads reach through their IAM roles, the denial with
//! its controls and 45 CFR sections, what to try next).
#![allow(dead_code)]

use std::path::PathBuf;

/// The repository root.
pub fn repo_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .canonicalize()
        .unwrap();
    manifest.parent().unwrap().to_path_buf()
}

/// The lines printed after the step header `==> <title>` up to the next step.
pub fn section<'a>(stdout: &'a str, title: &str) -> &'a str {
    let header = format!("==> {title}");
    let Some(start) = stdout.find(&header) else {
        panic!("the demo printed no step {header:?}:\n{stdout}")
    };
    let body = &stdout[start + header.len()..];
    &body[..body.find("\n==> ").unwrap_or(body.len())]
}

/// The row of a `kubectl get` table whose first column is `name`, split into columns.
pub fn row<'a>(table: &'a str, name: &str) -> Vec<&'a str> {
    table
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|columns| columns.first() == Some(&name))
        .unwrap_or_else(|| panic!("no row for {name} in:\n{table}"))
}

/// The text after `label` in the demo's output, up to the end of its line, trimmed.
pub fn value_after<'a>(stdout: &'a str, label: &str) -> &'a str {
    let start = stdout
        .find(label)
        .map(|i| i + label.len())
        .unwrap_or_else(|| panic!("no {label:?} in:\n{stdout}"));
    let rest = &stdout[start..];
    rest[..rest.find('\n').unwrap_or(rest.len())].trim()
}

/// The `<ip>:<port>` that follows `label` in the demo's output (scheme stripped).
pub fn address_after(stdout: &str, label: &str) -> String {
    value_after(stdout, label)
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
        .collect()
}

/// One store of the demo's "AWS data the workloads reach" step, as printed: the policy whose
/// status lists it, its kind, its (short) name, its result with the failed controls, and the line
/// under it naming who reaches it (`<- Deployment billing/billing-api via IRSA role/billing-api`).
#[derive(Debug)]
pub struct StoreLine<'a> {
    pub policy: &'a str,
    pub kind: &'a str,
    pub name: &'a str,
    pub result: &'a str,
    pub reached_by: &'a str,
}

/// The stores printed under the step `title`: a policy name on a line of its own (4 spaces), each
/// store (6 spaces: kind, name, result...) and what reaches it (8 spaces, `<- ...`; other lines
/// of 8 spaces say more about the store).
pub fn store_lines<'a>(stdout: &'a str, title: &str) -> Vec<StoreLine<'a>> {
    let mut lines = Vec::new();
    let mut policy = "";
    for line in section(stdout, title).lines() {
        if let Some(reach) = line.strip_prefix("        <- ") {
            let last: &mut StoreLine = lines
                .last_mut()
                .unwrap_or_else(|| panic!("a path before any store: {line:?}"));
            last.reached_by = reach.trim();
        } else if line.starts_with("        ") {
            continue;
        } else if let Some(store) = line.strip_prefix("      ") {
            let (kind, rest) = first_word(store);
            let (name, result) = first_word(rest);
            lines.push(StoreLine {
                policy,
                kind,
                name,
                result,
                reached_by: "",
            });
        } else if let Some(name) = line.strip_prefix("    ") {
            policy = name.trim();
        }
    }
    lines
}

/// The first word of `text` and the trimmed rest.
fn first_word(text: &str) -> (&str, &str) {
    let text = text.trim();
    let end = text.find(char::is_whitespace).unwrap_or(text.len());
    (&text[..end], text[end..].trim())
}

/// The store `kind` `name` that `policy`'s status lists.
pub fn store<'a, 'b>(
    stores: &'b [StoreLine<'a>],
    policy: &str,
    kind: &str,
    name: &str,
) -> &'b StoreLine<'a> {
    stores
        .iter()
        .find(|s| s.policy == policy && s.kind == kind && s.name == name)
        .unwrap_or_else(|| panic!("{policy} lists no {kind} {name}: {stores:#?}"))
}

/// What both demos must print: each policy's compliance as the operator audited it, what the
/// audit found behind the legacy workload, the data each policy's workloads reach, the non-compliant Deployment denied with its controls
/// and sections, what to try next, and the teardown.
pub fn assert_story(stdout: &str) {
    // The operator's audit, as `kubectl get hipaapolicies` shows it.
    let table = section(stdout, "kubectl get hipaapolicies");
    let header: Vec<&str> = table
        .lines()
        .find(|l| l.starts_with("NAME"))
        .unwrap_or_else(|| panic!("no header in:\n{table}"))
        .split_whitespace()
        .collect();
    assert_eq!(header, hipaa_testkit::HIPAA_POLICY_COLUMNS);
    let production = row(table, "phi-production");
    assert_eq!(
        &production[1..3],
        ["Enforce", "True"],
        "the compliant billing namespace:\n{table}"
    );
    assert_eq!(production[4], "0", "no violations in billing:\n{table}");
    let onboarding = row(table, "phi-onboarding");
    assert_eq!(
        &onboarding[1..3],
        ["Audit", "False"],
        "the legacy claims namespace:\n{table}"
    );
    assert!(onboarding[4].parse::<u32>().unwrap() > 0, "{table}");
    let development = row(table, "no-phi-in-development");
    assert_eq!(
        &development[1..3],
        ["Warn", "False"],
        "PHI in the sandbox:\n{table}"
    );

    // The same findings as PolicyReports: phi-onboarding's in claims lists failures.
    let reports = section(stdout, "kubectl get policyreports -A");
    let claims = reports
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|cells| {
            cells.first() == Some(&"claims") && cells.get(1) == Some(&"hipaa-guard-phi-onboarding")
        })
        .unwrap_or_else(|| panic!("no PolicyReport of phi-onboarding in claims:\n{reports}"));
    // NAMESPACE NAME PASS FAIL WARN ERROR SKIP AGE
    assert!(claims[3].parse::<u32>().unwrap() > 0, "{reports}");

    // What the audit found behind the legacy workload, in Kubernetes and in AWS.
    let findings = section(stdout, "what the audit found for phi-onboarding");
    for control in [
        "HIPAA-K8S-SECRETS-IN-ENV",
        "HIPAA-ECR-SCAN",
        "HIPAA-ECR-IMMUTABLE-TAGS",
        "HIPAA-SM-ROTATION",
        "HIPAA-IAM-DATA-WILDCARD-ACTION",
        "HIPAA-S3-ENCRYPTION",
    ] {
        assert!(
            findings.contains(control),
            "expected {control} among:\n{findings}"
        );
    }

    // The data the workloads reach through their IAM roles, and the account's safeguards: billing's
    // least-privilege role reaches a compliant bucket and table; claims' role (s3:* on *) reaches
    // every bucket, among them a non-compliant one, and fails the IAM wildcard controls.
    let title = "the AWS data the workloads reach";
    let stores = store_lines(stdout, title);
    let billing = "Deployment billing/billing-api";
    for (kind, name) in [
        ("S3Bucket", "billing-records"),
        ("DynamoDBTable", "billing-invoices"),
    ] {
        let line = store(&stores, "phi-production", kind, name);
        assert_eq!(line.result, "Pass", "{line:?}");
        assert!(
            line.reached_by.contains(billing)
                && line.reached_by.contains("CronJob billing/billing-export")
                && line.reached_by.ends_with("via IRSA role/billing-api"),
            "{line:?}"
        );
    }
    for policy in ["phi-production", "phi-onboarding"] {
        let account = store(&stores, policy, "AWSAccount", "us-east-1");
        assert_eq!(account.result, "Pass", "{account:?}");
    }
    // Only phi-production names the EKS cluster whose log group is judged.
    let judged = section(stdout, title);
    assert!(
        judged.contains(
            "judged: CloudTrail, EKS log retention, GuardDuty, EBS encryption by default"
        ) && judged.contains("judged: CloudTrail, GuardDuty, EBS encryption by default"),
        "{judged}"
    );
    let claims = "Deployment claims/claims-api via IRSA role/claims-legacy";
    let uploads = store(&stores, "phi-onboarding", "S3Bucket", "claims-uploads");
    assert_eq!(
        uploads.result, "Fail (S3-ENCRYPTION, S3-TLS)",
        "{uploads:?}"
    );
    assert_eq!(uploads.reached_by, claims, "{uploads:?}");
    let records = store(&stores, "phi-onboarding", "S3Bucket", "billing-records");
    assert_eq!(
        (records.result, records.reached_by),
        ("Pass", claims),
        "{records:?}"
    );
    let role = store(&stores, "phi-onboarding", "IAMRole", "role/claims-legacy");
    assert_eq!(
        role.result, "Fail (IAM-DATA-WILDCARD-ACTION, IAM-DATA-WILDCARD-RESOURCE)",
        "{role:?}"
    );
    assert_eq!(role.reached_by, "Deployment claims/claims-api via IRSA");
    // Nothing the demo links is left unjudged by an error.
    assert!(
        stores.iter().all(|s| !s.result.starts_with("Error")),
        "{stores:#?}"
    );

    // The denial, one line per failed control with its section.
    let denial = section(
        stdout,
        "kubectl apply -f deploy/samples/workloads/billing-non-compliant.yaml",
    );
    assert!(denial.contains("denied the request"), "{denial}");
    for needle in [
        "[HIPAA-K8S-PRIVILEGED] 164.312(a)(1)",
        "[HIPAA-K8S-SECRETS-IN-ENV]",
        "[HIPAA-K8S-IMAGE-REGISTRY]",
        "Deployment billing/billing-debug",
    ] {
        assert!(
            denial.contains(needle),
            "expected {needle:?} in the denial:\n{denial}"
        );
    }

    // What to try next, then the teardown.
    let next = section(stdout, "try it yourself");
    assert!(next.contains("export KUBECONFIG="), "{next}");
    assert!(stdout.contains("==> tearing down"), "{stdout}");
}
