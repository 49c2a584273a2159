//! IAM reach at the scale: 10,000 workloads over 200 roles, against 1,000 buckets, 100
//! RDS databases (50 instances, 50 clusters), 200 DynamoDB tables and 50 KMS keys. The roles are a
//! realistic mix: 150 name a few buckets, a table, a database user and a key exactly; 25 use
//! `team-N-*` globs; 10 team globs and 5 account-wide reads Deny part of it back (one a
//! NotAction); 5 use NotResource; 5 grant on `*` (one `*` on `*`).
//! Target: well under 20 ms per computation on one core (the 50 ms covers all linking).
//! Prints the median and fastest of repeated runs of: building the inventory, computing reach, computing
//! reach plus the first 10 `StoreAccess` entries of every store (a capped status), and computing
//! reach plus every store's full `StoreAccess` list (workload × role, each entry owning its
//! strings: the figure grows with the number of pairs, 817,400 here).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use hipaa_controls::aws::{
    IamRole, IdentitySource, LookedUp, PolicyDocument, RdsKind, RolePolicy, RoleUse,
    StoreInventory, StoreRef, compute_reach,
};
use hipaa_controls::model::ResourceRef;
use serde_json::{Value, json};

const ACCOUNT: &str = "111122223333";
const REGION: &str = "us-east-1";
const WORKLOADS: usize = 10_000;
const ROLES: usize = 200;
const BUCKETS: usize = 1_000;
const DATABASES: usize = 100;
const TABLES: usize = 200;
const KEYS: usize = 50;
const TEAMS: usize = 20;
const RUNS: usize = 51;
/// Accesses listed per store when a status shows a few and counts the rest.
const STATUS_CAP: usize = 10;

fn bucket(i: usize) -> String {
    format!("team-{}-bucket-{i}", i % TEAMS)
}

fn table(i: usize) -> String {
    format!(
        "arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/team-{}-table-{i}",
        i % TEAMS
    )
}

fn database(i: usize) -> (RdsKind, String, String) {
    if i.is_multiple_of(2) {
        let arn = format!("arn:aws:rds:{REGION}:{ACCOUNT}:db:db-{i}");
        (RdsKind::Instance, arn, format!("db-RESOURCE{i}"))
    } else {
        let arn = format!("arn:aws:rds:{REGION}:{ACCOUNT}:cluster:cluster-{i}");
        (RdsKind::Cluster, arn, format!("cluster-RESOURCE{i}"))
    }
}

fn key(i: usize) -> String {
    format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/00000000-0000-0000-0000-{i:012}")
}

fn stores() -> Vec<StoreRef> {
    let buckets = (0..BUCKETS).map(|i| StoreRef::S3Bucket { name: bucket(i) });
    let databases = (0..DATABASES).map(|i| {
        let (kind, arn, resource_id) = database(i);
        StoreRef::Rds {
            kind,
            arn,
            resource_id: Some(resource_id),
        }
    });
    let tables = (0..TABLES).map(|i| StoreRef::DynamoTable { arn: table(i) });
    let keys = (0..KEYS).map(|i| StoreRef::KmsKey { arn: key(i) });
    buckets.chain(databases).chain(tables).chain(keys).collect()
}

