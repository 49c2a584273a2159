//! The catalog's controls over what carries PHI outside the stores (the ALBs in front of
//! Ingresses, the EFS file systems behind volumes) and over the account's own safeguards in the
//! policy's region: CloudTrail, log retention, GuardDuty and EBS encryption by default.

use crate::model::{Control, ParameterSpec, Scope, Severity, Target};

use super::{ids, params};

/// The ALB, EFS and account controls, in catalog order.
pub(super) const CONTROLS: [Control; 6] = [
    Control {
        id: ids::ALB_TLS,
        title: "Load balancers serve only TLS 1.2 or later",
        severity: Severity::High,
        sections: &["164.312(e)(1)", "164.312(e)(2)(ii)"],
        description: "Every listener of the Application Load Balancer that serves an in-scope Ingress is HTTPS (or TLS) with a TLS 1.2+ security policy, and every HTTP listener only redirects to HTTPS (each default action a redirect with protocol HTTPS). Listeners that cannot be read are an Error.",
        remediation: "Use a TLS 1.2+ security policy (such as ELBSecurityPolicy-TLS13-1-2-2021-06) on every HTTPS listener and make HTTP listeners redirect to HTTPS (alb.ingress.kubernetes.io/ssl-redirect)",
        targets: &[Target::Alb],
        scope: Scope::Aws,
        parameters: &[],
        opt_in: false,
    },
    Control {
        id: ids::EFS_ENCRYPTION,
        title: "EFS file systems are encrypted at rest",
        severity: Severity::High,
        sections: &["164.312(a)(2)(iv)"],
        description: "The EFS file system behind an in-scope persistent volume is Encrypted. (HIPAA-K8S-VOLUME-ENCRYPTION requires the tls mount option, for encryption in transit; it cannot see the file system.)",
        remediation: "Create an encrypted file system (encryption at rest is chosen at creation), copy the data with AWS DataSync and point the StorageClass at it",
        targets: &[Target::EfsFileSystem],
        scope: Scope::Aws,
        parameters: &[],
        opt_in: false,
    },
    Control {
        id: ids::AWS_CLOUDTRAIL,
        title: "A multi-region CloudTrail trail is logging",
        severity: Severity::High,
        sections: &["164.312(b)", "164.308(a)(1)(ii)(D)"],
        description: "At least one trail that logs the policy's region is multi-region, has log-file validation on and is logging (GetTrailStatus IsLogging). When none qualifies and a trail's status could not be read, the result is an Error.",
        remediation: "Create a multi-region trail with log-file validation (aws cloudtrail create-trail --is-multi-region-trail --enable-log-file-validation) and start logging",
        targets: &[Target::AwsAccount],
        scope: Scope::Aws,
        parameters: &[],
        opt_in: false,
    },
    Control {
        id: ids::AWS_LOG_RETENTION,
        title: "EKS control-plane logs are kept long enough",
        severity: Severity::Medium,
        sections: &["164.312(b)", "164.316(b)(2)(i)"],
        description: "The EKS cluster's CloudWatch log group (/aws/eks/<cluster>/cluster) keeps events at least minRetentionDays days; a group that never expires events passes, a missing group fails. Not judged when the policy links no EKS cluster.",
        remediation: "Set the log group's retention to at least minRetentionDays days (aws logs put-retention-policy)",
        targets: &[Target::AwsAccount],
        scope: Scope::Aws,
        parameters: &[ParameterSpec {
            name: params::MIN_RETENTION_DAYS,
            description: "The fewest days the log group keeps events.",
            default: "365",
        }],
        opt_in: false,
    },
    Control {
        id: ids::AWS_GUARDDUTY,
        title: "GuardDuty watches the EKS cluster",
        severity: Severity::Medium,
        sections: &["164.308(a)(1)(ii)(D)", "164.308(a)(6)(ii)"],
        description: "A GuardDuty detector in the policy's region is ENABLED with EKS audit-log protection (the EKS_AUDIT_LOGS feature); a region without a detector fails.",
        remediation: "Enable GuardDuty in the region and turn on EKS Protection (the EKS_AUDIT_LOGS feature)",
        targets: &[Target::AwsAccount],
        scope: Scope::Aws,
        parameters: &[],
        opt_in: false,
    },
    Control {
        id: ids::AWS_EBS_DEFAULT_ENCRYPTION,
        title: "EBS encryption by default is on",
        severity: Severity::Medium,
        sections: &["164.312(a)(2)(iv)"],
        description: "EBS encryption by default is on in the policy's region, so that every new volume and snapshot is encrypted whatever the StorageClass says.",
        remediation: "Turn on EBS encryption by default in the region (aws ec2 enable-ebs-encryption-by-default)",
        targets: &[Target::AwsAccount],
        scope: Scope::Aws,
        parameters: &[],
        opt_in: false,
    },
];
