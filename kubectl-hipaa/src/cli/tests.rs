//! The command line's parsing: flags, defaults, conflicts and completions.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
use super::*;

#[test]
fn the_command_line_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn scan_takes_repeated_files_policies_and_a_severity() {
    let cli = Cli::try_parse_from([
        "kubectl-hipaa",
        "scan",
        "-f",
        "a.yaml",
        "-f",
        "-",
        "--policy",
        "p.yaml",
        "--fail-on",
        "high",
        "-o",
        "sarif",
        "-n",
        "apps",
    ])
    .unwrap();
    let Command::Scan(scan) = cli.command else {
        panic!("not scan")
    };
    assert_eq!(scan.files, ["a.yaml", "-"]);
    assert_eq!(scan.policy, [PathBuf::from("p.yaml")]);
    assert_eq!(scan.fail_on, Severity::High);
    assert_eq!(scan.output, ScanFormat::Sarif);
    assert_eq!(cli.global.namespace.as_deref(), Some("apps"));
    assert_eq!(scan.max_input_size, 32 * 1024 * 1024);
    assert!(!scan.allow_empty);
    assert!(!scan.strict && !scan.verbose);
    let cli = Cli::try_parse_from([
        "kubectl-hipaa",
        "scan",
        "-f",
        "-",
        "--max-input-size",
        "1MiB",
        "--allow-empty",
        "--strict",
        "--verbose",
    ])
    .unwrap();
    let Command::Scan(scan) = cli.command else {
        panic!("not scan")
    };
    assert_eq!((scan.max_input_size, scan.allow_empty), (1 << 20, true));
    assert!(scan.strict && scan.verbose);
    assert!(
        Cli::try_parse_from([
            "kubectl-hipaa",
            "scan",
            "-f",
            "-",
            "--max-input-size",
            "lots"
        ])
        .is_err()
    );
}

#[test]
fn scan_prints_text_by_default_and_takes_the_namespace_assumption() {
    let parse = |extra: &[&str]| {
        let mut argv = vec!["kubectl-hipaa", "scan", "-f", "-"];
        argv.extend_from_slice(extra);
        Cli::try_parse_from(argv).map(|cli| match cli.command {
            Command::Scan(scan) => scan,
            _ => panic!("not scan"),
        })
    };
    let scan = parse(&[]).unwrap();
    assert_eq!(scan.output, ScanFormat::Text);
    assert_eq!(scan.assumption.assume_namespace_labels, None);
    assert!(!scan.assumption.no_assume_namespace);
    assert_eq!(scan.width, None);
    assert_eq!(parse(&["-o", "table"]).unwrap().output, ScanFormat::Table);
    let scan = parse(&[
        "--assume-namespace-labels",
        "hipaaguard.io/environment=development, team=billing",
        "--width",
        "72",
    ])
    .unwrap();
    let labels = scan.assumption.assume_namespace_labels.unwrap().0;
    assert_eq!(labels["hipaaguard.io/environment"], "development");
    assert_eq!(labels["team"], "billing");
    assert_eq!(scan.width, Some(72));
    // An explicit empty value assumes no labels; an empty label value is a label.
    let none = parse(&["--assume-namespace-labels", ""]).unwrap();
    assert_eq!(
        none.assumption.assume_namespace_labels,
        Some(NamespaceLabels::default())
    );
    let empty_value = parse(&["--assume-namespace-labels", "tier="]).unwrap();
    assert_eq!(
        empty_value.assumption.assume_namespace_labels.unwrap().0["tier"],
        ""
    );
    for bad in [
        "team",
        "=x",
        "a=b,a=c",
        "bad key=x",
        "k=not ok",
        "-x/k=v",
        "k=-v",
    ] {
        assert!(parse(&["--assume-namespace-labels", bad]).is_err(), "{bad}");
    }
    assert!(parse(&["--assume-namespace-labels", "a=b", "--no-assume-namespace"]).is_err());
    assert!(
        parse(&["--no-assume-namespace"])
            .unwrap()
            .assumption
            .no_assume_namespace
    );
}

#[test]
fn fix_takes_files_a_format_or_write_and_a_mesh() {
    let cli = Cli::try_parse_from([
        "kubectl-hipaa",
        "fix",
        "-f",
        "k8s/",
        "--write",
        "--mesh",
        "linkerd",
        "--policy",
        "p.yaml",
    ])
    .unwrap();
    let Command::Fix(fix) = cli.command else {
        panic!("not fix")
    };
    assert_eq!(fix.files, ["k8s/"]);
    assert!(fix.write);
    assert_eq!(
        (fix.output, fix.mesh),
        (FixFormat::Diff, MeshChoice::Linkerd)
    );
    let cli = Cli::try_parse_from(["kubectl-hipaa", "fix", "-f", "-", "-o", "patch"]).unwrap();
    let Command::Fix(fix) = cli.command else {
        panic!("not fix")
    };
    assert_eq!((fix.output, fix.write), (FixFormat::Patch, false));
    assert!(Cli::try_parse_from(["kubectl-hipaa", "fix"]).is_err());
    assert!(
        Cli::try_parse_from(["kubectl-hipaa", "fix", "-f", "x", "-o", "patch", "--write"]).is_err()
    );
}

#[test]
fn report_takes_the_format_as_output_and_the_file_apart() {
    let cli = Cli::try_parse_from([
        "kubectl-hipaa",
        "report",
        "--output",
        "html",
        "--output-file",
        "evidence.html",
    ])
    .unwrap();
    let Command::Report(report) = cli.command else {
        panic!("not report")
    };
    assert_eq!(report.format, ReportFormat::Html);
    assert_eq!(report.output_file, Some(PathBuf::from("evidence.html")));
    let cli = Cli::try_parse_from(["kubectl-hipaa", "report", "-o", "json"]).unwrap();
    let Command::Report(report) = cli.command else {
        panic!("not report")
    };
    assert_eq!(
        (report.format, report.output_file),
        (ReportFormat::Json, None)
    );
    // A file name where the format goes is refused, not taken for a file.
    assert!(Cli::try_parse_from(["kubectl-hipaa", "report", "--output", "evidence.html"]).is_err());
}

#[test]
fn bad_usage_is_refused() {
    assert!(Cli::try_parse_from(["kubectl-hipaa", "scan"]).is_err());
    assert!(
        Cli::try_parse_from(["kubectl-hipaa", "scan", "-f", "x", "--fail-on", "urgent"]).is_err()
    );
    assert!(Cli::try_parse_from(["kubectl-hipaa", "scan", "-f", "x", "-o", "xml"]).is_err());
}

#[test]
fn completions_name_the_subcommands() {
    let mut out = Vec::new();
    write_completion(Shell::Bash, &mut out);
    let script = String::from_utf8(out).unwrap();
    assert!(script.contains("kubectl-hipaa"));
    assert!(script.contains("scan") && script.contains("report") && script.contains("controls"));
}
