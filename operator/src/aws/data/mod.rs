//! Data linking: from each in-scope workload to the AWS data it can reach and to what carries
//! that data. A workload's ServiceAccount names an IAM role (IRSA, or an EKS Pod Identity
//! association); the role's policies grant actions on S3 buckets, RDS databases, DynamoDB tables
//! and KMS keys, matched against what the region holds ([`reach`]); in-scope Ingresses lead to
//! the ALBs that serve them and in-scope claims to their EFS file systems ([`matching`]); ACK
//! and Crossplane objects in scope declare stores of their own ([`declared`]). The
//! Kubernetes half is a plain function of the observation ([`link`]); the AWS half is planned
//! ([`plan`]), looked up ([`run`], [`pod_identity`]) and assembled into the snapshot
//! ([`assemble`]) within the collector's refresh cycle.

pub mod assemble;
pub mod declared;
pub mod found;
pub mod link;
pub mod matching;
pub mod plan;
pub mod pod_identity;
pub mod reach;
pub mod run;

#[cfg(test)]
mod tests;
