//! The image writer, scripts/oci_image.py, that `make images` packs the product with: the archives
//! it writes (read back here by an independent reader, Python's tarfile, gzip and hashlib, not by
//! the writer's code), their determinism, its refusals, and that deploy/Dockerfile stays inside the
//! subset it implements. No control plane and no container runtime: these run in milliseconds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
const PATH_ENV: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn repo(path: &str) -> PathBuf {
    Path::new(ROOT).join(path)
}

fn python() -> Command {
    let mut cmd = Command::new("python3");
    cmd.current_dir(ROOT);
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?} (python3 3.11+ is required): {e}"))
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn writer(args: &[&str]) -> Output {
    run(python().arg(repo("scripts/oci_image.py")).args(args))
}

fn build(
    dockerfile: &Path,
    context: &Path,
    target: Option<&str>,
    tag: &str,
    output: &Path,
) -> Output {
    let mut args = vec![
        "build",
        "--dockerfile",
        dockerfile.to_str().unwrap(),
        "--context",
        context.to_str().unwrap(),
        "--tag",
        tag,
        "--output",
        output.to_str().unwrap(),
    ];
    if let Some(target) = target {
        args.extend(["--target", target]);
    }
    writer(&args)
}

/// Reads an archive back with Python's standard library and describes it as JSON: every entry of
/// the archive and of each layer, whether each blob's name is its sha256, each layer's diff_id, and
/// the mtime field of each gzip header.
const READER: &str = r#"
import gzip, hashlib, io, json, sys, tarfile

def entry(m, data):
    kind = "dir" if m.isdir() else "file" if m.isfile() else "other"
    return {"name": m.name, "type": kind, "mode": m.mode, "uid": m.uid, "gid": m.gid,
            "uname": m.uname, "gname": m.gname, "mtime": m.mtime, "size": m.size,
            "sha256": hashlib.sha256(data).hexdigest() if data is not None else None}

outer, files = [], {}
with tarfile.open(sys.argv[1]) as t:
    for m in t.getmembers():
        data = t.extractfile(m).read() if m.isfile() else None
        outer.append(entry(m, data))
        if data is not None:
            files[m.name] = data
manifest = json.loads(files["manifest.json"])
blobs_named_by_digest = all(
    hashlib.sha256(b).hexdigest() == n.rsplit("/", 1)[1] for n, b in files.items() if n.startswith("blobs/sha256/"))
config = json.loads(files[manifest[0]["Config"]])
layers = []
for path in manifest[0]["Layers"]:
    blob = files[path]
    raw = gzip.decompress(blob)
    with tarfile.open(fileobj=io.BytesIO(raw)) as lt:
        entries = [entry(m, lt.extractfile(m).read() if m.isfile() else None) for m in lt.getmembers()]
    layers.append({"diff_id": "sha256:" + hashlib.sha256(raw).hexdigest(),
                   "gzip_mtime": int.from_bytes(blob[4:8], "little"), "entries": entries})
print(json.dumps({"outer": outer, "manifest": manifest, "blobs_named_by_digest": blobs_named_by_digest,
                  "config": config, "layers": layers}))
"#;

fn read_archive(archive: &Path) -> Value {
    let out = run(python().args(["-c", READER]).arg(archive));
    assert!(
        out.status.success(),
        "reading {}: {}",
        archive.display(),
        text(&out)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn sha256_hex(path: &Path) -> String {
    let script =
        "import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())";
    let out = run(python().args(["-c", script]).arg(path));
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn write_file(path: &Path, content: &[u8], mode: u32) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// A build context with the files deploy/Dockerfile copies: small fakes with unusual modes, which
/// the image must not keep (only the executable bit decides 0755 or 0644).
fn fake_product_context(dir: &Path) -> PathBuf {
    let ctx = dir.join("context");
    write_file(&ctx.join("hipaa-webhook"), b"fake webhook binary\n", 0o700);
    write_file(
        &ctx.join("hipaa-operator"),
        b"fake operator binary\n",
        0o750,
    );
    write_file(
        &ctx.join("ca-certificates.crt"),
        b"-----BEGIN CERTIFICATE-----\nfake\n",
        0o600,
    );
    ctx
}

/// The LABELs of one stage of deploy/Dockerfile, read here without the writer: continuation lines
/// joined, then each `key="value"` pair (the file's only form).
fn dockerfile_labels(stage: &str) -> BTreeMap<String, String> {
    let text = fs::read_to_string(repo("deploy/Dockerfile")).unwrap();
    let mut in_stage = false;
    let mut joined = String::new();
    let mut continuing = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("FROM ") {
            in_stage = trimmed.ends_with(&format!(" AS {stage}"));
            continue;
        }
        if !in_stage {
            continue;
        }
        if trimmed.starts_with("LABEL ") || continuing {
            let body = trimmed.strip_prefix("LABEL ").unwrap_or(trimmed);
            continuing = body.ends_with('\\');
            joined.push(' ');
            joined.push_str(body.trim_end_matches('\\'));
        }
    }
    let mut labels = BTreeMap::new();
    let mut rest = joined.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"").expect("key=\"value\"");
        let (value, after) = after.split_once('"').expect("closing quote");
        labels.insert(key.trim().to_string(), value.to_string());
        rest = after.trim();
    }
    assert!(
        !labels.is_empty(),
        "no LABEL in stage {stage} of deploy/Dockerfile"
    );
    labels
}

