//! How the scenario's account is seeded: through the operator's own signed client (any action of
//! the query, JSON and REST-JSON services, through the moto tests' [`DataSeed`]) and aws-sdk-s3,
//! on the scenario's own moto.

use hipaa_operator::aws::wire::services::{
    CLOUDTRAIL, DYNAMODB, EC2, EFS, GUARDDUTY, IAM, LOGS, RDS,
};
use serde_json::json;

use super::super::s3;
use super::{CLUSTER, Story};
use crate::aws_support::{ACCOUNT, REGION, unique};

impl Story {
    /// SSE-KMS with the customer key, a policy that denies requests without TLS, Block Public
    /// Access, versioning and Object Lock.
    pub(super) async fn hardened_bucket(&self, name: &str) {
        s3::hardened(&self.seed, name, &self.key_arn).await;
    }

    /// The fix the scenario makes in AWS: the open bucket gets SSE-KMS.
    pub async fn encrypt_open_bucket(&self) {
        s3::encrypt(&self.seed, &self.open_bucket, &self.key_arn).await;
    }

    /// A production PostgreSQL instance, hardened or exposed.
    pub(super) async fn database(&self, name: &str, safe: bool) {
        let group = format!("{name}-params");
        self.seed
            .query(
                REGION,
                &RDS,
                "CreateDBParameterGroup",
                &[
                    ("DBParameterGroupName", &group),
                    ("DBParameterGroupFamily", "postgres16"),
                    ("Description", "tls"),
                ],
            )
            .await;
        let force = if safe { "1" } else { "0" };
        self.seed
            .query(
                REGION,
                &RDS,
                "ModifyDBParameterGroup",
                &[
                    ("DBParameterGroupName", &group),
                    ("Parameters.Parameter.1.ParameterName", "rds.force_ssl"),
                    ("Parameters.Parameter.1.ParameterValue", force),
                    ("Parameters.Parameter.1.ApplyMethod", "immediate"),
                ],
            )
            .await;
        let yes_no = |on: bool| if on { "true" } else { "false" };
        let mut params = vec![
            ("DBInstanceIdentifier", name.to_string()),
            ("DBInstanceClass", "db.t3.micro".into()),
            ("Engine", "postgres".into()),
            ("MasterUsername", "admin".into()),
            ("MasterUserPassword", "not-a-secret-1".into()),
            ("AllocatedStorage", "20".into()),
            ("DBParameterGroupName", group),
            ("StorageEncrypted", yes_no(safe).into()),
            ("BackupRetentionPeriod", if safe { "7" } else { "1" }.into()),
            ("MultiAZ", yes_no(safe).into()),
            ("PubliclyAccessible", yes_no(!safe).into()),
            ("Tags.Tag.1.Key", "environment".into()),
            ("Tags.Tag.1.Value", "production".into()),
        ];
        if safe {
            params.push(("KmsKeyId", self.key_arn.clone()));
        }
        let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.seed
            .query(REGION, &RDS, "CreateDBInstance", &params)
            .await;
    }

