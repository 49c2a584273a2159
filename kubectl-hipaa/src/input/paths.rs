//! Turns the `-f` arguments into the list of inputs to read: files as given, directories walked
//! recursively for `*.yaml`, `*.yml` and `*.json`, and `-` for standard input. A file found in a
//! walk is marked as found ([`InputPath::Found`]): YAML in it that is not a Kubernetes object is
//! skipped, where a file named on the command line must hold objects. A Helm chart's templates
//! (below `templates/` beside a `Chart.yaml`) are YAML only once rendered: marked
//! [`InputPath::HelmTemplate`], listed as skipped and never read.
//!
//! Symbolic links: a link to a file is read (named or found in a directory); a link to a
//! directory found while walking is not followed (links can form loops; name the directory with
//! another `-f` to scan it); a broken link or a link loop, named or found, is an error naming
//! it: a manifest that cannot be read must not be skipped silently.

use std::path::{Path, PathBuf};

use super::InputError;

/// The name findings and errors give to standard input.
pub const STDIN_NAME: &str = "<stdin>";

/// One input to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputPath {
    Stdin,
    /// A file named on the command line: everything in it must be a Kubernetes object.
    File(PathBuf),
    /// A file found in a directory walk: what in it is not a Kubernetes object is skipped.
    Found(PathBuf),
    /// A Helm chart's template found in a directory walk: skipped unread.
    HelmTemplate(PathBuf),
}

impl InputPath {
    /// How findings and error messages name the input: the path as the user gave it (joined
    /// with the directory's files), with `/` separators, or `<stdin>`.
    pub fn display_name(&self) -> String {
        match self {
            InputPath::Stdin => STDIN_NAME.to_string(),
            InputPath::File(path) | InputPath::Found(path) | InputPath::HelmTemplate(path) => {
                path_to_slash(path)
            }
        }
    }

    /// Whether the file was found in a directory walk (rather than named).
    pub fn is_found(&self) -> bool {
        matches!(self, InputPath::Found(_) | InputPath::HelmTemplate(_))
    }

    /// The file's path; None for standard input.
    pub fn path(&self) -> Option<&Path> {
        match self {
            InputPath::Stdin => None,
            InputPath::File(path) | InputPath::Found(path) | InputPath::HelmTemplate(path) => {
                Some(path)
            }
        }
    }
}

/// The manifest file extensions a directory walk picks up.
const MANIFEST_EXTENSIONS: [&str; 3] = ["yaml", "yml", "json"];

/// Expands the `-f` arguments, in order. Files inside a directory are sorted by path so that
/// output is the same on every machine. A file named explicitly is read whatever its extension.
pub fn expand(arguments: &[String]) -> Result<Vec<InputPath>, InputError> {
    let mut inputs = Vec::new();
    let mut stdin_seen = false;
    for argument in arguments {
        if argument == "-" {
            if stdin_seen {
                return Err(InputError::usage(
                    "`-f -` (standard input) may be given only once",
                ));
            }
            stdin_seen = true;
            inputs.push(InputPath::Stdin);
            continue;
        }
        let path = PathBuf::from(argument);
        let metadata =
            std::fs::metadata(&path).map_err(|err| unresolvable(&path, argument, &err))?;
        if metadata.is_dir() {
            let mut found = Vec::new();
            walk(&path, Walked::Found, &mut found)?;
            // Byte order of the whole path: deterministic, and cheaper than component order.
            found.sort_unstable_by(|a, b| a.0.as_os_str().cmp(b.0.as_os_str()));
            inputs.extend(found.into_iter().map(|(path, walked)| match walked {
                Walked::Found => InputPath::Found(path),
                Walked::HelmTemplate => InputPath::HelmTemplate(path),
            }));
        } else {
            inputs.push(InputPath::File(path));
        }
    }
    Ok(inputs)
}

/// Why `path` cannot be read, saying so when it is a broken link or a link loop.
fn unresolvable(path: &Path, name: &str, err: &std::io::Error) -> InputError {
    let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if !is_link {
        return InputError::unreadable(name, &err.to_string());
    }
    let target = std::fs::read_link(path)
        .map(|t| path_to_slash(&t))
        .unwrap_or_else(|_| "?".to_string());
    let what = if err.kind() == std::io::ErrorKind::NotFound {
        "broken symbolic link"
    } else {
        "symbolic link that cannot be followed (a loop?)"
    };
    InputError::unreadable(name, &format!("{what} to {target}: {err}"))
}