fn assert_normalised_entry(e: &Value) {
    assert_eq!(e["mtime"], 0, "{e}");
    assert_eq!(e["uid"], 0, "{e}");
    assert_eq!(e["gid"], 0, "{e}");
    assert_eq!(e["uname"], "", "{e}");
    assert_eq!(e["gname"], "", "{e}");
}

/// (name, type, mode, sha256 of the content for files) of a layer's entries, in archive order.
fn layer_entries(layer: &Value) -> Vec<(String, String, u64, Option<String>)> {
    layer["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_normalised_entry(e);
            (
                e["name"].as_str().unwrap().to_string(),
                e["type"].as_str().unwrap().to_string(),
                e["mode"].as_u64().unwrap(),
                e["sha256"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn dir_entry(name: &str) -> (String, String, u64, Option<String>) {
    (name.to_string(), "dir".to_string(), 0o755, None)
}

fn file_entry(name: &str, mode: u64, content: &Path) -> (String, String, u64, Option<String>) {
    (
        name.to_string(),
        "file".to_string(),
        mode,
        Some(sha256_hex(content)),
    )
}

/// Checks what every archive must be: docker-archive layout, blobs named by their digest, fixed
/// metadata everywhere, diff_ids matching the layers and one history entry per layer.
fn assert_archive_invariants(image: &Value, tag: &str) {
    let outer = image["outer"].as_array().unwrap();
    let names: Vec<&str> = outer.iter().map(|e| e["name"].as_str().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "archive entries are sorted");
    for e in outer {
        assert_normalised_entry(e);
    }
    assert!(names.contains(&"manifest.json"), "{names:?}");
    assert!(
        !names.contains(&"oci-layout"),
        "an oci-layout file makes containerd 1.6 ignore manifest.json and skip normalising the name"
    );
    assert_eq!(image["blobs_named_by_digest"], true);
    let manifest = image["manifest"].as_array().unwrap();
    assert_eq!(manifest.len(), 1);
    assert_eq!(manifest[0]["RepoTags"], json!([tag]));
    let layers = image["layers"].as_array().unwrap();
    let diff_ids: Vec<&Value> = layers.iter().map(|l| &l["diff_id"]).collect();
    let config = &image["config"];
    assert_eq!(config["rootfs"]["type"], "layers");
    assert_eq!(
        config["rootfs"]["diff_ids"]
            .as_array()
            .unwrap()
            .iter()
            .collect::<Vec<_>>(),
        diff_ids
    );
    for layer in layers {
        assert_eq!(layer["gzip_mtime"], 0, "gzip header carries no time");
    }
    let history = config["history"].as_array().unwrap();
    let with_layer = history
        .iter()
        .filter(|h| h.get("empty_layer").is_none())
        .count();
    assert_eq!(
        with_layer,
        layers.len(),
        "one non-empty history entry per layer"
    );
    assert_eq!(config["created"], "1970-01-01T00:00:00Z");
    assert_eq!(config["os"], "linux");
    assert_eq!(config["architecture"], "amd64");
}

#[test]
fn deploy_dockerfile_packs_the_webhook_image() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = fake_product_context(dir.path());
    let archive = dir.path().join("webhook.tar");
    let tag = "hipaa-guard/hipaa-webhook:0.0.0-test";
    let out = build(
        &repo("deploy/Dockerfile"),
        &ctx,
        Some("webhook"),
        tag,
        &archive,
    );
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("compressed") && stdout.contains("uncompressed"),
        "{stdout}"
    );

    let image = read_archive(&archive);
    assert_archive_invariants(&image, tag);
    let config = &image["config"]["config"];
    assert_eq!(config["User"], "65532:65532");
    assert_eq!(
        config["Entrypoint"],
        json!(["/usr/local/bin/hipaa-webhook"])
    );
    assert!(config.get("Cmd").is_none(), "{config}");
    assert_eq!(
        config["Env"],
        json!([PATH_ENV, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"])
    );
    assert_eq!(
        config["ExposedPorts"],
        json!({"8443/tcp": {}, "8081/tcp": {}})
    );
    let labels: BTreeMap<String, String> =
        serde_json::from_value(config["Labels"].clone()).unwrap();
    assert_eq!(labels, dockerfile_labels("webhook"));
    assert_eq!(labels["org.opencontainers.image.title"], "hipaa-webhook");

    let layers = image["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2, "one layer per COPY");
    assert_eq!(
        layer_entries(&layers[0]),
        vec![
            dir_entry("etc"),
            dir_entry("etc/ssl"),
            dir_entry("etc/ssl/certs"),
            file_entry(
                "etc/ssl/certs/ca-certificates.crt",
                0o644,
                &ctx.join("ca-certificates.crt")
            ),
        ]
    );
    assert_eq!(
        layer_entries(&layers[1]),
        vec![
            dir_entry("usr"),
            dir_entry("usr/local"),
            dir_entry("usr/local/bin"),
            file_entry(
                "usr/local/bin/hipaa-webhook",
                0o755,
                &ctx.join("hipaa-webhook")
            ),
        ]
    );
}

#[test]
fn same_inputs_give_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = fake_product_context(dir.path());
    let tag = "hipaa-guard/hipaa-operator:0.0.0-test";
    let first = dir.path().join("first.tar");
    let second = dir.path().join("second.tar");
    let out = build(
        &repo("deploy/Dockerfile"),
        &ctx,
        Some("operator"),
        tag,
        &first,
    );
    assert!(out.status.success(), "{}", text(&out));
    // Times and the umask-dependent mode bits of the context must not reach the image.
    for name in ["hipaa-operator", "ca-certificates.crt"] {
        let f = fs::File::options()
            .write(true)
            .open(ctx.join(name))
            .unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(86_400 * 400))
            .unwrap();
    }
    fs::set_permissions(
        ctx.join("hipaa-operator"),
        fs::Permissions::from_mode(0o775),
    )
    .unwrap();
    fs::set_permissions(
        ctx.join("ca-certificates.crt"),
        fs::Permissions::from_mode(0o664),
    )
    .unwrap();
    let out = build(
        &repo("deploy/Dockerfile"),
        &ctx,
        Some("operator"),
        tag,
        &second,
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        fs::read(&first).unwrap() == fs::read(&second).unwrap(),
        "two builds of the same inputs differ"
    );

    // And the check is not vacuous: different content, different archive.
    write_file(
        &ctx.join("hipaa-operator"),
        b"another operator binary\n",
        0o755,
    );
    let third = dir.path().join("third.tar");
    let out = build(
        &repo("deploy/Dockerfile"),
        &ctx,
        Some("operator"),
        tag,
        &third,
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(fs::read(&first).unwrap() != fs::read(&third).unwrap());
}

const FIXTURE: &str = r#"# A fixture for every form the writer supports.
FROM scratch AS first
LABEL stage=first
COPY data.txt /first.txt

FROM scratch AS app
LABEL one="a b" \
      # a comment inside a continuation is dropped, as docker drops it
      two='single $quoted' three=plain\ escaped
LABEL one="overridden \"quote\""
env A=1 B="two words"
WORKDIR /srv/app
COPY bin/tool tool
COPY data.txt /etc/app/
USER 1000:1000
EXPOSE 9090/udp 9091 9091/tcp
CMD ["--flag"]
ENTRYPOINT ["/srv/app/tool", "$NOT_EXPANDED"]
"#;

#[test]
fn the_supported_subset_means_what_docker_means() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = dir.path().join("context");
    write_file(&ctx.join("bin/tool"), b"tool\n", 0o755);
    write_file(&ctx.join("data.txt"), b"data\n", 0o644);
    let dockerfile = dir.path().join("Dockerfile");
    fs::write(&dockerfile, FIXTURE).unwrap();
    let tag = "example/app:1";
    // No --target: the last stage, as with docker.
    let archive = dir.path().join("app.tar");
    let out = build(&dockerfile, &ctx, None, tag, &archive);
    assert!(out.status.success(), "{}", text(&out));

    let image = read_archive(&archive);
    assert_archive_invariants(&image, tag);
    let config = &image["config"]["config"];
    assert_eq!(
        config["Labels"],
        json!({"one": "overridden \"quote\"", "two": "single $quoted", "three": "plain escaped"})
    );
    assert_eq!(config["Env"], json!([PATH_ENV, "A=1", "B=two words"]));
    assert_eq!(config["WorkingDir"], "/srv/app");
    assert_eq!(config["User"], "1000:1000");
    assert_eq!(
        config["ExposedPorts"],
        json!({"9090/udp": {}, "9091/tcp": {}})
    );
    // A CMD set in the stage survives a later ENTRYPOINT; exec form is never expanded.
    assert_eq!(config["Cmd"], json!(["--flag"]));
    assert_eq!(
        config["Entrypoint"],
        json!(["/srv/app/tool", "$NOT_EXPANDED"])
    );

    let layers = image["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 3, "WORKDIR and each COPY make a layer");
    assert_eq!(
        layer_entries(&layers[0]),
        vec![dir_entry("srv"), dir_entry("srv/app")]
    );
    assert_eq!(
        layer_entries(&layers[1]),
        vec![
            dir_entry("srv"),
            dir_entry("srv/app"),
            file_entry("srv/app/tool", 0o755, &ctx.join("bin/tool"))
        ]
    );
    assert_eq!(
        layer_entries(&layers[2]),
        vec![
            dir_entry("etc"),
            dir_entry("etc/app"),
            file_entry("etc/app/data.txt", 0o644, &ctx.join("data.txt"))
        ]
    );

    // --target selects an earlier stage.
    let first = dir.path().join("first.tar");
    let out = build(&dockerfile, &ctx, Some("first"), "example/first:1", &first);
    assert!(out.status.success(), "{}", text(&out));
    let image = read_archive(&first);
    assert_eq!(
        image["config"]["config"]["Labels"],
        json!({"stage": "first"})
    );
    assert!(image["config"]["config"].get("User").is_none());
}

#[test]
fn anything_outside_the_subset_fails_with_the_line_and_the_reason() {
    let cases: &[(&str, &str)] = &[
        (
            "FROM scratch AS x\nRUN echo hi\n",
            "Dockerfile:2: RUN is not supported",
        ),
        (
            "FROM scratch AS x\nADD a.txt /a\n",
            "Dockerfile:2: ADD is not supported",
        ),
        (
            "ARG V=1\nFROM scratch AS x\n",
            "Dockerfile:1: ARG is not supported",
        ),
        (
            "FROM debian:12 AS x\n",
            "Dockerfile:1: only FROM scratch is supported",
        ),
        (
            "FROM scratch AS x\nENTRYPOINT /bin/tool\n",
            "ENTRYPOINT must use the exec form",
        ),
        (
            "FROM scratch AS x\nCMD tool --flag\n",
            "CMD must use the exec form",
        ),
        (
            "FROM scratch AS x\nUSER nobody\n",
            "USER needs a numeric uid[:gid]",
        ),
        (
            "FROM scratch AS x\nCOPY --from=build a /a\n",
            "COPY --from=build: flags are not supported",
        ),
        (
            "FROM scratch AS x\nCOPY a.txt b.txt /dir/\n",
            "COPY takes exactly one source file",
        ),
        (
            "FROM scratch AS x\nCOPY *.txt /dir/\n",
            "wildcards are not supported",
        ),
        (
            "FROM scratch AS x\nCOPY ../a.txt /a\n",
            "must be a file inside the build context",
        ),
        (
            "FROM scratch AS x\nCOPY missing /a\n",
            "Dockerfile:2: COPY 'missing': not found",
        ),
        (
            "FROM scratch AS x\nCOPY sub /a\n",
            "is a directory: only files are supported",
        ),
        (
            "FROM scratch AS x\nENV A=$HOME\n",
            "variable substitution ($) is not supported",
        ),
        (
            "FROM scratch AS x\nLABEL a b\n",
            "legacy `LABEL key value` form is not supported",
        ),
        (
            "FROM scratch AS x\nEXPOSE http\n",
            "EXPOSE 'http': expected port",
        ),
        (
            "FROM scratch AS x\nFROM scratch AS x\n",
            "duplicate stage name 'x'",
        ),
        ("LABEL a=b\n", "Dockerfile:1: LABEL before the first FROM"),
        (
            "FROM scratch AS x\nLABEL a=b \\\n",
            "ends with a line continuation",
        ),
        (
            "# escape=`\nFROM scratch AS x\n",
            "escape directive '`' is not supported",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let ctx = dir.path().join("context");
    write_file(&ctx.join("a.txt"), b"a\n", 0o644);
    fs::create_dir_all(ctx.join("sub")).unwrap();
    let dockerfile = dir.path().join("Dockerfile");
    let archive = dir.path().join("out.tar");
    for (content, expected) in cases {
        fs::write(&dockerfile, content).unwrap();
        let out = build(&dockerfile, &ctx, None, "example/x:1", &archive);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{content:?}\n{}", text(&out));
        assert!(
            stderr.starts_with("oci_image.py: error: ") && stderr.contains(expected),
            "{content:?}: expected {expected:?} in\n{stderr}"
        );
        assert!(!stderr.contains("Traceback"), "{stderr}");
        assert!(!archive.exists(), "{content:?}: an archive was written");
    }
}

#[test]
fn a_dynamically_linked_binary_is_refused() {
    // This test binary is dynamically linked (the default gnu target): on an empty base it would
    // have no loader and no libc, so the writer must refuse it rather than ship an image that
    // cannot start.
    let exe = std::env::current_exe().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ctx = fake_product_context(dir.path());
    fs::copy(&exe, ctx.join("hipaa-webhook")).unwrap();
    let archive = dir.path().join("webhook.tar");
    let out = build(
        &repo("deploy/Dockerfile"),
        &ctx,
        Some("webhook"),
        "hipaa-guard/hipaa-webhook:0.0.0-test",
        &archive,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("dynamically linked"),
        "{}",
        text(&out)
    );
    assert!(!archive.exists());

    let out = writer(&["check-static", exe.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("dynamically linked"));
}

fn check(dockerfile: &str) -> Value {
    let out = writer(&["check", "--dockerfile", repo(dockerfile).to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{dockerfile} has drifted out of what scripts/oci_image.py implements: {}",
        text(&out)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn deploy_dockerfile_stays_inside_the_writers_subset() {
    let parsed = check("deploy/Dockerfile");
    let stages = parsed["stages"].as_array().unwrap();
    let names: Vec<&str> = stages.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["webhook", "operator"],
        "the stages scripts/build-images.sh builds"
    );
    for stage in stages {
        let name = stage["name"].as_str().unwrap();
        let binary = format!("/usr/local/bin/hipaa-{name}");
        assert_eq!(stage["user"], "65532:65532", "{stage}");
        assert_eq!(stage["entrypoint"], json!([binary]), "{stage}");
        let copies: BTreeSet<(String, String)> = stage["copies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["src"].as_str().unwrap().to_string(),
                    c["dst"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        // Exactly the files scripts/build-images.sh stages in target/image-context/.
        let expected: BTreeSet<(String, String)> = [
            (
                "ca-certificates.crt".to_string(),
                "/etc/ssl/certs/ca-certificates.crt".to_string(),
            ),
            (format!("hipaa-{name}"), binary.clone()),
        ]
        .into();
        assert_eq!(copies, expected, "{stage}");
        assert_eq!(
            stage["env"]["SSL_CERT_FILE"],
            "/etc/ssl/certs/ca-certificates.crt"
        );
    }

    let pause = check("deploy/pause/Dockerfile");
    assert_eq!(pause["stages"][0]["name"], "pause");
    assert_eq!(pause["stages"][0]["user"], "65532:65532");
    assert_eq!(pause["stages"][0]["entrypoint"], json!(["/pause"]));
}
