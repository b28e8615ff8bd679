//! Wrapper Go modules that build the upstream commands from the Go module proxy.
//!
//! `k8s.io/kubernetes` and `go.etcd.io/etcd/server/v3` cannot be `go install`ed: their go.mod
//! files replace sibling modules with local directories (`./staging/src/k8s.io/api`,
//! `../api`), and Go ignores replace directives outside the main module. A small main module
//! that requires the command's module and replaces each sibling with its released version
//! builds the same code.

use std::fmt::Write as _;

use super::build::Component;
use super::versions::Version;

/// Module path of the generated wrapper modules.
const WRAPPER_MODULE: &str = "kspec.dev/upstream-build";

/// The `go` directive of the wrapper modules. Kubernetes 1.37 requires Go 1.26; Go raises it
/// when a dependency needs more.
const GO_DIRECTIVE: &str = "1.26.0";

/// Kubernetes staging modules that the proxy does not serve at release versions and that
/// none of the built commands import.
const UNSERVED_STAGING_PREFIX: &str = "k8s.io/sample-";

/// etcd modules that `go.etcd.io/etcd/server/v3` replaces with sibling directories.
const ETCD_SIBLINGS: [&str; 4] = [
    "go.etcd.io/etcd/api/v3",
    "go.etcd.io/etcd/client/pkg/v3",
    "go.etcd.io/etcd/client/v3",
    "go.etcd.io/etcd/pkg/v3",
];

/// The module whose go.mod lists the Kubernetes staging modules.
pub(crate) const KUBERNETES_MODULE: &str = "k8s.io/kubernetes";

/// The `require` line of a component's wrapper: the module and its version.
pub(crate) fn required_module(component: Component, version: Version) -> String {
    match component {
        Component::Kubernetes => format!("{KUBERNETES_MODULE} {version}"),
        Component::Etcd => format!("go.etcd.io/etcd/server/v3 {version}"),
        Component::Kwok => format!("sigs.k8s.io/kwok {version}"),
    }
}

/// Go packages to build. Each binary is named after its package's last path element, except
/// etcd's `server/v3`, which is built alone into a file named `etcd`.
pub(crate) fn packages(component: Component) -> &'static [&'static str] {
    match component {
        Component::Kubernetes => &[
            "k8s.io/kubernetes/cmd/kube-apiserver",
            "k8s.io/kubernetes/cmd/kube-controller-manager",
            "k8s.io/kubernetes/cmd/kube-scheduler",
        ],
        Component::Etcd => &["go.etcd.io/etcd/server/v3"],
        Component::Kwok => &["sigs.k8s.io/kwok/cmd/kwok", "sigs.k8s.io/kwok/cmd/kwokctl"],
    }
}

/// Returns the wrapper go.mod. `staging` lists the Kubernetes staging modules, which only
/// [`Component::Kubernetes`] uses.
pub(crate) fn wrapper_go_mod(component: Component, version: Version, staging: &[String]) -> String {
    let mut text = format!(
        "module {WRAPPER_MODULE}\n\ngo {GO_DIRECTIVE}\n\nrequire {}\n",
        required_module(component, version)
    );
    let replaced: Vec<(String, Version)> = match component {
        Component::Kubernetes => staging
            .iter()
            .map(|module| (module.clone(), version.staging()))
            .collect(),
        Component::Etcd => ETCD_SIBLINGS
            .iter()
            .map(|module| ((*module).to_owned(), version))
            .collect(),
        Component::Kwok => Vec::new(),
    };
    if !replaced.is_empty() {
        text.push_str("\nreplace (\n");
        for (module, version) in replaced {
            let _ = writeln!(text, "\t{module} => {module} {version}");
        }
        text.push_str(")\n");
    }
    text
}

