//! The control catalog: every control HIPAA Guard checks, with its sections, severity, targets,
//! parameters and remediation. docs/controls.md renders the same table for people.

use crate::model::{Control, ParameterSpec, Scope, Severity, Target};

/// Control IDs, for code that names a control (the catalog is the source of truth for the rest).
pub mod ids {
    pub const K8S_TLS_INGRESS: &str = "HIPAA-K8S-TLS-INGRESS";
    pub const K8S_TLS_LB: &str = "HIPAA-K8S-TLS-LB";
    pub const K8S_TLS_WORKLOAD: &str = "HIPAA-K8S-TLS-WORKLOAD";
    pub const K8S_NETPOL: &str = "HIPAA-K8S-NETPOL";
    pub const K8S_VOLUME_ENCRYPTION: &str = "HIPAA-K8S-VOLUME-ENCRYPTION";
    pub const K8S_SECRETS_IN_ENV: &str = "HIPAA-K8S-SECRETS-IN-ENV";
    pub const K8S_PRIVILEGED: &str = "HIPAA-K8S-PRIVILEGED";
    pub const K8S_IMAGE_REGISTRY: &str = "HIPAA-K8S-IMAGE-REGISTRY";
    pub const K8S_HA: &str = "HIPAA-K8S-HA";
    pub const K8S_DEV_PHI: &str = "HIPAA-K8S-DEV-PHI";
    pub const K8S_BACKUP: &str = "HIPAA-K8S-BACKUP";
    pub const K8S_PHI_SCOPE: &str = "HIPAA-K8S-PHI-SCOPE";
    pub const K8S_ACCESS_SECRETS: &str = "HIPAA-K8S-ACCESS-SECRETS";
    pub const K8S_ACCESS_EXEC: &str = "HIPAA-K8S-ACCESS-EXEC";
    pub const K8S_CLUSTER_ADMIN: &str = "HIPAA-K8S-CLUSTER-ADMIN";
    pub const K8S_SA_TOKEN: &str = "HIPAA-K8S-SA-TOKEN";
    pub const EKS_SECRETS_KMS: &str = "HIPAA-EKS-SECRETS-KMS";
    pub const EKS_AUDIT_LOGGING: &str = "HIPAA-EKS-AUDIT-LOGGING";
    pub const EKS_ENDPOINT: &str = "HIPAA-EKS-ENDPOINT";
    pub const EKS_VERSION: &str = "HIPAA-EKS-VERSION";
    pub const EKS_ACCESS_ADMIN: &str = "HIPAA-EKS-ACCESS-ADMIN";
    pub const EKS_AUTH_MODE: &str = "HIPAA-EKS-AUTH-MODE";
    pub const ECR_SCAN: &str = "HIPAA-ECR-SCAN";
    pub const ECR_IMMUTABLE_TAGS: &str = "HIPAA-ECR-IMMUTABLE-TAGS";
    pub const ECR_KMS: &str = "HIPAA-ECR-KMS";
    pub const SM_KMS: &str = "HIPAA-SM-KMS";
    pub const SM_ROTATION: &str = "HIPAA-SM-ROTATION";
    pub const KMS_ROTATION: &str = "HIPAA-KMS-ROTATION";
    pub const IAM_DATA_WILDCARD_ACTION: &str = "HIPAA-IAM-DATA-WILDCARD-ACTION";
    pub const IAM_DATA_WILDCARD_RESOURCE: &str = "HIPAA-IAM-DATA-WILDCARD-RESOURCE";
    pub const S3_ENCRYPTION: &str = "HIPAA-S3-ENCRYPTION";
    pub const S3_TLS: &str = "HIPAA-S3-TLS";
    pub const S3_PUBLIC: &str = "HIPAA-S3-PUBLIC";
    pub const S3_VERSIONING: &str = "HIPAA-S3-VERSIONING";
    pub const RDS_ENCRYPTION: &str = "HIPAA-RDS-ENCRYPTION";
    pub const RDS_BACKUP: &str = "HIPAA-RDS-BACKUP";
    pub const RDS_MULTI_AZ: &str = "HIPAA-RDS-MULTI-AZ";
    pub const RDS_TLS: &str = "HIPAA-RDS-TLS";
    pub const RDS_PUBLIC: &str = "HIPAA-RDS-PUBLIC";
    pub const DYNAMODB_KMS: &str = "HIPAA-DYNAMODB-KMS";
    pub const DYNAMODB_PITR: &str = "HIPAA-DYNAMODB-PITR";
    pub const ALB_TLS: &str = "HIPAA-ALB-TLS";
    pub const EFS_ENCRYPTION: &str = "HIPAA-EFS-ENCRYPTION";
    pub const AWS_CLOUDTRAIL: &str = "HIPAA-AWS-CLOUDTRAIL";
    pub const AWS_LOG_RETENTION: &str = "HIPAA-AWS-LOG-RETENTION";
    pub const AWS_GUARDDUTY: &str = "HIPAA-AWS-GUARDDUTY";
    pub const AWS_EBS_DEFAULT_ENCRYPTION: &str = "HIPAA-AWS-EBS-DEFAULT-ENCRYPTION";
}

