//! Load balancers and EFS: an ALB with an HTTPS listener on a TLS 1.2+ policy and an HTTP listener
//! that only redirects, one with a plain HTTP listener, and a network load balancer the fetcher
//! leaves out; an encrypted and an unencrypted EFS file system.

use hipaa_controls::aws::{Listener, ListenerAction};
use hipaa_operator::aws::fetch::NOT_READ;
use hipaa_operator::aws::fetch::edge::{file_systems, load_balancers, with_listeners};
use hipaa_operator::aws::wire::services::{EC2, EFS, ELBV2};
use serde_json::json;

use super::seed::{DataSeed, proxied};
use crate::aws_support::{REGION, unique};

const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555";
const TLS_POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-2021-06";

/// A VPC with two subnets in different zones: (VPC, subnets).
async fn network(seed: &DataSeed) -> (String, [String; 2]) {
    let vpc = seed
        .query_text(
            REGION,
            &EC2,
            "CreateVpc",
            &[("CidrBlock", "10.20.0.0/16")],
            "vpcId",
        )
        .await;
    let mut subnets = Vec::new();
    for (cidr, zone) in [
        ("10.20.1.0/24", "us-east-1a"),
        ("10.20.2.0/24", "us-east-1b"),
    ] {
        let params = [
            ("VpcId", vpc.as_str()),
            ("CidrBlock", cidr),
            ("AvailabilityZone", zone),
        ];
        subnets.push(
            seed.query_text(REGION, &EC2, "CreateSubnet", &params, "subnetId")
                .await,
        );
    }
    (vpc, [subnets[0].clone(), subnets[1].clone()])
}

async fn balancer(
    seed: &DataSeed,
    name: &str,
    kind: &str,
    subnets: &[String; 2],
    stack: &str,
) -> String {
    let params = [
        ("Name", name),
        ("Type", kind),
        ("Scheme", "internet-facing"),
        ("Subnets.member.1", subnets[0].as_str()),
        ("Subnets.member.2", subnets[1].as_str()),
        ("Tags.member.1.Key", "ingress.k8s.aws/stack"),
        ("Tags.member.1.Value", stack),
    ];
    seed.query_text(
        REGION,
        &ELBV2,
        "CreateLoadBalancer",
        &params,
        "LoadBalancerArn",
    )
    .await
}

async fn listener(seed: &DataSeed, balancer: &str, extra: &[(&str, &str)]) {
    let mut params = vec![("LoadBalancerArn", balancer)];
    params.extend_from_slice(extra);
    seed.query(REGION, &ELBV2, "CreateListener", &params).await;
}

