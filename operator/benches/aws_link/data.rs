//! The data side of the `aws_link` benchmark: 200 IAM roles (IRSA, one per ServiceAccount, two
//! ServiceAccounts per namespace) granting S3, RDS and DynamoDB access by exact ARNs, prefix
//! globs and a few `*`, some with Deny statements, over an account of 1,000 buckets, 100
//! databases and 200 tables; everything a refresh leaves in the cache.

use std::collections::BTreeMap;

use chrono::Utc;
use hipaa_controls::aws::{
    DynamoTable, IamRole, PolicyDocument, RdsDatabase, RdsKind, RolePolicy, S3Bucket, StoreLinks,
};
use hipaa_operator::aws::cache::{Fetched, Found};
use hipaa_operator::aws::data::found::ListedTable;
use hipaa_operator::observe::aws_inputs::AwsInputs;

pub const ROLES: usize = 200;
pub const BUCKETS: usize = 1_000;
pub const DATABASES: usize = 100;
pub const TABLES: usize = 200;
const ACCOUNT: &str = "123456789012";

/// The ServiceAccount workload `i` runs as, and its namespace's IRSA annotations.
pub fn service_account(i: usize) -> String {
    format!("app-{}", i % ROLES)
}

/// Namespace `ns-{n}` holds ServiceAccounts `app-{n}` and `app-{n + 100}`, each with its role.
pub fn inputs(namespaces: usize) -> AwsInputs {
    let service_account_roles = (0..ROLES)
        .map(|r| {
            (
                (format!("ns-{}", r % namespaces), format!("app-{r}")),
                role_arn(r),
            )
        })
        .collect();
    AwsInputs {
        service_account_roles,
        efs_storage_classes: BTreeMap::new(),
    }
}

fn role_arn(r: usize) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/app-{r}")
}

/// Role `r`'s policy: five buckets by name with their objects, a team prefix glob on every tenth
/// role, `s3:*` on `*` on every fiftieth, one database user, one table, and a Deny on deletes.
fn document(r: usize) -> PolicyDocument {
    let buckets: Vec<String> = (0..5)
        .flat_map(|k| {
            let name = format!("bucket-{}", (r * 5 + k) % BUCKETS);
            [
                format!("arn:aws:s3:::{name}"),
                format!("arn:aws:s3:::{name}/*"),
            ]
        })
        .collect();
    let mut statements = vec![
        serde_json::json!({"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"], "Resource": buckets}),
        serde_json::json!({"Effect": "Allow", "Action": "rds-db:connect",
            "Resource": format!("arn:aws:rds-db:us-east-1:{ACCOUNT}:dbuser:db-{}/app", r % DATABASES)}),
        serde_json::json!({"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"],
            "Resource": [format!("arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/table-{}", r % TABLES),
                         format!("arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/table-{}/index/*", r % TABLES)]}),
        serde_json::json!({"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}),
    ];
    if r.is_multiple_of(10) {
        statements.push(serde_json::json!({"Effect": "Allow", "Action": "s3:Get*",
            "Resource": format!("arn:aws:s3:::bucket-{}*", r / 10)}));
    }
    if r.is_multiple_of(50) {
        statements.push(serde_json::json!({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}));
    }
    let text = serde_json::json!({"Version": "2012-10-17", "Statement": statements}).to_string();
    PolicyDocument::parse(&text).expect("the benchmark's policy parses")
}

fn fetched<T>(result: T) -> Fetched<T> {
    Fetched {
        at: Utc::now(),
        result: Ok(result),
    }
}

fn database(d: usize) -> RdsDatabase {
    RdsDatabase {
        kind: RdsKind::Instance,
        identifier: format!("db-{d}"),
        arn: format!("arn:aws:rds:us-east-1:{ACCOUNT}:db:db-{d}"),
        resource_id: Some(format!("db-{d}")),
        engine: "postgres".to_string(),
        storage_encrypted: true,
        kms_key_id: None,
        backup_retention_days: 7,
        multi_az: true,
        publicly_accessible: false,
        cluster: None,
        parameter_group: Some("hipaa-postgres".to_string()),
        tls_enforced: Ok(None),
        tags: Vec::new(),
        links: StoreLinks::default(),
    }
}

/// Fills the data part of `found`: every role, listing and reached store answered.
pub fn fill(found: &mut Found) {
    let data = &mut found.data;
    for r in 0..ROLES {
        let role = IamRole {
            arn: role_arn(r),
            name: format!("app-{r}"),
            policies: vec![RolePolicy {
                name: "data".to_string(),
                arn: None,
                version: None,
                document: Ok(document(r)),
            }],
            policies_error: None,
            used_by: Vec::new(),
        };
        data.roles.insert(role_arn(r), fetched(role));
    }
    let names: Vec<String> = (0..BUCKETS).map(|b| format!("bucket-{b}")).collect();
    for name in &names {
        let bucket = S3Bucket {
            name: name.clone(),
            arn: format!("arn:aws:s3:::{name}"),
            region: Some("us-east-1".to_string()),
            encryption: Ok(None),
            policy: Ok(None),
            public_access_block: Ok(None),
            public_acl_grants: Ok(Vec::new()),
            versioning: Ok(Some("Enabled".to_string())),
            object_lock: Ok(false),
            links: StoreLinks::default(),
        };
        data.buckets.insert(name.clone(), fetched(bucket));
    }
    data.listings.buckets = Some(fetched(names));
    data.listings.databases = Some(fetched((0..DATABASES).map(database).collect()));
    let tables: Vec<ListedTable> = (0..TABLES)
        .map(|t| ListedTable {
            name: format!("table-{t}"),
            arn: format!("arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/table-{t}"),
        })
        .collect();
    for table in &tables {
        let found_table = DynamoTable {
            name: table.name.clone(),
            arn: table.arn.clone(),
            sse_type: None,
            kms_key_arn: None,
            point_in_time_recovery: Ok(true),
            links: StoreLinks::default(),
        };
        data.tables.insert(table.name.clone(), fetched(found_table));
    }
    data.listings.tables = Some(fetched(tables));
    data.tls.insert(
        ("hipaa-postgres".to_string(), "postgres".to_string(), false),
        fetched(Some(true)),
    );
}