/// What a file found in a walk is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Walked {
    Found,
    HelmTemplate,
}

/// The file that makes a directory a Helm chart, and the chart's directory of templates.
const HELM_CHART_FILE: &str = "Chart.yaml";
const HELM_TEMPLATES_DIR: &str = "templates";

/// Collects manifest files below `dir`, each marked with what it is (`walked`: what the files of
/// `dir` are unless `dir` is a chart). Symbolic links to directories are not followed (they could
/// form loops); symbolic links to files are read; broken or looping links are errors.
fn walk(dir: &Path, walked: Walked, found: &mut Vec<(PathBuf, Walked)>) -> Result<(), InputError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|err| InputError::unreadable(&path_to_slash(dir), &err.to_string()))?;
    // Whether `templates/` holds templates depends on a sibling file: one stat per directory.
    let is_chart = dir.join(HELM_CHART_FILE).is_file();
    // A chart's own files (Chart.yaml, values.yaml) are plain YAML, wherever the chart is.
    let here = if is_chart { Walked::Found } else { walked };
    for entry in entries {
        let entry =
            entry.map_err(|err| InputError::unreadable(&path_to_slash(dir), &err.to_string()))?;
        let path = entry.path();
        let file_type = entry
            .file_type()
            .map_err(|err| InputError::unreadable(&path_to_slash(&path), &err.to_string()))?;
        if file_type.is_dir() {
            let below = if is_chart && entry.file_name() == HELM_TEMPLATES_DIR {
                Walked::HelmTemplate
            } else {
                // A chart's other directories (crds/, subcharts in charts/) hold plain YAML.
                here
            };
            walk(&path, below, found)?;
        } else if file_type.is_symlink() {
            let target = std::fs::metadata(&path)
                .map_err(|err| unresolvable(&path, &path_to_slash(&path), &err))?;
            if target.is_file() && has_manifest_extension(&path) {
                found.push((path, here));
            }
        } else if has_manifest_extension(&path) && file_type.is_file() {
            found.push((path, here));
        }
    }
    Ok(())
}

fn has_manifest_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|ext| ext.to_str())
        .is_some_and(|ext| {
            MANIFEST_EXTENSIONS
                .iter()
                .any(|m| ext.eq_ignore_ascii_case(m))
        })
}

