//! Seeding the edge both the fetcher tests and the scenario need: a VPC with two subnets, load
//! balancers tagged as the AWS Load Balancer Controller tags an Ingress's, a target group, and the
//! listeners of one safe and one plain ALB.

use hipaa_operator::aws::wire::XmlNode;
use hipaa_operator::aws::wire::services::{EC2, ELBV2};

use super::DataSeed;
use crate::aws_support::{REGION, unique};

/// The TLS 1.2+ negotiation policy of the safe HTTPS listeners.
pub const TLS_POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-2021-06";

/// A load balancer as created: its ARN and DNS name.
pub struct Balancer {
    pub arn: String,
    pub dns_name: String,
}

impl DataSeed {
    /// A VPC `{prefix}.0.0/16` with two subnets in different zones: (VPC, subnets).
    pub async fn network(&self, prefix: &str) -> (String, [String; 2]) {
        let cidr = format!("{prefix}.0.0/16");
        let vpc = self
            .query_text(REGION, &EC2, "CreateVpc", &[("CidrBlock", &cidr)], "vpcId")
            .await;
        let mut subnets = [String::new(), String::new()];
        for ((third, zone), subnet) in [(1, "us-east-1a"), (2, "us-east-1b")]
            .into_iter()
            .zip(&mut subnets)
        {
            let cidr = format!("{prefix}.{third}.0/24");
            let params = [
                ("VpcId", vpc.as_str()),
                ("CidrBlock", cidr.as_str()),
                ("AvailabilityZone", zone),
            ];
            *subnet = self
                .query_text(REGION, &EC2, "CreateSubnet", &params, "subnetId")
                .await;
        }
        (vpc, subnets)
    }

    /// An internet-facing load balancer of `kind` (`application`, `network`) in `subnets`, tagged
    /// with the Ingress `stack` (`namespace/name`).
    pub async fn balancer(
        &self,
        name: &str,
        kind: &str,
        subnets: &[String; 2],
        stack: &str,
    ) -> Balancer {
        let params = [
            ("Name", name),
            ("Type", kind),
            ("Scheme", "internet-facing"),
            ("Subnets.member.1", subnets[0].as_str()),
            ("Subnets.member.2", subnets[1].as_str()),
            ("Tags.member.1.Key", "ingress.k8s.aws/stack"),
            ("Tags.member.1.Value", stack),
        ];
        let answer = self
            .query(REGION, &ELBV2, "CreateLoadBalancer", &params)
            .await;
        let document = answer.document().unwrap();
        let root = document.root_element();
        let text = |field: &str| root.find(field).and_then(|n| n.text()).unwrap().to_string();
        Balancer {
            arn: text("LoadBalancerArn"),
            dns_name: text("DNSName"),
        }
    }

    /// An HTTP target group in `vpc`; its ARN.
    pub async fn target_group(&self, vpc: &str) -> String {
        let name = unique("tg");
        let params = [
            ("Name", name.as_str()),
            ("Protocol", "HTTP"),
            ("Port", "80"),
            ("VpcId", vpc),
        ];
        self.query_text(
            REGION,
            &ELBV2,
            "CreateTargetGroup",
            &params,
            "TargetGroupArn",
        )
        .await
    }

    /// On `safe`: HTTPS on [`TLS_POLICY`] forwarding to `group`, and HTTP that only redirects to
    /// HTTPS; on `plain`: HTTP forwarding to `group`.
    pub async fn safe_and_plain_listeners(&self, safe: &str, plain: &str, group: &str) {
        let forward = [
            ("DefaultActions.member.1.Type", "forward"),
            ("DefaultActions.member.1.TargetGroupArn", group),
        ];
        let mut https = vec![
            ("LoadBalancerArn", safe),
            ("Protocol", "HTTPS"),
            ("Port", "443"),
            ("SslPolicy", TLS_POLICY),
            (
                "Certificates.member.1.CertificateArn",
                "arn:aws:iam::123456789012:server-certificate/web",
            ),
        ];
        https.extend_from_slice(&forward);
        let redirect = vec![
            ("LoadBalancerArn", safe),
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
        let mut http = vec![
            ("LoadBalancerArn", plain),
            ("Protocol", "HTTP"),
            ("Port", "80"),
        ];
        http.extend_from_slice(&forward);
        for params in [https, redirect, http] {
            self.query(REGION, &ELBV2, "CreateListener", &params).await;
        }
    }
}
