//! `expect-dns`: the per-pod DNS names a headless Service publishes, derived from its
//! EndpointSlices the way the cluster DNS add-on (CoreDNS's kubernetes plugin) derives them.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{JudgeContext, Outcome};
use crate::dsl::values::Duration;
use crate::recorder::timeline::{Timeline, str_at};

/// Label that ties an EndpointSlice to its Service.
const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// `expect-dns`: pod hostnames that must resolve under a headless Service.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DnsExpectation {
    /// Name of the headless Service (`clusterIP: None`).
    pub service: String,
    /// Hostnames that must have a record `<hostname>.<service>.<namespace>.svc.<zone>`; for a
    /// StatefulSet these are the pod names, because its pods get `hostname` and `subdomain`.
    pub hostnames: Vec<String>,
    /// Hostnames that must have no record, such as the pods of removed ordinals after a
    /// scale-down.
    #[serde(default)]
    pub absent: Vec<String>,
    /// Cluster domain. Default: cluster.local.
    #[serde(default)]
    pub zone: Option<String>,
    /// Keeps judging as changes arrive until the expectation holds, for at most this long.
    #[serde(default)]
    pub within: Option<Duration>,
}

/// One A or AAAA record.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Record {
    name: String,
    address: String,
}

/// Judges the DNS names at the end of the recording.
pub fn judge_dns(expectation: &DnsExpectation, context: &JudgeContext<'_>) -> Outcome {
    let timeline = context.timeline;
    let mut outcome = Outcome::default();
    let Some(service) = timeline.current_object("Service", &expectation.service) else {
        outcome.failure = Some(format!("service/{} does not exist", expectation.service));
        return outcome;
    };
    if service.pointer("/spec/clusterIP").and_then(Value::as_str) != Some("None") {
        outcome.failure = Some(format!(
            "service/{} is not headless (spec.clusterIP is not None), so the DNS add-on publishes no per-pod names for it",
            expectation.service
        ));
        return outcome;
    }
    let namespace = str_at(service, &["metadata", "namespace"]).unwrap_or_default();
    let zone = expectation.zone.as_deref().unwrap_or("cluster.local");
    let publish_not_ready = service
        .pointer("/spec/publishNotReadyAddresses")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let suffix = format!("{}.{namespace}.svc.{zone}", expectation.service);
    let records = records(timeline, &expectation.service, &suffix, publish_not_ready);

    let mut by_name: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for record in &records {
        by_name
            .entry(&record.name)
            .or_default()
            .push(&record.address);
    }
    let missing: Vec<String> = expectation
        .hostnames
        .iter()
        .map(|hostname| format!("{hostname}.{suffix}"))
        .filter(|name| !by_name.contains_key(name.as_str()))
        .collect();

    outcome.facts.insert(
        "names".to_owned(),
        Value::Array(
            by_name
                .keys()
                .map(|name| Value::String((*name).to_owned()))
                .collect(),
        ),
    );
    let present: Vec<String> = expectation
        .absent
        .iter()
        .map(|hostname| format!("{hostname}.{suffix}"))
        .filter_map(|name| {
            let addresses = by_name.get(name.as_str())?;
            Some(format!("{name} ({})", addresses.join(", ")))
        })
        .collect();

    let mut failures = Vec::new();
    if !missing.is_empty() {
        let published = if by_name.is_empty() {
            "none".to_owned()
        } else {
            by_name.keys().copied().collect::<Vec<_>>().join(", ")
        };
        failures.push(format!(
            "expected DNS names {}; the EndpointSlices of service/{} publish {published} (a name needs an endpoint with hostname set and, unless publishNotReadyAddresses is true, condition ready)",
            missing.join(", "),
            expectation.service
        ));
    }
    if !present.is_empty() {
        failures.push(format!(
            "expected no DNS names for {}; the EndpointSlices of service/{} still publish {}",
            expectation.absent.join(", "),
            expectation.service,
            present.join(", ")
        ));
    }
    if !failures.is_empty() {
        outcome.failure = Some(failures.join("; "));
    }
    outcome
}

