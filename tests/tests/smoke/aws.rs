//! Moto is a real AWS endpoint on loopback: the Rust SDK and a subprocess (boto3) both reach it.

use aws_sdk_eks::types::{EncryptionConfig, Provider, VpcConfigRequest};
use hipaa_testkit::{moto, run};

#[tokio::test]
async fn eks_cluster_round_trips_through_moto() {
    let moto = moto().await.unwrap();
    assert!(
        moto.endpoint().starts_with("http://127.0.0.1:"),
        "{}",
        moto.endpoint()
    );
    let eks = aws_sdk_eks::Client::new(&moto.sdk_config().await);
    let key_arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555";
    eks.create_cluster()
        .name("smoke-phi")
        .role_arn("arn:aws:iam::123456789012:role/eks")
        .resources_vpc_config(
            VpcConfigRequest::builder()
                .subnet_ids("subnet-1")
                .endpoint_public_access(false)
                .endpoint_private_access(true)
                .build(),
        )
        .encryption_config(
            EncryptionConfig::builder()
                .resources("secrets")
                .provider(Provider::builder().key_arn(key_arn).build())
                .build(),
        )
        .send()
        .await
        .unwrap();

    let cluster = eks
        .describe_cluster()
        .name("smoke-phi")
        .send()
        .await
        .unwrap()
        .cluster
        .unwrap();
    assert_eq!(cluster.name.as_deref(), Some("smoke-phi"));
    let encryption = cluster.encryption_config.unwrap();
    assert_eq!(encryption.len(), 1);
    assert_eq!(
        encryption[0].resources.as_deref(),
        Some(&["secrets".to_string()][..])
    );
    let provider = encryption[0].provider.as_ref().unwrap();
    assert_eq!(provider.key_arn.as_deref(), Some(key_arn));
    let vpc = cluster.resources_vpc_config.unwrap();
    assert!(!vpc.endpoint_public_access && vpc.endpoint_private_access);

    // reset() forgets everything (this binary's only other moto user makes no clusters).
    moto.reset().await.unwrap();
    let gone = eks
        .describe_cluster()
        .name("smoke-phi")
        .send()
        .await
        .unwrap_err();
    assert!(
        gone.as_service_error()
            .is_some_and(|e| e.is_resource_not_found_exception()),
        "{gone:?}"
    );
}

#[tokio::test]
async fn moto_env_points_a_subprocess_at_moto() {
    let moto = moto().await.unwrap();
    let cp_bins = hipaa_testkit::bin_dir().unwrap();
    // moto_server is a symlink into moto's virtualenv, whose python has boto3.
    let venv_python = std::fs::canonicalize(cp_bins.join("moto_server"))
        .unwrap()
        .with_file_name("python");
    let script = "import boto3\n\
        sm = boto3.client('secretsmanager')\n\
        print(sm.meta.endpoint_url, sm.meta.region_name)\n\
        sm.create_secret(Name='smoke-from-boto3', SecretString='x')\n";
    let mut cmd = std::process::Command::new(venv_python);
    cmd.args(["-c", script]);
    moto.configure(&mut cmd);
    let out = run(&mut cmd, None).unwrap();
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout.trim(), format!("{} us-east-1", moto.endpoint()));

    // The request reached this moto (its log lists it); the other test's reset() may already have
    // removed the secret itself.
    let log = std::fs::read_to_string(moto.log_path()).unwrap();
    assert!(log.contains("POST / HTTP/1.1\" 200"), "{log}");
}
