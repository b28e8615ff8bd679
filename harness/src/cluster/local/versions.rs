//! Versions of the upstream components the local cluster builds and runs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Default Kubernetes release for kube-apiserver, kube-controller-manager and kube-scheduler.
pub const DEFAULT_KUBERNETES: Version = Version::new(1, 37, 2);
/// Default etcd release. etcd 3.6 is the line Kubernetes 1.37 is tested against.
pub const DEFAULT_ETCD: Version = Version::new(3, 6, 17);
/// Default kwok release, which provides `kwok` (the simulated kubelets) and `kwokctl`.
pub const DEFAULT_KWOK: Version = Version::new(0, 8, 0);

/// A release version `vMAJOR.MINOR.PATCH`; the leading `v` is optional when parsing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl Version {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }

    /// The version of the `k8s.io/*` staging modules (`k8s.io/api` and friends) released with
    /// this Kubernetes version: v1.37.2 ships v0.37.2.
    pub fn staging(self) -> Version {
        Version::new(0, self.minor, self.patch)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl FromStr for Version {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || format!("invalid version `{text}` (write it like v1.37.2)");
        let digits = text.trim().strip_prefix('v').unwrap_or(text.trim());
        let mut parts = digits.split('.').map(|part| {
            if part.is_empty() || !part.bytes().all(|byte| byte.is_ascii_digit()) {
                return Err(invalid());
            }
            part.parse::<u32>().map_err(|_| invalid())
        });
        let (Some(major), Some(minor), Some(patch), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        Ok(Version::new(major?, minor?, patch?))
    }
}

impl Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The component versions of one local cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Versions {
    /// Kubernetes release of the control plane; also the kubelet version the nodes report.
    pub kubernetes: Version,
    /// etcd release.
    pub etcd: Version,
    /// kwok release.
    pub kwok: Version,
}

impl Default for Versions {
    fn default() -> Self {
        Self {
            kubernetes: DEFAULT_KUBERNETES,
            etcd: DEFAULT_ETCD,
            kwok: DEFAULT_KWOK,
        }
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case::with_prefix("v1.37.2", Version::new(1, 37, 2))]
    #[case::without_prefix("3.6.17", Version::new(3, 6, 17))]
    #[case::padded(" v0.8.0 ", Version::new(0, 8, 0))]
    fn version_parses(#[case] text: &str, #[case] expected: Version) {
        assert_eq!(text.parse::<Version>(), Ok(expected));
    }

    #[rstest]
    #[case::two_parts("1.37")]
    #[case::four_parts("1.37.2.1")]
    #[case::pre_release("v1.37.0-rc.1")]
    #[case::empty_part("v1..2")]
    #[case::sign("v1.+37.2")]
    fn version_rejects(#[case] text: &str) {
        assert!(text.parse::<Version>().is_err());
    }

    #[test]
    fn staging_version_follows_minor() {
        assert_eq!(Version::new(1, 36, 3).staging().to_string(), "v0.36.3");
    }
}
