"""Seeds the local AWS endpoint (moto) with what the demo's HipaaPolicies link to.

A compliant side for the `phi-production` policy: the EKS cluster `hipaa-demo` (secrets encrypted
with a customer-managed KMS key, audit logging on, private endpoint), the ECR repositories
`payments/api` and `payments/export` (scan on push, immutable tags, KMS) holding the images the
billing workloads pin, and Secrets Manager secrets under `prod/billing/` (CMK, rotated).

A non-compliant side for the `phi-onboarding` policy: the ECR repository `claims/legacy-api`
(defaults: no scan on push, mutable tags, AES256) whose image has a CRITICAL finding, and the secret
`prod/claims/api-token` (AWS-managed key, never rotated).

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


def main() -> int:
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        print("seed_aws: AWS_ENDPOINT_URL is not set; refusing to touch a real AWS account", file=sys.stderr)
        return 2
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    session = boto3.session.Session(region_name=region)
    kms = session.client("kms", endpoint_url=endpoint)
    key_arn = seed_kms(kms)
    seed_eks(session.client("eks", endpoint_url=endpoint), key_arn)
    seed_ecr(session.client("ecr", endpoint_url=endpoint), endpoint, region, key_arn)
    seed_secrets(session.client("secretsmanager", endpoint_url=endpoint), key_arn)
    return 0


if __name__ == "__main__":
    sys.exit(main())