/// Parameter names as they appear in `spec.controls[].parameters`.
pub mod params {
    pub const ALLOWED_REGISTRIES: &str = "allowedRegistries";
    pub const ALLOWED_SUBJECTS: &str = "allowedSubjects";
    pub const REQUIRE_EGRESS: &str = "requireEgress";
    pub const MIN_REPLICAS: &str = "minReplicas";
    pub const MIN_VERSION: &str = "minVersion";
    pub const FAIL_ON: &str = "failOn";
    pub const MAX_AGE_DAYS: &str = "maxAgeDays";
    pub const ALLOWED_PRINCIPALS: &str = "allowedPrincipals";
    pub const ALLOW_CONFIG_MAP: &str = "allowConfigMap";
    pub const VALUE_ENTROPY_THRESHOLD: &str = "valueEntropyThreshold";
}

/// The default of `minReplicas`.
pub const DEFAULT_MIN_REPLICAS: i32 = 2;
/// The default of `minVersion`: the oldest EKS minor version still in standard support when the
/// catalog was last reviewed.
pub const DEFAULT_MIN_VERSION: (u32, u32) = (1, 32);
/// The default of `maxAgeDays`.
pub const DEFAULT_MAX_AGE_DAYS: i64 = 90;
/// The default of `allowedSubjects`: the identities of the control plane itself (the API
/// server's superusers, the controller manager and the controllers' ServiceAccounts in
/// kube-system) and EKS's own (`eks:*` users and groups), which hold these accesses in every
/// cluster by design.
pub const DEFAULT_ALLOWED_SUBJECTS: &[&str] = &[
    "Group:system:masters",
    "User:system:kube-controller-manager",
    "ServiceAccount:kube-system:*",
    "User:eks:*",
    "Group:eks:*",
];
/// The default of `valueEntropyThreshold`, in bits per character: random base64 and
/// alphanumeric tokens of 24 characters or more reach it; English words, hex and UUIDs do not.
pub const DEFAULT_VALUE_ENTROPY_THRESHOLD: f64 = 4.5;
/// The default of `failOn`.
pub const DEFAULT_FAIL_ON: Severity = Severity::Critical;

const POD_WORKLOADS: &[Target] = &[Target::PodTemplate];

const ALLOWED_SUBJECTS_PARAMETER: &[ParameterSpec] = &[ParameterSpec {
    name: params::ALLOWED_SUBJECTS,
    description: "Subjects allowed the access, as User:NAME, Group:NAME or ServiceAccount:NAMESPACE:NAME; `*` matches any run of characters.",
    default: "the control plane's identities: Group:system:masters, User:system:kube-controller-manager, ServiceAccount:kube-system:*, User:eks:*, Group:eks:*",
}];