#[tokio::test]
async fn application_load_balancers_come_with_their_tags_and_listeners() {
    let seed = DataSeed::new().await;
    let (vpc, subnets) = network(&seed).await;
    let (safe, plain, nlb) = (unique("alb-tls"), unique("alb-http"), unique("nlb"));
    let safe_arn = balancer(&seed, &safe, "application", &subnets, "billing/web").await;
    let plain_arn = balancer(&seed, &plain, "application", &subnets, "billing/legacy").await;
    balancer(&seed, &nlb, "network", &subnets, "billing/tcp").await;
    let group_params = [
        ("Name", unique("tg")),
        ("Protocol", "HTTP".into()),
        ("Port", "80".into()),
        ("VpcId", vpc),
    ];
    let group_params: Vec<(&str, &str)> =
        group_params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let group = seed
        .query_text(
            REGION,
            &ELBV2,
            "CreateTargetGroup",
            &group_params,
            "TargetGroupArn",
        )
        .await;
    let forward = [
        ("DefaultActions.member.1.Type", "forward"),
        ("DefaultActions.member.1.TargetGroupArn", group.as_str()),
    ];
    let mut https = vec![
        ("Protocol", "HTTPS"),
        ("Port", "443"),
        ("SslPolicy", TLS_POLICY),
        (
            "Certificates.member.1.CertificateArn",
            "arn:aws:iam::123456789012:server-certificate/web",
        ),
    ];
    https.extend_from_slice(&forward);
    listener(&seed, &safe_arn, &https).await;
    let redirect = [
        ("Protocol", "HTTP"),
        ("Port", "80"),
        ("DefaultActions.member.1.Type", "redirect"),
        ("DefaultActions.member.1.RedirectConfig.Protocol", "HTTPS"),
        ("DefaultActions.member.1.RedirectConfig.Port", "443"),
        (
            "DefaultActions.member.1.RedirectConfig.StatusCode",
            "HTTP_301",
        ),
    ];
    listener(&seed, &safe_arn, &redirect).await;
    let mut http = vec![("Protocol", "HTTP"), ("Port", "80")];
    http.extend_from_slice(&forward);
    listener(&seed, &plain_arn, &http).await;

    let (proxy, clients) = proxied().await;
    let all = load_balancers(&clients, REGION).await.unwrap();
    assert!(
        !all.iter().any(|t| t.balancer.name == nlb),
        "network load balancers are left out"
    );
    let mut ours: Vec<_> = all
        .into_iter()
        .filter(|t| t.balancer.name == safe || t.balancer.name == plain)
        .collect();
    ours.sort_by(|a, b| a.balancer.name.cmp(&b.balancer.name));
    let [plain_lb, safe_lb] = ours.as_slice() else {
        panic!("{ours:#?}")
    };
    assert_eq!(safe_lb.balancer.arn, safe_arn);
    assert_eq!(safe_lb.balancer.scheme.as_deref(), Some("internet-facing"));
    assert!(
        safe_lb
            .balancer
            .dns_name
            .as_deref()
            .is_some_and(|d| d.starts_with(&safe)),
        "{:?}",
        safe_lb.balancer.dns_name
    );
    assert_eq!(
        safe_lb.tags,
        Ok(vec![(
            "ingress.k8s.aws/stack".to_string(),
            "billing/web".to_string()
        )])
    );
    assert_eq!(
        plain_lb.tags,
        Ok(vec![(
            "ingress.k8s.aws/stack".to_string(),
            "billing/legacy".to_string()
        )])
    );
    assert_eq!(
        safe_lb.balancer.listeners.as_ref().unwrap_err().code,
        NOT_READ
    );
    assert_eq!(proxy.count("DescribeListeners", ""), 0);

    let mut serving = vec![safe_lb.balancer.clone(), plain_lb.balancer.clone()];
    with_listeners(&clients, REGION, &mut serving).await;
    let forwarding = ListenerAction {
        action_type: "forward".into(),
        redirect_protocol: None,
    };
    assert_eq!(
        serving[0].listeners,
        Ok(vec![
            Listener {
                port: 80,
                protocol: "HTTP".into(),
                ssl_policy: None,
                default_actions: vec![ListenerAction {
                    action_type: "redirect".into(),
                    redirect_protocol: Some("HTTPS".into())
                }],
            },
            Listener {
                port: 443,
                protocol: "HTTPS".into(),
                ssl_policy: Some(TLS_POLICY.into()),
                default_actions: vec![forwarding.clone()]
            },
        ])
    );
    assert_eq!(
        serving[1].listeners,
        Ok(vec![Listener {
            port: 80,
            protocol: "HTTP".into(),
            ssl_policy: None,
            default_actions: vec![forwarding]
        }])
    );
}

#[tokio::test]
async fn efs_file_systems_report_encryption_at_rest() {
    let seed = DataSeed::new().await;
    let (safe, plain) = (unique("efs-safe"), unique("efs-plain"));
    let mut ids = Vec::new();
    for (name, encrypted) in [(&safe, true), (&plain, false)] {
        let mut input = json!({"CreationToken": name, "Encrypted": encrypted, "Tags": [{"Key": "Name", "Value": name}]});
        if encrypted {
            input["KmsKeyId"] = json!(KEY);
        }
        let created = seed
            .rest(REGION, &EFS, "POST", "/2015-02-01/file-systems", input)
            .await;
        ids.push(created["FileSystemId"].as_str().unwrap().to_string());
    }
    let (_proxy, clients) = proxied().await;
    let all = file_systems(&clients, REGION, None).await.unwrap();
    assert!(
        ids.iter().all(|id| all.iter().any(|fs| &fs.id == id)),
        "{all:#?}"
    );

    let [one] = file_systems(&clients, REGION, Some(&ids[0]))
        .await
        .unwrap()
        .try_into()
        .unwrap();
    assert_eq!(one.name.as_deref(), Some(safe.as_str()));
    assert!(one.encrypted);
    assert_eq!(one.kms_key_id.as_deref(), Some(KEY));
    assert!(
        one.arn
            .as_deref()
            .is_some_and(|arn| arn.ends_with(&format!("file-system/{}", ids[0])))
    );
    let [other] = file_systems(&clients, REGION, Some(&ids[1]))
        .await
        .unwrap()
        .try_into()
        .unwrap();
    assert_eq!(other.name.as_deref(), Some(plain.as_str()));
    assert!(!other.encrypted);
    assert_eq!(other.kms_key_id, None);
}