/// Lists the staging modules that Kubernetes' go.mod replaces with `./staging/src/...`,
/// except the sample modules the proxy does not serve.
pub(crate) fn staging_modules(kubernetes_go_mod: &str) -> Vec<String> {
    let mut modules = Vec::new();
    let mut in_block = false;
    for line in kubernetes_go_mod.lines() {
        let line = line.trim();
        let directive = if in_block {
            if line == ")" {
                in_block = false;
                continue;
            }
            line
        } else if line == "replace (" {
            in_block = true;
            continue;
        } else if let Some(rest) = line.strip_prefix("replace ") {
            rest
        } else {
            continue;
        };
        let Some((module, target)) = directive.split_once("=>") else {
            continue;
        };
        let module = module.trim();
        if target.trim().starts_with("./staging/src/")
            && !module.starts_with(UNSERVED_STAGING_PREFIX)
        {
            modules.push(module.to_owned());
        }
    }
    modules
}

/// Linker flags that strip debug information and stamp the version the binaries report.
/// `release_time` (RFC 3339) becomes the Kubernetes build date, so rebuilds are identical.
pub(crate) fn ldflags(component: Component, version: Version, release_time: &str) -> String {
    let mut flags = vec!["-s".to_owned(), "-w".to_owned()];
    match component {
        Component::Kubernetes => {
            for package in [
                "k8s.io/component-base/version",
                "k8s.io/client-go/pkg/version",
            ] {
                let values = [
                    ("gitVersion", version.to_string()),
                    ("gitMajor", version.major.to_string()),
                    ("gitMinor", version.minor.to_string()),
                    ("gitTreeState", "clean".to_owned()),
                    ("buildDate", release_time.to_owned()),
                ];
                for (name, value) in values {
                    flags.push(format!("-X {package}.{name}={value}"));
                }
            }
        }
        // etcd takes its version from a constant in go.etcd.io/etcd/api/v3/version.
        Component::Etcd => {}
        Component::Kwok => {
            flags.push(format!("-X sigs.k8s.io/kwok/pkg/consts.Version={version}"));
        }
    }
    flags.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUBERNETES_GO_MOD: &str = "module k8s.io/kubernetes

go 1.26.0

require (
\tk8s.io/api v0.0.0
\tk8s.io/sample-apiserver v0.0.0
)

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tk8s.io/client-go => ./staging/src/k8s.io/client-go
\tk8s.io/sample-apiserver => ./staging/src/k8s.io/sample-apiserver
\tgithub.com/example/pinned => github.com/example/pinned v1.2.3
)

replace k8s.io/kms => ./staging/src/k8s.io/kms
";

    #[test]
    fn staging_modules_skip_samples_and_pins() {
        assert_eq!(
            staging_modules(KUBERNETES_GO_MOD),
            ["k8s.io/api", "k8s.io/client-go", "k8s.io/kms"]
        );
    }

    #[test]
    fn kubernetes_wrapper_replaces_staging_with_releases() {
        let staging = vec!["k8s.io/api".to_owned(), "k8s.io/client-go".to_owned()];
        let text = wrapper_go_mod(Component::Kubernetes, Version::new(1, 37, 2), &staging);
        assert_eq!(
            text,
            "module kspec.dev/upstream-build\n\ngo 1.26.0\n\nrequire k8s.io/kubernetes \
             v1.37.2\n\nreplace (\n\tk8s.io/api => k8s.io/api v0.37.2\n\tk8s.io/client-go => \
             k8s.io/client-go v0.37.2\n)\n"
        );
    }

    #[test]
    fn kwok_wrapper_has_no_replace() {
        let text = wrapper_go_mod(Component::Kwok, Version::new(0, 8, 0), &[]);
        assert!(!text.contains("replace"));
        assert!(text.contains("require sigs.k8s.io/kwok v0.8.0\n"));
    }

    #[test]
    fn kubernetes_ldflags_stamp_both_version_packages() {
        let flags = ldflags(
            Component::Kubernetes,
            Version::new(1, 37, 2),
            "2026-10-27T12:01:04Z",
        );
        assert!(flags.contains("-X k8s.io/component-base/version.gitVersion=v1.37.2"));
        assert!(flags.contains("-X k8s.io/client-go/pkg/version.gitVersion=v1.37.2"));
        assert!(flags.contains("-X k8s.io/component-base/version.gitMinor=37"));
        assert!(flags.contains("buildDate=2026-10-27T12:01:04Z"));
    }
}