/// Records from the current EndpointSlices of a Service: one per address of every endpoint
/// that has a hostname and is ready (or when the Service publishes not-ready addresses).
fn records(
    timeline: &Timeline,
    service: &str,
    suffix: &str,
    publish_not_ready: bool,
) -> Vec<Record> {
    let mut records = Vec::new();
    for slice in timeline.current("EndpointSlice") {
        let owner = slice
            .pointer("/metadata/labels")
            .and_then(|labels| labels.get(SERVICE_NAME_LABEL))
            .and_then(Value::as_str);
        if owner != Some(service) {
            continue;
        }
        let endpoints = slice.get("endpoints").and_then(Value::as_array);
        for endpoint in endpoints.into_iter().flatten() {
            let Some(hostname) = endpoint.get("hostname").and_then(Value::as_str) else {
                continue;
            };
            // An absent ready condition means ready, per the EndpointSlice API.
            let ready = endpoint
                .pointer("/conditions/ready")
                .and_then(Value::as_bool)
                .unwrap_or(true);
            if !ready && !publish_not_ready {
                continue;
            }
            let addresses = endpoint.get("addresses").and_then(Value::as_array);
            for address in addresses.into_iter().flatten().filter_map(Value::as_str) {
                records.push(Record {
                    name: format!("{hostname}.{suffix}"),
                    address: address.to_owned(),
                });
            }
        }
    }
    records.sort();
    records
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recorder::timeline::ChangeKind;
    use serde_json::json;

    fn timeline(cluster_ip: &str, ready: bool) -> Timeline {
        Timeline::from_changes([
            (
                ChangeKind::Added,
                "Service",
                json!({"metadata": {"name": "web", "namespace": "ns", "uid": "s", "resourceVersion": "1"},
                       "spec": {"clusterIP": cluster_ip}}),
            ),
            (
                ChangeKind::Added,
                "EndpointSlice",
                json!({"metadata": {"name": "web-abcde", "namespace": "ns", "uid": "e", "resourceVersion": "2",
                             "labels": {"kubernetes.io/service-name": "web"}},
                "endpoints": [
                  {"addresses": ["10.0.0.1"], "hostname": "web-0", "conditions": {"ready": true}},
                  {"addresses": ["10.0.0.2"], "hostname": "web-1", "conditions": {"ready": ready}},
                  {"addresses": ["10.0.0.3"], "conditions": {"ready": true}}
                ]}),
            ),
        ])
    }

    fn expectation(hostnames: &[&str]) -> DnsExpectation {
        DnsExpectation {
            service: "web".to_owned(),
            hostnames: hostnames.iter().map(|h| (*h).to_owned()).collect(),
            absent: Vec::new(),
            zone: None,
            within: None,
        }
    }

    #[test]
    fn dns_names_from_ready_endpoints() {
        let timeline = timeline("None", true);
        let outcome = judge_dns(
            &expectation(&["web-0", "web-1"]),
            &JudgeContext {
                timeline: &timeline,
                from: 0,
            },
        );
        assert!(outcome.passed(), "{:?}", outcome.failure);
        assert_eq!(
            outcome.facts["names"],
            json!([
                "web-0.web.ns.svc.cluster.local",
                "web-1.web.ns.svc.cluster.local"
            ])
        );
    }

    #[test]
    fn dns_skips_not_ready_endpoint() {
        let timeline = timeline("None", false);
        let outcome = judge_dns(
            &expectation(&["web-0", "web-1"]),
            &JudgeContext {
                timeline: &timeline,
                from: 0,
            },
        );
        insta::assert_snapshot!(outcome.failure.unwrap(), @"expected DNS names web-1.web.ns.svc.cluster.local; the EndpointSlices of service/web publish web-0.web.ns.svc.cluster.local (a name needs an endpoint with hostname set and, unless publishNotReadyAddresses is true, condition ready)");
    }

    #[test]
    fn dns_absent_name_published() {
        let timeline = timeline("None", true);
        let mut expectation = expectation(&["web-0"]);
        expectation.absent = vec!["web-1".to_owned(), "web-2".to_owned()];
        let outcome = judge_dns(
            &expectation,
            &JudgeContext {
                timeline: &timeline,
                from: 0,
            },
        );
        insta::assert_snapshot!(outcome.failure.unwrap(), @"expected no DNS names for web-1, web-2; the EndpointSlices of service/web still publish web-1.web.ns.svc.cluster.local (10.0.0.2)");
    }

    #[test]
    fn dns_absent_name_not_ready() {
        let timeline = timeline("None", false);
        let mut expectation = expectation(&["web-0"]);
        expectation.absent = vec!["web-1".to_owned()];
        let outcome = judge_dns(
            &expectation,
            &JudgeContext {
                timeline: &timeline,
                from: 0,
            },
        );
        assert!(outcome.passed(), "{:?}", outcome.failure);
    }

    #[test]
    fn dns_requires_headless_service() {
        let timeline = timeline("10.96.0.10", true);
        let outcome = judge_dns(
            &expectation(&["web-0"]),
            &JudgeContext {
                timeline: &timeline,
                from: 0,
            },
        );
        assert!(outcome.failure.unwrap().contains("is not headless"));
    }
}
