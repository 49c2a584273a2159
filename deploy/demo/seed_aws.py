"""Seeds the local AWS endpoint (moto) with what the demo's HipaaPolicies link to.

A compliant side for the `phi-production` policy: the EKS cluster `hipaa-demo` (secrets encrypted
with a customer-managed KMS key, audit logging on, private endpoint), the ECR repositories
`payments/api` and `payments/export` (scan on push, immutable tags, KMS) holding the images the
billing workloads pin, and Secrets Manager secrets under `prod/billing/` (CMK, rotated).

A non-compliant side for the `phi-onboarding` policy: the ECR repository `claims/legacy-api`
(defaults: no scan on push, mutable tags, AES256) whose image has a CRITICAL finding, and the secret
`prod/claims/api-token` (AWS-managed key, never rotated).

The data the workloads reach through their ServiceAccounts' IAM roles (IRSA): billing's role
`billing-api` grants only what billing needs on the bucket `billing-records` (SSE-KMS with the
customer key, a policy denying plain HTTP, Block Public Access, versioning under Object Lock) and
the table `billing-invoices` (the customer key, point-in-time recovery); claims' role
`claims-legacy` grants `s3:*` on `*`, so it reaches every bucket of the account, among them
`claims-uploads` (no default encryption, no TLS-only policy, no versioning).

The account's safeguards, judged for every policy that links AWS: a multi-region CloudTrail trail
with log-file validation that is logging, the EKS cluster's log group kept 365 days, GuardDuty with
EKS audit-log protection, and EBS encryption by default.

Reads the endpoint, region and credentials from the standard AWS environment variables
(AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY). Run it with the Python
of moto's virtualenv, which has boto3.
"""

import hashlib
import json
import os
import sys
import urllib.request

import boto3

ACCOUNT = "123456789012"
CLUSTER = "hipaa-demo"

# Images the sample workloads pin (deploy/samples/workloads/*.yaml): repository, tag, digest.
IMAGES = [
    ("payments/api", "1.8.0", "sha256:37da7f45878e74082677c428389c6c5bdf8caf96219c7e8594c53f0eaa4906d1"),
    ("payments/export", "1.8.0", "sha256:8e3e5e69b6af66c091cc4274b2a7657c68670e215e8bdf0cdc8c20b66bb3a3ae"),
    ("claims/legacy-api", "2.3.1", "sha256:59016b7d0c50e42d1793f7cfae1dc07505742a63aafbc17749d09510b35216a6"),
]
COMPLIANT_REPOSITORIES = {"payments/api", "payments/export"}


def manifest(repository: str, tag: str) -> str:
    """A minimal OCI image manifest; moto stores it as it is."""
    layer = "sha256:" + hashlib.sha256(f"layer of {repository}:{tag}".encode()).hexdigest()
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 1024,
                "digest": "sha256:" + "c" * 64,
            },
            "layers": [
                {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 2048, "digest": layer}
            ],
        }
    )


def seed_kms(kms) -> str:
    key = kms.create_key(Description="hipaa-demo customer-managed key", KeyUsage="ENCRYPT_DECRYPT")
    key_arn = key["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/hipaa-demo", TargetKeyId=key["KeyMetadata"]["KeyId"])
    kms.enable_key_rotation(KeyId=key["KeyMetadata"]["KeyId"])
    print(f"    kms: customer-managed key {key_arn} (rotation on)")
    return key_arn


def seed_eks(eks, key_arn: str) -> None:
    eks.create_cluster(
        name=CLUSTER,
        version="1.33",
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/hipaa-demo-cluster",
        resourcesVpcConfig={
            "subnetIds": ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"],
            "endpointPublicAccess": False,
            "endpointPrivateAccess": True,
        },
        encryptionConfig=[{"resources": ["secrets"], "provider": {"keyArn": key_arn}}],
        logging={
            "clusterLogging": [
                {
                    "types": ["api", "audit", "authenticator", "controllerManager", "scheduler"],
                    "enabled": True,
                }
            ]
        },
    )
    print(f"    eks: cluster {CLUSTER} 1.33 (secrets KMS, audit logs, private endpoint)")