/// The statements of role `r`.
fn statements(r: usize) -> Vec<Value> {
    let team = r % TEAMS;
    match r {
        // Exact ARNs: three buckets, a table and its indexes, a database user, a key.
        0..150 => {
            let buckets: Vec<String> = (0..3)
                .flat_map(|k| {
                    let name = bucket((r * 7 + k * 13) % BUCKETS);
                    [
                        format!("arn:aws:s3:::{name}"),
                        format!("arn:aws:s3:::{name}/*"),
                    ]
                })
                .collect();
            let t = table((r * 3) % TABLES);
            let (_, _, resource_id) = database(r % DATABASES);
            vec![
                json!({"Sid": "Objects", "Effect": "Allow",
                       "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"], "Resource": buckets}),
                json!({"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"],
                       "Resource": [t.clone(), format!("{t}/index/*")]}),
                json!({"Effect": "Allow", "Action": "rds-db:connect",
                       "Resource": format!("arn:aws:rds-db:{REGION}:{ACCOUNT}:dbuser:{resource_id}/app")}),
                json!({"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                       "Resource": key(r % KEYS),
                       "Condition": {"StringEquals": {"kms:ViaService": format!("s3.{REGION}.amazonaws.com")}}}),
                json!({"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"}),
            ]
        }
        // Team globs.
        150..175 => vec![
            json!({"Effect": "Allow", "Action": "s3:*",
                   "Resource": [format!("arn:aws:s3:::team-{team}-*"), format!("arn:aws:s3:::team-{team}-*/*")]}),
            json!({"Effect": "Allow", "Action": "dynamodb:*",
                   "Resource": format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/team-{team}-*")}),
            json!({"Effect": "Allow", "Action": "rds-data:ExecuteStatement",
                   "Resource": format!("arn:aws:rds:{REGION}:{ACCOUNT}:cluster:*")}),
        ],
        // Team globs with a Deny carve-out, and a conditional Deny that removes nothing.
        175..185 => vec![
            json!({"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                   "Resource": format!("arn:aws:s3:::team-{team}-*/*")}),
            json!({"Effect": "Deny", "Action": "s3:*",
                   "Resource": format!("arn:aws:s3:::team-{team}-bucket-1*")}),
            json!({"Effect": "Deny", "Action": "*",
                   "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}),
        ],
        // Account-wide reads with a Deny carve-out (one through NotAction).
        185..190 => vec![
            json!({"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "arn:aws:s3:::*"}),
            json!({"Effect": "Deny", "Action": "s3:*",
                   "Resource": [format!("arn:aws:s3:::team-{team}-*")]}),
            if r == 185 {
                json!({"Effect": "Allow", "NotAction": ["iam:*", "s3:*"], "Resource": "*"})
            } else {
                json!({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key(r % KEYS)})
            },
        ],
        // Everything but one table.
        190..195 => {
            vec![json!({"Effect": "Allow", "Action": "dynamodb:Query", "NotResource": table(r)})]
        }
        // `*` resources; the last role is `*` on `*`.
        _ => vec![if r == ROLES - 1 {
            json!({"Effect": "Allow", "Action": "*", "Resource": "*"})
        } else {
            json!({"Effect": "Allow", "Action": ["s3:GetObject", "dynamodb:GetItem"], "Resource": "*"})
        }],
    }
}

fn roles() -> Vec<LookedUp<IamRole>> {
    (0..ROLES)
        .map(|r| {
            let arn = format!("arn:aws:iam::{ACCOUNT}:role/app-{r}");
            let document = json!({"Version": "2012-10-17", "Statement": statements(r)}).to_string();
            let used_by = (r..WORKLOADS)
                .step_by(ROLES)
                .map(|w| RoleUse {
                    workload: ResourceRef::new(
                        "Deployment",
                        Some(&format!("ns-{}", w % 100)),
                        format!("workload-{w}"),
                    ),
                    service_account: format!("sa-{w}"),
                    source: IdentitySource::Irsa,
                })
                .collect();
            let role = IamRole {
                arn: arn.clone(),
                name: format!("app-{r}"),
                policies: vec![RolePolicy {
                    name: format!("app-{r}-data"),
                    arn: Some(format!("arn:aws:iam::{ACCOUNT}:policy/app-{r}-data")),
                    version: Some("v1".into()),
                    document: Ok(PolicyDocument::parse(&document).unwrap()),
                }],
                policies_error: None,
                used_by,
            };
            LookedUp::found(arn, role)
        })
        .collect()
}

/// The median and the fastest of `RUNS` runs. On a shared machine the median includes time
/// other processes held the core; the fastest run is the closest to the one-core cost.
fn median(mut run: impl FnMut()) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed()
        })
        .collect();
    times.sort();
    (times[RUNS / 2], times[0])
}

fn ms((median, fastest): (Duration, Duration)) -> String {
    format!(
        "{:9.3} ms median, {:9.3} ms fastest",
        median.as_secs_f64() * 1e3,
        fastest.as_secs_f64() * 1e3
    )
}

fn main() {
    let roles = roles();
    let stores = stores();
    let inventory = StoreInventory::new(stores.iter().cloned());
    let workloads: usize = roles
        .iter()
        .map(|r| r.result.as_ref().unwrap().used_by.len())
        .sum();
    assert_eq!(workloads, WORKLOADS);
    let reach = compute_reach(&roles, &inventory);
    assert!(reach.unknown().is_empty());
    let reached = reach.reached().count();
    let grants = reach.grant_count();
    let accesses: usize = reach
        .reached()
        .map(|index| reach.accesses(index).len())
        .sum();
    // Not vacuous: the carve-outs and the exact grants both show.
    assert!(reached > 1_000, "only {reached} stores reached");
    assert!(grants > 5_000, "only {grants} grants");

    let build = median(|| {
        black_box(StoreInventory::new(black_box(&stores).iter().cloned()));
    });
    let compute = median(|| {
        black_box(compute_reach(black_box(&roles), &inventory));
    });
    let with_accesses = median(|| {
        let reach = compute_reach(black_box(&roles), &inventory);
        let total: usize = reach
            .reached()
            .map(|index| reach.accesses(index).len())
            .sum();
        black_box(total);
    });
    let capped = median(|| {
        let reach = compute_reach(black_box(&roles), &inventory);
        let total: usize = reach
            .reached()
            .map(|index| reach.accesses_limited(index, STATUS_CAP).len())
            .sum();
        black_box(total);
    });
    println!(
        "reach: {WORKLOADS} workloads, {ROLES} roles, {BUCKETS} buckets, {DATABASES} databases, \
         {TABLES} tables, {KEYS} keys → {reached} stores reached, {grants} role grants, \
         {accesses} workload accesses ({RUNS} runs, one thread)"
    );
    println!("  inventory build (from the store list):   {}", ms(build));
    println!("  compute_reach:                           {}", ms(compute));
    println!(
        "  compute_reach + {STATUS_CAP} StoreAccess per store:   {}",
        ms(capped)
    );
    println!(
        "  compute_reach + every StoreAccess list:  {}",
        ms(with_accesses)
    );
}
