//! The text edits of `kubectl hipaa fix` (edit.rs, flow.rs): YAML in, YAML out, comments kept.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod block {
    use super::super::edit::*;
    use hipaa_controls::fix::PatchOp;
    use serde_json::Value;
    use serde_json::json;

    fn edit(text: &str, ops: &[PatchOp]) -> String {
        let mut value: Value = yaml_serde::from_str(text).unwrap();
        let mut text = text.to_string();
        for op in ops {
            text = apply(&text, 0, &[], op, &mut value).unwrap();
        }
        let back: Value = yaml_serde::from_str(&text).unwrap();
        assert_eq!(back, value, "{text}");
        text
    }

    fn add(path: &str, value: Value) -> PatchOp {
        PatchOp::Add {
            path: path.into(),
            value,
        }
    }

    const POD: &str = "\
apiVersion: v1
kind: Pod   # the kind
metadata:
  name: web
spec:
  hostNetwork: true # why not
  containers:
  - name: app
    image: app:1
    env:
    - name: DB_PASSWORD
      value: hunter2
    - {name: LEVEL, value: debug}
  # the sidecar
  - name: side
    securityContext:
      privileged: true
";

    #[test]
    fn scalars_are_replaced_in_place_and_comments_stay() {
        let out = edit(
            POD,
            &[PatchOp::Replace {
                path: "/spec/hostNetwork".into(),
                value: json!(false),
            }],
        );
        assert!(out.contains("  hostNetwork: false # why not\n"), "{out}");
        assert_eq!(out.lines().count(), POD.lines().count());
    }

    #[test]
    fn keys_go_after_the_last_entry_at_the_mapping_indentation() {
        let out = edit(
            POD,
            &[
                add(
                    "/spec/containers/0/securityContext",
                    json!({"allowPrivilegeEscalation": false, "runAsNonRoot": true}),
                ),
                add(
                    "/spec/containers/1/securityContext/allowPrivilegeEscalation",
                    json!(false),
                ),
                add(
                    "/metadata/labels",
                    json!({"sidecar.istio.io/inject": "true"}),
                ),
            ],
        );
        let expected = "\
apiVersion: v1
kind: Pod   # the kind
metadata:
  name: web
  labels:
    sidecar.istio.io/inject: \"true\"
spec:
  hostNetwork: true # why not
  containers:
  - name: app
    image: app:1
    env:
    - name: DB_PASSWORD
      value: hunter2
    - {name: LEVEL, value: debug}
    securityContext:
      allowPrivilegeEscalation: false
      runAsNonRoot: true
  # the sidecar
  - name: side
    securityContext:
      privileged: true
      allowPrivilegeEscalation: false
";
        assert_eq!(out, expected);
    }

    #[test]
    fn a_literal_moves_to_a_secret_key_ref_and_flow_mappings_are_rewritten() {
        let reference = json!({"secretKeyRef": {"name": "web-credentials", "key": "DB_PASSWORD"}});
        let out = edit(
            POD,
            &[
                add("/spec/containers/0/env/0/valueFrom", reference.clone()),
                PatchOp::Remove {
                    path: "/spec/containers/0/env/0/value".into(),
                },
                add("/spec/containers/0/env/1/valueFrom", reference),
                PatchOp::Remove {
                    path: "/spec/containers/0/env/1/value".into(),
                },
            ],
        );
        assert!(!out.contains("hunter2") && !out.contains("debug"), "{out}");
        assert!(out.contains("    - name: DB_PASSWORD\n      valueFrom:\n        secretKeyRef:\n          key: DB_PASSWORD\n          name: web-credentials\n"), "{out}");
        assert!(out.contains("    - {name: LEVEL, valueFrom: {secretKeyRef: {key: DB_PASSWORD, name: web-credentials}}}\n"), "{out}");
        // A scalar inside a flow mapping is replaced in place.
        let flow = edit(
            "a: {b: true, c: [1, 2]} # keep\n",
            &[PatchOp::Replace {
                path: "/a/b".into(),
                value: json!(false),
            }],
        );
        assert_eq!(flow, "a: {b: false, c: [1, 2]} # keep\n");
        let flow = edit(
            "a: {z: 1, b: {}, c: [1, 2]} # keep\n",
            &[
                add("/a/c/-", json!(3)),
                add("/a/b/d", json!({"w": "x y", "e": []})),
                add("/a/m", json!(true)),
                PatchOp::Remove {
                    path: "/a/z".into(),
                },
            ],
        );
        assert_eq!(
            flow,
            "a: {b: {d: {e: [], w: \"x y\"}}, c: [1, 2, 3], m: true} # keep\n"
        );
        assert!(out.contains("  # the sidecar\n"));
    }

    #[test]
    fn items_are_appended_and_empty_values_filled() {
        let text = "spec:\n  tls:\n  - hosts:\n    - a.example.com\n    secretName: x\n  rules: # r\nmetadata:\n";
        let out = edit(
            text,
            &[
                add(
                    "/spec/tls/-",
                    json!({"hosts": ["b.example.com"], "secretName": "web-tls"}),
                ),
                add("/spec/tls/0/hosts/-", json!("c.example.com")),
                add("/metadata", json!({"annotations": {"a/b": "true"}})),
            ],
        );
        assert_eq!(
            out,
            "spec:\n  tls:\n  - hosts:\n    - a.example.com\n    - c.example.com\n    secretName: x\n  - hosts:\n      - b.example.com\n    secretName: web-tls\n  rules: # r\nmetadata:\n  annotations:\n    a/b: \"true\"\n"
        );
    }

    #[test]
    fn block_scalars_before_an_insertion_keep_their_lines() {
        // A literal with an empty line inside and a folded scalar at the end of the mapping:
        // the new key goes after all their lines, at the mapping's indentation.
        let text = "\
spec:
  containers:
  - name: app
    args:
    - |
      echo start

      exec app
    command: >-
      sh
      -c
  - name: next
";
        let out = edit(
            text,
            &[add(
                "/spec/containers/0/securityContext",
                json!({"runAsNonRoot": true}),
            )],
        );
        assert_eq!(
            out,
            "spec:\n  containers:\n  - name: app\n    args:\n    - |\n      echo start\n\n      exec app\n    command: >-\n      sh\n      -c\n    securityContext:\n      runAsNonRoot: true\n  - name: next\n"
        );
    }

    #[test]
    fn an_alias_on_the_path_is_an_error_not_an_edit_of_the_anchor() {
        // Editing through an alias would change every object that shares the anchor.
        let text = "\
base: &base
  hostNetwork: true
spec: *base
";
        let mut value: Value = yaml_serde::from_str(text).unwrap();
        let result = apply(
            text,
            0,
            &[],
            &PatchOp::Replace {
                path: "/spec/hostNetwork".into(),
                value: json!(false),
            },
            &mut value,
        );
        assert!(result.is_err(), "{result:?}");
    }

    #[test]
    fn a_missing_parent_is_an_error_not_a_guess() {
        let mut value: Value = yaml_serde::from_str(POD).unwrap();
        let err = apply(
            POD,
            0,
            &[],
            &add("/spec/nothing/here", json!(1)),
            &mut value,
        )
        .unwrap_err();
        assert!(err.to_string().contains("/spec/nothing/here"), "{err}");
    }
}

mod json {
    use super::super::edit::*;
    use hipaa_controls::fix::PatchOp;
    use serde_json::Value;
    use serde_json::json;

    #[test]
    fn a_json_document_stays_json() {
        let text = "{\n  \"kind\": \"Pod\",\n  \"spec\": {\n    \"hostPID\": true,\n    \"containers\": [{\"name\": \"c\"}]\n  }\n}\n";
        let mut value: Value = serde_json::from_str(text).unwrap();
        let mut out = apply(
            text,
            0,
            &[],
            &PatchOp::Replace {
                path: "/spec/hostPID".into(),
                value: json!(false),
            },
            &mut value,
        )
        .unwrap();
        out = apply(
            &out,
            0,
            &[],
            &PatchOp::Add {
                path: "/spec/containers/0/securityContext".into(),
                value: json!({"runAsNonRoot": true}),
            },
            &mut value,
        )
        .unwrap();
        let back: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back, value);
        assert!(out.contains("\"hostPID\": false,\n"), "{out}");
        assert!(
            out.contains("[{\"name\": \"c\", \"securityContext\": {\"runAsNonRoot\":true}}]"),
            "{out}"
        );
    }
}