static CATALOG: [Control; 28] = [
    Control {
        id: ids::K8S_TLS_INGRESS,
        title: "Ingress traffic is encrypted with TLS",
        severity: Severity::High,
        sections: &["164.312(e)(1)", "164.312(e)(2)(ii)"],
        description: "Every host in the Ingress rules is covered by spec.tls (or, on an AWS ALB, by an ACM certificate-arn), and plain HTTP is not left open: ALB listen-ports are HTTPS only or ssl-redirect is set, nginx ssl-redirect is not \"false\", kubernetes.io/ingress.allow-http is not \"true\". A TLS entry that lists no hosts covers no named host.",
        remediation: "List every rule host under spec.tls and redirect or close plain HTTP",
        targets: &[Target::Ingress],
        scope: Scope::Kubernetes,
        parameters: &[],
        opt_in: false,
    },
    Control {
        id: ids::K8S_TLS_LB,
        title: "LoadBalancer Services terminate TLS",
        severity: Severity::High,
        sections: &["164.312(e)(1)"],
        description: "A Service of type LoadBalancer sets service.beta.kubernetes.io/aws-load-balancer-ssl-cert, its aws-load-balancer-ssl-ports cover every port (absent means every port), and its aws-load-balancer-ssl-negotiation-policy, when set, only allows TLS 1.2 or later.",
        remediation: "Set the aws-load-balancer-ssl-cert annotation, list every port in aws-load-balancer-ssl-ports and use a TLS 1.2+ negotiation policy",
        targets: &[Target::LoadBalancerService],
        scope: Scope::Kubernetes,
        parameters: &[],
        opt_in: false,
    },
    Control {
        id: ids::K8S_TLS_WORKLOAD,
        title: "Traffic to pods is encrypted",
        severity: Severity::High,
        sections: &["164.312(e)(1)", "164.312(e)(2)(ii)"],
        description: "The pods get mesh mTLS (Linkerd linkerd.io/inject: enabled on the pod or its namespace; Istio sidecar.istio.io/inject: \"true\" on the pod, or the namespace label istio-injection=enabled or istio.io/rev without the pod opting out), or serve TLS themselves, declared by the annotation hipaaguard.io/tls-secret naming a Secret that a volume of the pod mounts.",
        remediation: "Enable mesh mTLS injection for the pods, or mount the serving certificate's Secret and name it in the hipaaguard.io/tls-secret annotation",
        targets: POD_WORKLOADS,
        scope: Scope::Kubernetes,
        parameters: &[],
        opt_in: false,
    },
    Control {
        id: ids::K8S_NETPOL,
        title: "Pods are isolated by a NetworkPolicy",
        severity: Severity::High,
        sections: &["164.312(e)(1)", "164.312(a)(1)"],
        description: "At least one NetworkPolicy in the namespace selects the pods and restricts Ingress (a default-deny with an empty podSelector counts), and no policy selecting them allows all ingress (a rule without from, a peer namespaceSelector: {}, an ipBlock of 0.0.0.0/0 or ::/0, on every port); Egress too when requireEgress is true. Creating or changing a NetworkPolicy so that it allows all ingress, and changing or deleting one so that pods it isolated are left without a restricting policy, is denied.",
        remediation: "Add a NetworkPolicy that selects these pods and restricts their ingress (and egress when requireEgress is true)",
        targets: &[Target::PodTemplate, Target::NetworkPolicy],
        scope: Scope::Kubernetes,
        parameters: &[ParameterSpec {
            name: params::REQUIRE_EGRESS,
            description: "Also require a NetworkPolicy that restricts Egress from the pods.",
            default: "false",
        }],
        opt_in: false,
    },
    Control {
        id: ids::K8S_VOLUME_ENCRYPTION,
        title: "Persistent volumes are encrypted at rest",
        severity: Severity::Critical,
        sections: &["164.312(a)(2)(iv)"],
        description: "Every persistent volume comes from a StorageClass with encryption (ebs.csi.aws.com or kubernetes.io/aws-ebs with encrypted: \"true\"; efs.csi.aws.com with the tls mount option); a claim without storageClassName uses the default StorageClass, and with no default it fails; no hostPath volumes and no inline volumes of other persistent kinds (their encryption cannot be verified).",
        remediation: "Use a StorageClass with encrypted: \"true\" (ideally with a kmsKeyId) and remove hostPath and inline persistent volumes",
        targets: &[
            Target::PodTemplate,
            Target::PersistentVolumeClaim,
            Target::StatefulSet,
        ],
        scope: Scope::Kubernetes,
        parameters: &[],
        opt_in: false,
    },
    Control {
        id: ids::K8S_SECRETS_IN_ENV,
        title: "No literal credentials in environment variables",
        severity: Severity::Critical,
        sections: &["164.312(a)(1)", "164.312(d)"],
        description: "No container (init, regular or ephemeral) sets a literal value on an environment variable whose name marks a credential (PASSWORD, PASSWD, SECRET, TOKEN, API_KEY, APIKEY, PRIVATE_KEY, ACCESS_KEY, CREDENTIAL, AWS_SECRET_ACCESS_KEY; names ending in _FILE, _PATH, _DIR, _NAME, _ARN, _URL point at a credential and pass), nor, whatever the name, a value that looks like a credential: a PEM private key, an AWS access key ID (AKIA or ASIA and 16 characters), a JWT, a URL with an inline password (scheme://user:password@host; a $(VAR) reference passes), or a token of at least 20 characters whose Shannon entropy reaches valueEntropyThreshold (UUIDs, hex digests, URLs, DNS names and paths are not tokens). The finding names the container, the variable and the kind of credential, never the value. ConfigMap data read through envFrom or configMapKeyRef is not judged.",
        remediation: "Take the value from a Secret with valueFrom.secretKeyRef or mount it with the Secrets Store CSI driver",
        targets: POD_WORKLOADS,
        scope: Scope::Kubernetes,
        parameters: &[ParameterSpec {
            name: params::VALUE_ENTROPY_THRESHOLD,
            description: "The Shannon entropy, in bits per character, from which a literal token of 20 characters or more is taken for a credential; lower finds more (and more false positives); above 6.11 the entropy rule never fires (a token has at most 69 distinct characters, log2(69) = 6.11 bits).",
            default: "4.5",
        }],
        opt_in: false,
    },
    Control {
        id: ids::K8S_PRIVILEGED,
        title: "Containers run unprivileged and as non-root",
        severity: Severity::High,
        sections: &["164.312(a)(1)"],
        description: "No privileged container, no hostNetwork, hostPID or hostIPC, every container sets allowPrivilegeEscalation: false, and every container runs as non-root (runAsNonRoot: true or a non-zero runAsUser, on the container or the pod).",
        remediation: "Drop privileged and host namespaces, set allowPrivilegeEscalation: false and runAsNonRoot: true",
        targets: POD_WORKLOADS,
        scope: Scope::Kubernetes,
        parameters: &[],
        opt_in: false,
    },
    Control {
        id: ids::K8S_IMAGE_REGISTRY,
        title: "Images come from approved registries and are pinned",
        severity: Severity::Medium,
        sections: &["164.308(a)(5)(ii)(B)", "164.312(c)(1)"],
        description: "Every container image comes from an allowed registry (default: any private ECR registry, <account>.dkr.ecr.<region>.amazonaws.com) and is pinned by digest or by a tag other than latest; an image without tag is latest.",
        remediation: "Pull images from an allowed registry and pin them by digest or a version tag",
        targets: POD_WORKLOADS,
        scope: Scope::Kubernetes,
        parameters: &[ParameterSpec {
            name: params::ALLOWED_REGISTRIES,
            description: "Registry hosts (with port, if any) images may come from; a leading `*.` matches any subdomain, `host/path/*` any repository under that path, `host/repo` that repository.",
            default: "any ECR registry",
        }],
        opt_in: false,
    },
    Control {
        id: ids::K8S_HA,
        title: "Production workloads are highly available",
        severity: Severity::Medium,
        sections: &["164.308(a)(7)(ii)(C)"],
        description: "In namespaces labelled hipaaguard.io/environment: production, Deployments and StatefulSets run at least minReplicas replicas (an unset replicas is 1; for a workload a HorizontalPodAutoscaler scales, its minReplicas) and spread across zones (topologySpreadConstraints or pod anti-affinity on topology.kubernetes.io/zone). Scaling one below minReplicas (kubectl scale) is denied unless a HorizontalPodAutoscaler scales it.",
        remediation: "Run at least minReplicas replicas and spread them across zones with a topologySpreadConstraint on topology.kubernetes.io/zone",
        targets: &[Target::Deployment, Target::StatefulSet],
        scope: Scope::Kubernetes,
        parameters: &[ParameterSpec {
            name: params::MIN_REPLICAS,
            description: "The fewest replicas a production Deployment or StatefulSet may run.",
            default: "2",
        }],
        opt_in: false,
    },
    Control {
        id: ids::K8S_DEV_PHI,
        title: "No PHI in development",
        severity: Severity::High,
        sections: &["164.308(a)(4)(ii)(A)"],
        description: "A namespace labelled hipaaguard.io/environment: development is not also labelled hipaaguard.io/phi: \"true\", and runs no workload labelled hipaaguard.io/phi: \"true\" nor one that references a PHI secret (a Secret or SecretProviderClass whose name has a `phi` word).",
        remediation: "Move PHI workloads and their secrets out of development namespaces and use synthetic data there",
        targets: &[Target::Namespace, Target::PodTemplate],
        scope: Scope::Kubernetes,
        parameters: &[],
        opt_in: false,
    },
    Control {
        id: ids::K8S_BACKUP,
        title: "PHI volumes are backed up",
        severity: Severity::High,
        sections: &["164.308(a)(7)(ii)(A)"],
        description: "Every namespace labelled hipaaguard.io/phi: \"true\" that has PVCs is included in a Velero Schedule, or each of its PVCs comes from a StorageClass that tags its volumes for AWS Backup (a tagSpecification_N parameter with the key backup, aws-backup or aws-backup-plan). Checked in audits only.",
        remediation: "Include the namespace in a Velero Schedule or tag its volumes for an AWS Backup plan through the StorageClass",
        targets: &[Target::Namespace],
        scope: Scope::KubernetesAudit,
        parameters: &[],
        opt_in: false,
    },
    Control {
        id: ids::K8S_PHI_SCOPE,
        title: "PHI namespaces stay under their policy",
        severity: Severity::High,
        sections: &["164.308(a)(1)(ii)(B)", "164.312(a)(1)"],
        description: "A label change does not take a namespace that holds workloads (Pods, Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs or CronJobs) out of the scope of a HipaaPolicy whose namespaceSelector matched its old labels: removing hipaaguard.io/phi, or another label the selector matches, would leave every control behind. Judged at admission only, under the enforcement and exceptions of the policy the namespace would leave; an audit sees one state and has no change to judge.",
        remediation: "Keep the labels the policy's namespaceSelector matches, move the workloads out first, or add an exception for this control and namespace to that policy",
        targets: &[Target::Namespace],
        scope: Scope::KubernetesAdmission,
        parameters: &[],
        opt_in: false,
    },
    Control {
        id: ids::K8S_ACCESS_SECRETS,
        title: "Only allowed subjects can read Secrets in PHI namespaces",
        severity: Severity::Critical,
        sections: &[
            "164.312(a)(1)",
            "164.308(a)(4)(ii)(B)",
            "164.308(a)(3)(ii)(B)",
        ],
        description: "No User, Group or ServiceAccount outside allowedSubjects can get, list or watch Secrets in a namespace a HipaaPolicy governs, through any RoleBinding or ClusterRoleBinding (ClusterRole aggregation and `*` in verbs, resources and apiGroups resolved). A binding whose role does not exist, or RBAC the operator may not read, is an Error. Judged in audits per namespace, and at admission on every Role, ClusterRole, RoleBinding and ClusterRoleBinding change with the change applied.",
        remediation: "Remove the subject from the binding, narrow the role's rules, or add the subject to allowedSubjects if its access is authorized",
        targets: &[Target::Namespace, Target::Rbac],
        scope: Scope::KubernetesAudit,
        parameters: ALLOWED_SUBJECTS_PARAMETER,
        opt_in: false,
    },
    Control {
        id: ids::K8S_ACCESS_EXEC,
        title: "Only allowed subjects can exec into PHI pods",
        severity: Severity::High,
        sections: &[
            "164.312(a)(1)",
            "164.308(a)(4)(ii)(B)",
            "164.308(a)(3)(ii)(B)",
        ],
        description: "No subject outside allowedSubjects can exec into, attach to, port-forward to or debug (ephemeral containers) the pods of a namespace a HipaaPolicy governs: pods/exec, pods/attach and pods/portforward with get or create, pods/ephemeralcontainers with update or patch. Judged as HIPAA-K8S-ACCESS-SECRETS is.",
        remediation: "Remove the subject from the binding, drop the pods/exec, pods/attach, pods/portforward and pods/ephemeralcontainers rules from the role, or add the subject to allowedSubjects if its access is authorized",
        targets: &[Target::Namespace, Target::Rbac],
        scope: Scope::KubernetesAudit,
        parameters: ALLOWED_SUBJECTS_PARAMETER,
        opt_in: false,
    },
    Control {
        id: ids::K8S_CLUSTER_ADMIN,
        title: "Only allowed subjects are administrators over PHI",
        severity: Severity::Critical,
        sections: &[
            "164.308(a)(3)(ii)(B)",
            "164.308(a)(4)(ii)(B)",
            "164.312(a)(1)",
        ],
        description: "No subject outside allowedSubjects is bound, by a ClusterRoleBinding or by a RoleBinding in a namespace a HipaaPolicy governs, to cluster-admin or to any role with a rule granting every verb on every resource of every API group (`*` on `*`). Judged as HIPAA-K8S-ACCESS-SECRETS is.",
        remediation: "Bind the subject to a role with only the rights it needs, or add it to allowedSubjects if it is an authorized administrator",
        targets: &[Target::Namespace, Target::Rbac],
        scope: Scope::KubernetesAudit,
        parameters: ALLOWED_SUBJECTS_PARAMETER,
        opt_in: false,
    },
    Control {
        id: ids::K8S_SA_TOKEN,
        title: "PHI pods carry no token that can change the cluster",
        severity: Severity::High,
        sections: &["164.312(a)(1)", "164.308(a)(4)(ii)(B)"],
        description: "The pods do not run as the default ServiceAccount, and do not automount the token of a ServiceAccount that any binding lets write to the cluster (create, update, patch, delete, deletecollection, escalate, bind, impersonate or `*` on any resource). automountServiceAccountToken on the pod wins over the ServiceAccount's; unset on both means mounted. Opt-in: list it in spec.controls to apply it.",
        remediation: "Run the pods as a ServiceAccount of their own, and set automountServiceAccountToken: false on the pod unless it must call the API (then bind its ServiceAccount to read-only roles)",
        targets: POD_WORKLOADS,
        scope: Scope::Kubernetes,
        parameters: &[],
        opt_in: true,
    },
    Control {
        id: ids::EKS_SECRETS_KMS,
        title: "EKS secrets are encrypted with a customer-managed KMS key",
        severity: Severity::High,
        sections: &["164.312(a)(2)(iv)"],
        description: "The cluster's encryptionConfig covers the secrets resource with a customer-managed KMS key; the AWS-owned default encryption does not count.",
        remediation: "Associate a customer-managed KMS key with the cluster for secrets encryption (aws eks associate-encryption-config)",
        targets: &[Target::EksCluster],
        scope: Scope::Aws,
        parameters: &[],
        opt_in: false,
    },
    Control {
        id: ids::EKS_AUDIT_LOGGING,
        title: "EKS control-plane audit logging is on",
        severity: Severity::High,
        sections: &["164.312(b)"],
        description: "The control-plane log types api, audit and authenticator are enabled.",
        remediation: "Enable the api, audit and authenticator control-plane log types on the cluster",
        targets: &[Target::EksCluster],
        scope: Scope::Aws,
        parameters: &[],
        opt_in: false,
    },
    Control {
        id: ids::EKS_ENDPOINT,
        title: "The EKS API endpoint is private",
        severity: Severity::High,
        sections: &["164.312(a)(1)", "164.312(e)(1)"],
        description: "The private endpoint is on, and the public endpoint is off or limited to listed CIDRs other than 0.0.0.0/0.",
        remediation: "Turn on the private endpoint and turn off the public one or restrict it to known CIDRs",
        targets: &[Target::EksCluster],
        scope: Scope::Aws,
        parameters: &[],
        opt_in: false,
    },
    Control {
        id: ids::EKS_VERSION,
        title: "EKS runs a supported Kubernetes version",
        severity: Severity::Medium,
        sections: &["164.308(a)(5)(ii)(B)"],
        description: "The cluster's Kubernetes version is at least minVersion.",
        remediation: "Upgrade the cluster to a supported Kubernetes version",
        targets: &[Target::EksCluster],
        scope: Scope::Aws,
        parameters: &[ParameterSpec {
            name: params::MIN_VERSION,
            description: "The oldest acceptable Kubernetes minor version, such as 1.33.",
            default: "1.32",
        }],
        opt_in: false,
    },
    Control {
        id: ids::EKS_ACCESS_ADMIN,
        title: "Only allowed IAM principals are cluster administrators",
        severity: Severity::Critical,
        sections: &[
            "164.312(a)(1)",
            "164.308(a)(3)(ii)(B)",
            "164.308(a)(4)(ii)(B)",
        ],
        description: "Every IAM principal with cluster-admin-equivalent access matches allowedPrincipals: an EKS access entry associated with AmazonEKSClusterAdminPolicy at cluster scope or whose kubernetesGroups include system:masters (when the authentication mode includes API), and an aws-auth mapRoles or mapUsers entry with the group system:masters (when it includes CONFIG_MAP). Access entries that cannot be listed or an aws-auth ConfigMap that cannot be read is an Error, never a Pass.",
        remediation: "Remove the cluster-admin policy association or the system:masters group from principals that need not administer the cluster, or add them to allowedPrincipals after an access review",
        targets: &[Target::EksCluster],
        scope: Scope::Aws,
        parameters: &[ParameterSpec {
            name: params::ALLOWED_PRINCIPALS,
            description: "IAM principal ARNs (roles or users) allowed cluster-admin-equivalent access; `*` matches any run of characters, as in arn:aws:iam::123456789012:role/platform-*.",
            default: "none",
        }],
        opt_in: false,
    },
    Control {
        id: ids::EKS_AUTH_MODE,
        title: "EKS authenticates through access entries",
        severity: Severity::Medium,
        sections: &["164.312(a)(1)", "164.312(d)"],
        description: "The cluster's accessConfig.authenticationMode is API, so that IAM principals reach the cluster only through EKS access entries, which IAM governs and CloudTrail records; API_AND_CONFIG_MAP passes only when allowConfigMap is true; CONFIG_MAP fails.",
        remediation: "Migrate the aws-auth mappings to access entries and switch the cluster's authentication mode to API (aws eks update-cluster-config --access-config authenticationMode=API)",
        targets: &[Target::EksCluster],
        scope: Scope::Aws,
        parameters: &[ParameterSpec {
            name: params::ALLOW_CONFIG_MAP,
            description: "Also accept API_AND_CONFIG_MAP, while a migration from aws-auth is under way.",
            default: "false",
        }],
        opt_in: false,
    },
    Control {
        id: ids::ECR_SCAN,
        title: "Images are scanned and free of serious findings",
        severity: Severity::High,
        sections: &["164.308(a)(1)(ii)(B)", "164.308(a)(5)(ii)(B)"],
        description: "The ECR repository scans on push, and the images in-scope workloads run have no finding at or above failOn.",
        remediation: "Turn on scan on push and rebuild the images on patched bases until no finding reaches failOn",
        targets: &[Target::EcrRepository],
        scope: Scope::Aws,
        parameters: &[ParameterSpec {
            name: params::FAIL_ON,
            description: "The lowest finding severity that fails: CRITICAL, HIGH, MEDIUM or LOW.",
            default: "CRITICAL",
        }],
        opt_in: false,
    },
    Control {
        id: ids::ECR_IMMUTABLE_TAGS,
        title: "ECR tags are immutable",
        severity: Severity::Medium,
        sections: &["164.312(c)(1)"],
        description: "The ECR repository has tag immutability on.",
        remediation: "Set the repository's image tag mutability to IMMUTABLE",
        targets: &[Target::EcrRepository],
        scope: Scope::Aws,
        parameters: &[],
        opt_in: false,
    },
    Control {
        id: ids::ECR_KMS,
        title: "ECR repositories are encrypted with KMS",
        severity: Severity::Medium,
        sections: &["164.312(a)(2)(iv)"],
        description: "The ECR repository's encryption type is KMS.",
        remediation: "Recreate the repository with KMS encryption",
        targets: &[Target::EcrRepository],
        scope: Scope::Aws,
        parameters: &[],
        opt_in: false,
    },
    Control {
        id: ids::SM_KMS,
        title: "Secrets Manager secrets use a customer-managed KMS key",
        severity: Severity::Medium,
        sections: &["164.312(a)(2)(iv)"],
        description: "The secret is encrypted with a customer-managed KMS key, not the aws/secretsmanager default key.",
        remediation: "Re-encrypt the secret with a customer-managed KMS key",
        targets: &[Target::SecretsManagerSecret],
        scope: Scope::Aws,
        parameters: &[],
        opt_in: false,
    },
    Control {
        id: ids::SM_ROTATION,
        title: "Secrets Manager secrets are rotated",
        severity: Severity::Medium,
        sections: &["164.308(a)(4)(ii)(B)"],
        description: "Rotation is on, and the secret was last rotated within maxAgeDays.",
        remediation: "Turn on rotation for the secret and rotate it now",
        targets: &[Target::SecretsManagerSecret],
        scope: Scope::Aws,
        parameters: &[ParameterSpec {
            name: params::MAX_AGE_DAYS,
            description: "The most days allowed since the last rotation.",
            default: "90",
        }],
        opt_in: false,
    },
    Control {
        id: ids::KMS_ROTATION,
        title: "KMS keys are enabled and rotated",
        severity: Severity::Medium,
        sections: &["164.312(a)(2)(iv)"],
        description: "Every KMS key the EKS, ECR and Secrets Manager resources above use is enabled, has rotation on and is not pending deletion.",
        remediation: "Enable the key, turn on automatic rotation and cancel any pending deletion",
        targets: &[Target::KmsKey],
        scope: Scope::Aws,
        parameters: &[],
        opt_in: false,
    },
];

/// Every control, in catalog order (Kubernetes first, then AWS).
pub fn catalog() -> &'static [Control] {
    &CATALOG
}

/// The control with this ID.
pub fn control(id: &str) -> Option<&'static Control> {
    CATALOG.iter().find(|control| control.id == id)
}

/// The catalog position of a control ID; stable for the life of the process.
pub fn index_of(id: &str) -> Option<usize> {
    CATALOG.iter().position(|control| control.id == id)
}

/// The catalog position of a control, found from where it lives in the catalog (a tally asks
/// once per finding, so without comparing IDs); by its ID for a copy held elsewhere.
pub fn position_of(control: &Control) -> Option<usize> {
    let size = std::mem::size_of::<Control>();
    let offset = (control as *const Control as usize).checked_sub(CATALOG.as_ptr() as usize);
    match offset {
        Some(offset) if offset % size == 0 && offset / size < CATALOG.len() => Some(offset / size),
        _ => index_of(control.id),
    }
}

/// Whether `control` reads the parameter `name`.
pub fn reads_parameter(control: &Control, name: &str) -> bool {
    control.parameters.iter().any(|p| p.name == name)
}
