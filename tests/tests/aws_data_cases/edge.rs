//! Load balancers and EFS: an ALB with an HTTPS listener on a TLS 1.2+ policy and an HTTP listener
//! that only redirects, one with a plain HTTP listener, and a network load balancer the fetcher
//! leaves out; an encrypted and an unencrypted EFS file system.

use hipaa_controls::aws::{Listener, ListenerAction};
use hipaa_operator::aws::fetch::NOT_READ;
use hipaa_operator::aws::fetch::edge::{file_systems, load_balancers, with_listeners};
use hipaa_operator::aws::wire::services::EFS;
use serde_json::json;

use super::seed::{DataSeed, TLS_POLICY, proxied};
use crate::aws_support::{REGION, unique};

const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555";
#[tokio::test]
async fn application_load_balancers_come_with_their_tags_and_listeners() {
    let seed = DataSeed::new().await;
    let (vpc, subnets) = seed.network("10.20").await;
    let (safe, plain, nlb) = (unique("alb-tls"), unique("alb-http"), unique("nlb"));
    let safe_arn = (seed
        .balancer(&safe, "application", &subnets, "billing/web")
        .await)
        .arn;
    let plain_arn = (seed
        .balancer(&plain, "application", &subnets, "billing/legacy")
        .await)
        .arn;
    seed.balancer(&nlb, "network", &subnets, "billing/tcp")
        .await;
    let group = seed.target_group(&vpc).await;
    seed.safe_and_plain_listeners(&safe_arn, &plain_arn, &group)
        .await;

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