def seed_ecr(ecr, endpoint: str, region: str, key_arn: str) -> None:
    for repository in sorted({image[0] for image in IMAGES}):
        if repository in COMPLIANT_REPOSITORIES:
            ecr.create_repository(
                repositoryName=repository,
                imageTagMutability="IMMUTABLE",
                imageScanningConfiguration={"scanOnPush": True},
                encryptionConfiguration={"encryptionType": "KMS", "kmsKey": key_arn},
            )
            print(f"    ecr: {repository} (scan on push, immutable tags, KMS)")
        else:
            ecr.create_repository(repositoryName=repository)
            print(f"    ecr: {repository} (defaults: no scan on push, mutable tags, AES256)")
    for repository, tag, digest in IMAGES:
        ecr.put_image(repositoryName=repository, imageManifest=manifest(repository, tag), imageTag=tag, imageDigest=digest)
        if repository not in COMPLIANT_REPOSITORIES:
            set_critical_finding(endpoint, region, repository, tag, digest)
        ecr.start_image_scan(repositoryName=repository, imageId={"imageDigest": digest})
        print(f"    ecr: image {repository}:{tag}@{digest[:19]}... scanned")


def set_critical_finding(endpoint: str, region: str, repository: str, tag: str, digest: str) -> None:
    """Makes moto report a CRITICAL vulnerability for the image, however it is asked for."""
    results = []
    for image_id in ({"imageDigest": digest}, {"imageTag": tag}, {"imageDigest": digest, "imageTag": tag}):
        results.append(
            {
                "registryId": ACCOUNT,
                "repositoryName": repository,
                "imageId": image_id,
                "imageScanStatus": {"status": "COMPLETE", "description": "The scan was completed successfully."},
                "imageScanFindings": {
                    "findings": [
                        {
                            "name": "CVE-2026-31337",
                            "severity": "CRITICAL",
                            "uri": "https://nvd.nist.gov/vuln/detail/CVE-2026-31337",
                            "attributes": [{"key": "package_name", "value": "openssl"}],
                        }
                    ],
                    "findingSeverityCounts": {"CRITICAL": 1},
                },
            }
        )
    body = json.dumps({"results": results, "region": region}).encode()
    request = urllib.request.Request(
        endpoint.rstrip("/") + "/moto-api/static/ecr/scan-finding-results",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        if response.status >= 300:
            raise RuntimeError(f"moto refused the scan findings: HTTP {response.status}")


def seed_secrets(sm, key_arn: str) -> None:
    for name in ("prod/billing/db", "prod/billing/export-token"):
        sm.create_secret(Name=name, SecretString=json.dumps({"value": "demo-only"}), KmsKeyId=key_arn)
        sm.rotate_secret(SecretId=name, RotationRules={"AutomaticallyAfterDays": 30})
        print(f"    secretsmanager: {name} (CMK, rotated every 30 days)")
    sm.create_secret(Name="prod/claims/api-token", SecretString=json.dumps({"value": "demo-only"}))
    print("    secretsmanager: prod/claims/api-token (AWS-managed key, never rotated)")


def role_trust(region: str, service_account: str) -> str:
    """The trust policy IRSA gives a role: the cluster's OIDC provider, for one ServiceAccount."""
    issuer = f"oidc.eks.{region}.amazonaws.com/id/{CLUSTER.upper()}"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{issuer}"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": {f"{issuer}:sub": f"system:serviceaccount:{service_account}"}},
                }
            ],
        }
    )


def seed_roles(iam, region: str, key_arn: str) -> None:
    """The roles the sample ServiceAccounts name (eks.amazonaws.com/role-arn)."""
    iam.create_role(RoleName="billing-api", AssumeRolePolicyDocument=role_trust(region, "billing:billing"))
    least_privilege = iam.create_policy(
        PolicyName="billing-api-data",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["s3:GetObject", "s3:PutObject"],
                        "Resource": "arn:aws:s3:::billing-records/*",
                    },
                    {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::billing-records"},
                    {
                        "Effect": "Allow",
                        "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
                        "Resource": f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/billing-invoices",
                    },
                    {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": key_arn},
                ],
            }
        ),
    )
    iam.attach_role_policy(RoleName="billing-api", PolicyArn=least_privilege["Policy"]["Arn"])
    print("    iam: role billing-api (least privilege: billing-records, billing-invoices, the KMS key)")
    iam.create_role(RoleName="claims-legacy", AssumeRolePolicyDocument=role_trust(region, "claims:claims-api"))
    iam.put_role_policy(
        RoleName="claims-legacy",
        PolicyName="everything-in-s3",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        ),
    )
    print("    iam: role claims-legacy (s3:* on *)")