/// A path with `/` separators, without a leading `./`.
fn path_to_slash(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    match text.strip_prefix("./") {
        Some(rest) if !rest.is_empty() => rest.to_string(),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn walks_directories_recursively_sorted_and_filters_extensions() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("b/nested")).unwrap();
        for name in [
            "z.yaml",
            "a.yml",
            "b/nested/c.JSON",
            "b/readme.md",
            "b/x.txt",
        ] {
            std::fs::write(root.join(name), "{}").unwrap();
        }
        let inputs = expand(&[root.to_string_lossy().into_owned()]).unwrap();
        let names: Vec<String> = inputs
            .iter()
            .map(|i| {
                assert!(i.is_found(), "{i:?}");
                let path = i.path().unwrap();
                path.strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(names, ["a.yml", "b/nested/c.JSON", "z.yaml"]);
    }

    #[test]
    fn explicit_files_are_read_whatever_their_extension_and_stdin_once() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("manifest.txt");
        std::fs::write(&file, "{}").unwrap();
        let file_arg = file.to_string_lossy().into_owned();
        let inputs = expand(&["-".into(), file_arg.clone()]).unwrap();
        assert_eq!(inputs, vec![InputPath::Stdin, InputPath::File(file)]);
        let twice = expand(&["-".into(), "-".into()]).unwrap_err();
        assert!(twice.to_string().contains("only once"), "{twice}");
    }

    #[test]
    fn a_missing_path_is_an_error_naming_it() {
        let err = expand(&["does/not/exist.yaml".into()]).unwrap_err();
        assert!(
            err.to_string().starts_with("does/not/exist.yaml: "),
            "{err}"
        );
    }

    #[test]
    fn broken_and_looping_links_are_errors_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("real.yaml"), "{}").unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::os::unix::fs::symlink(root.join("real.yaml"), root.join("link.yaml")).unwrap();
        std::os::unix::fs::symlink(root, root.join("sub/up")).unwrap();
        let names = |inputs: Vec<InputPath>| -> Vec<String> {
            inputs
                .iter()
                .map(|i| {
                    let path = i.path().unwrap();
                    path.strip_prefix(root).unwrap().display().to_string()
                })
                .collect()
        };
        // A link to a file is read; a link to a directory is not followed.
        let arg = root.to_string_lossy().into_owned();
        assert_eq!(
            names(expand(std::slice::from_ref(&arg)).unwrap()),
            ["link.yaml", "real.yaml"]
        );

        std::os::unix::fs::symlink(root.join("gone.yaml"), root.join("sub/broken.yaml")).unwrap();
        let err = expand(std::slice::from_ref(&arg)).unwrap_err().to_string();
        assert!(
            err.contains("sub/broken.yaml: broken symbolic link to "),
            "{err}"
        );
        std::fs::remove_file(root.join("sub/broken.yaml")).unwrap();

        std::os::unix::fs::symlink(root.join("sub/b"), root.join("sub/a")).unwrap();
        std::os::unix::fs::symlink(root.join("sub/a"), root.join("sub/b")).unwrap();
        let err = expand(std::slice::from_ref(&arg)).unwrap_err().to_string();
        let in_sub = err.contains("/sub/a: ") || err.contains("/sub/b: ");
        assert!(
            in_sub && err.contains(": symbolic link that cannot be followed"),
            "{err}"
        );
        let named = root.join("sub/b").to_string_lossy().into_owned();
        let err = expand(std::slice::from_ref(&named))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!("{named}: symbolic link that cannot be followed")),
            "{err}"
        );
    }

    #[test]
    fn a_charts_templates_are_marked_and_its_other_files_found() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for name in [
            "app/chart/Chart.yaml",
            "app/chart/values.yaml",
            "app/chart/templates/deployment.yaml",
            "app/chart/templates/tests/test-connection.yaml",
            "app/chart/templates/NOTES.txt",
            "app/chart/crds/crd.yaml",
            "app/chart/charts/sub/Chart.yaml",
            "app/chart/charts/sub/templates/svc.yaml",
            "app/k8s/templates/not-a-chart.yaml",
        ] {
            let path = root.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "{}").unwrap();
        }
        let inputs = expand(&[root.to_string_lossy().into_owned()]).unwrap();
        let marked: Vec<(String, bool)> = inputs
            .iter()
            .map(|i| {
                let name = i.path().unwrap().strip_prefix(root).unwrap();
                let template = matches!(i, InputPath::HelmTemplate(_));
                (name.to_string_lossy().into_owned(), template)
            })
            .collect();
        let expected = [
            ("app/chart/Chart.yaml", false),
            ("app/chart/charts/sub/Chart.yaml", false),
            ("app/chart/charts/sub/templates/svc.yaml", true),
            ("app/chart/crds/crd.yaml", false),
            ("app/chart/templates/deployment.yaml", true),
            ("app/chart/templates/tests/test-connection.yaml", true),
            ("app/chart/values.yaml", false),
            ("app/k8s/templates/not-a-chart.yaml", false),
        ];
        let expected: Vec<(String, bool)> =
            expected.iter().map(|(n, t)| (n.to_string(), *t)).collect();
        assert_eq!(marked, expected);
        // Named, a template is a file like any other: it must hold objects.
        let named = root.join("app/chart/templates/deployment.yaml");
        let inputs = expand(&[named.to_string_lossy().into_owned()]).unwrap();
        assert_eq!(inputs, [InputPath::File(named)]);
    }

    #[test]
    fn display_names_use_slashes_without_leading_dot() {
        assert_eq!(
            InputPath::File("./k8s/app.yaml".into()).display_name(),
            "k8s/app.yaml"
        );
        assert_eq!(InputPath::Stdin.display_name(), "<stdin>");
    }
}