    /// A table with the customer key and point-in-time recovery, or with neither.
    pub(super) async fn table(&self, name: &str, safe: bool) {
        let mut input = json!({
            "TableName": name,
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
        });
        if safe {
            input["SSESpecification"] =
                json!({"Enabled": true, "SSEType": "KMS", "KMSMasterKeyId": self.key_arn});
        }
        self.seed
            .json(REGION, &DYNAMODB, "CreateTable", input)
            .await;
        if safe {
            let input = json!({"TableName": name, "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}});
            self.seed
                .json(REGION, &DYNAMODB, "UpdateContinuousBackups", input)
                .await;
        }
    }

    /// `billing-api`: exactly its bucket's objects, its database user and its table;
    /// `claims-export`: `s3:*` on `*`, and the other database and table.
    pub(super) async fn roles(&mut self) {
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}]}"#;
        let table = |name: &str| format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}");
        // Databases by ARN: moto 5.2.5 gives every instance the same DbiResourceId, so an
        // `rds-db:connect` grant (covered by the reach unit tests) would name both here.
        let database = |name: &str| format!("arn:aws:rds:{REGION}:{ACCOUNT}:db:{name}");
        let least = json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "Records", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
             "Resource": format!("arn:aws:s3:::{}/*", self.safe_bucket)},
            {"Sid": "Db", "Effect": "Allow", "Action": "rds:CreateDBSnapshot", "Resource": database(&self.safe_db)},
            {"Sid": "Orders", "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"], "Resource": table(&self.safe_table)}]});
        let wide = json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "Everything", "Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Sid": "Db", "Effect": "Allow", "Action": "rds:CreateDBSnapshot", "Resource": database(&self.open_db)},
            {"Sid": "Events", "Effect": "Allow", "Action": "dynamodb:Query", "Resource": table(&self.open_table)}]});
        for (name, document, slot) in [
            (unique("billing-api"), least, 0),
            (unique("claims-export"), wide, 1),
        ] {
            let arn = self
                .seed
                .query_text(
                    REGION,
                    &IAM,
                    "CreateRole",
                    &[("RoleName", &name), ("AssumeRolePolicyDocument", trust)],
                    "Arn",
                )
                .await;
            self.seed
                .query(
                    REGION,
                    &IAM,
                    "PutRolePolicy",
                    &[
                        ("RoleName", &name),
                        ("PolicyName", "data"),
                        ("PolicyDocument", &document.to_string()),
                    ],
                )
                .await;
            if slot == 0 {
                self.least_role_arn = arn;
            } else {
                self.wide_role_arn = arn;
            }
        }
    }

    /// `web`: HTTPS on a TLS 1.2+ policy and HTTP that only redirects, tagged for Ingress
    /// billing/web; `legacy`: plain HTTP forwarding, found by its DNS name.
    pub(super) async fn load_balancers(&mut self) {
        let (vpc, subnets) = self.seed.network("10.30").await;
        let group = self.seed.target_group(&vpc).await;
        let safe = self
            .seed
            .balancer(&self.safe_alb, "application", &subnets, "billing/web")
            .await;
        let open = self
            .seed
            .balancer(&self.open_alb, "application", &subnets, "billing/other")
            .await;
        self.open_alb_dns = open.dns_name;
        self.seed
            .safe_and_plain_listeners(&safe.arn, &open.arn, &group)
            .await;
    }

    /// An EFS file system, encrypted at rest or not; its ID.
    pub(super) async fn file_system(&self, encrypted: bool) -> String {
        let input = json!({"CreationToken": unique("fs"), "Encrypted": encrypted});
        let answer = self
            .seed
            .rest(REGION, &EFS, "POST", "/2015-02-01/file-systems", input)
            .await;
        answer["FileSystemId"].as_str().unwrap().to_string()
    }

    /// A multi-region trail with log-file validation that logs, the cluster's log group kept a
    /// year, a GuardDuty detector with EKS audit logs, EBS encryption by default.
    pub(super) async fn account(&self) {
        let trail = unique("trail");
        let input = json!({"Name": trail, "S3BucketName": self.trail_bucket, "IsMultiRegionTrail": true, "EnableLogFileValidation": true});
        self.seed
            .json(REGION, &CLOUDTRAIL, "CreateTrail", input)
            .await;
        self.seed
            .json(REGION, &CLOUDTRAIL, "StartLogging", json!({"Name": trail}))
            .await;
        let group = format!("/aws/eks/{CLUSTER}/cluster");
        self.seed
            .json(
                REGION,
                &LOGS,
                "CreateLogGroup",
                json!({"logGroupName": group}),
            )
            .await;
        self.seed
            .json(
                REGION,
                &LOGS,
                "PutRetentionPolicy",
                json!({"logGroupName": group, "retentionInDays": 400}),
            )
            .await;
        let detector =
            json!({"enable": true, "features": [{"name": "EKS_AUDIT_LOGS", "status": "ENABLED"}]});
        self.seed
            .rest(REGION, &GUARDDUTY, "POST", "/detector", detector)
            .await;
        self.seed
            .query(REGION, &EC2, "EnableEbsEncryptionByDefault", &[])
            .await;
    }
}