BLOCK_ALL_PUBLIC_ACCESS = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


def tls_only_policy(bucket: str) -> str:
    """A bucket policy that denies every request made without TLS."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyPlainHttp",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


def compliant_bucket(s3, bucket: str, key_arn: str) -> None:
    """SSE-KMS with the customer key, TLS only, Block Public Access, versioning under Object Lock.

    moto 5.2.5 answers GetBucketVersioning under the root element GetBucketVersioningResponse
    instead of S3's VersioningConfiguration, which the AWS SDK for Rust rejects: versioning alone
    would judge as Error here. Object Lock (which S3 only allows with versioning on) is read fine
    and passes HIPAA-S3-VERSIONING as on AWS.
    """
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}}]
        },
    )
    s3.put_bucket_policy(Bucket=bucket, Policy=tls_only_policy(bucket))
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=BLOCK_ALL_PUBLIC_ACCESS)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})


def seed_data(s3, dynamodb, key_arn: str) -> None:
    """billing's bucket and table (compliant), claims' legacy bucket (not)."""
    compliant_bucket(s3, "billing-records", key_arn)
    print("    s3: billing-records (SSE-KMS with the customer key, TLS only, Block Public Access, Object Lock)")
    dynamodb.create_table(
        TableName="billing-invoices",
        KeySchema=[{"AttributeName": "invoice", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "invoice", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key_arn},
    )
    dynamodb.update_continuous_backups(
        TableName="billing-invoices", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    print("    dynamodb: billing-invoices (customer KMS key, point-in-time recovery)")
    # A legacy bucket: Block Public Access (the default of new buckets), nothing else.
    s3.create_bucket(Bucket="claims-uploads")
    s3.put_public_access_block(Bucket="claims-uploads", PublicAccessBlockConfiguration=BLOCK_ALL_PUBLIC_ACCESS)
    print("    s3: claims-uploads (no default encryption, no TLS-only policy, no versioning)")


def seed_account(client, key_arn: str) -> None:
    """CloudTrail, the EKS log group's retention, GuardDuty, EBS encryption by default.

    `client(name)` makes a client of the service `name` on the local endpoint.
    """
    # The trail's bucket is a bucket like any other: claims' s3:* on * reaches it too.
    trail_bucket = "hipaa-demo-cloudtrail"
    compliant_bucket(client("s3"), trail_bucket, key_arn)
    cloudtrail = client("cloudtrail")
    cloudtrail.create_trail(
        Name="hipaa-demo", S3BucketName=trail_bucket, IsMultiRegionTrail=True, EnableLogFileValidation=True
    )
    cloudtrail.start_logging(Name="hipaa-demo")
    print(f"    cloudtrail: trail hipaa-demo (multi-region, log-file validation, logging to {trail_bucket})")
    logs = client("logs")
    log_group = f"/aws/eks/{CLUSTER}/cluster"
    try:
        logs.create_log_group(logGroupName=log_group)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    logs.put_retention_policy(logGroupName=log_group, retentionInDays=365)
    print(f"    logs: {log_group} (retention 365 days)")
    client("guardduty").create_detector(Enable=True, Features=[{"Name": "EKS_AUDIT_LOGS", "Status": "ENABLED"}])
    print("    guardduty: detector (EKS audit-log protection)")
    client("ec2").enable_ebs_encryption_by_default()
    print("    ec2: EBS encryption by default")


def main() -> int:
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        print("seed_aws: AWS_ENDPOINT_URL is not set; refusing to touch a real AWS account", file=sys.stderr)
        return 2
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    session = boto3.session.Session(region_name=region)

    def client(name: str):
        return session.client(name, endpoint_url=endpoint)

    key_arn = seed_kms(client("kms"))
    seed_eks(client("eks"), key_arn)
    seed_ecr(client("ecr"), endpoint, region, key_arn)
    seed_secrets(client("secretsmanager"), key_arn)
    seed_roles(client("iam"), region, key_arn)
    seed_data(client("s3"), client("dynamodb"), key_arn)
    seed_account(client, key_arn)
    return 0


if __name__ == "__main__":
    sys.exit(main())
