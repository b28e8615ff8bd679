//! Applying manifests: resolving their kinds against the server, server-side apply with
//! strict field validation, and the messages the API server gives when it rejects them.

use std::collections::HashMap;

use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::discovery::{ApiCapabilities, Discovery, Scope};
use serde_json::Value;
use tokio::sync::Mutex;

/// Field manager name for server-side apply.
pub const FIELD_MANAGER: &str = "kspec";

/// Failure to apply a manifest.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The server serves no such kind at that apiVersion; the message is the one kubectl
    /// prints for the same manifest.
    #[error(
        "no matches for kind \"{kind}\" in version \"{api_version}\"{}",
        served_hint(kind, served)
    )]
    NoKindMatch {
        kind: String,
        api_version: String,
        /// apiVersions at which the server serves the kind instead.
        served: Vec<String>,
    },
    /// The API server rejected the request; `message` is the server's own.
    #[error("{message}")]
    Rejected {
        message: String,
        reason: String,
        code: u16,
        /// The individual problems with the field each names, as the server lists them.
        causes: Vec<Cause>,
    },
    #[error("manifest has no {field}")]
    Incomplete { field: &'static str },
    #[error("send the request to the API server")]
    Request(#[source] kube::Error),
}

impl ApplyError {
    fn from_kube(err: kube::Error) -> Self {
        match err {
            kube::Error::Api(status) => ApplyError::Rejected {
                message: status.message.clone(),
                reason: status.reason.clone(),
                code: status.code,
                causes: status
                    .details
                    .as_ref()
                    .map(|details| {
                        details
                            .causes
                            .iter()
                            .map(|cause| Cause {
                                field: (!cause.field.is_empty()).then(|| cause.field.clone()),
                                message: cause.message.clone(),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            },
            other => ApplyError::Request(other),
        }
    }

    /// Returns the text a rejection pattern is matched against: the server's message, or for a kind
    /// the server does not serve, kubectl's message.
    pub fn rejection_message(&self) -> Option<String> {
        match self {
            ApplyError::NoKindMatch { .. } | ApplyError::Rejected { .. } => Some(self.to_string()),
            ApplyError::Incomplete { .. } | ApplyError::Request(_) => None,
        }
    }
}

/// One problem of a rejected request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cause {
    /// The field, as the server writes it (`metadata.name`, `spec.template.spec.containers[0]`).
    pub field: Option<String>,
    pub message: String,
}

/// A resolved kind: how to address it and whether it is namespaced.
#[derive(Clone, Debug)]
pub struct ResolvedKind {
    pub resource: ApiResource,
    pub namespaced: bool,
}

/// Resolves kinds through discovery (cached per kind) and applies manifests.
pub struct Applier {
    client: Client,
    resolved: Mutex<HashMap<GroupVersionKind, Option<ResolvedKind>>>,
    /// Full discovery, run once on the first kind the server does not serve, to say where the
    /// kind is served instead.
    discovery: Mutex<Option<Discovery>>,
}

impl Applier {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            resolved: Mutex::new(HashMap::new()),
            discovery: Mutex::new(None),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Resolves the kind of a manifest (`apiVersion` and `kind`).
    pub async fn resolve(&self, manifest: &Value) -> Result<ResolvedKind, ApplyError> {
        let api_version = str_field(manifest, "/apiVersion").ok_or(ApplyError::Incomplete {
            field: "apiVersion",
        })?;
        let kind = str_field(manifest, "/kind").ok_or(ApplyError::Incomplete { field: "kind" })?;
        self.resolve_gvk(api_version, kind).await
    }

    pub async fn resolve_gvk(
        &self,
        api_version: &str,
        kind: &str,
    ) -> Result<ResolvedKind, ApplyError> {
        let gvk = gvk_of(api_version, kind);
        let cached = self.resolved.lock().await.get(&gvk).cloned();
        let resolved = match cached {
            Some(resolved) => resolved,
            None => {
                let resolved = match kube::discovery::pinned_kind(&self.client, &gvk).await {
                    Ok((resource, capabilities)) => Some(resolved_kind(resource, &capabilities)),
                    Err(kube::Error::Api(status)) if status.code == 404 => None,
                    Err(kube::Error::Discovery(_)) => None,
                    Err(err) => return Err(ApplyError::Request(err)),
                };
                self.resolved.lock().await.insert(gvk, resolved.clone());
                resolved
            }
        };
        match resolved {
            Some(resolved) => Ok(resolved),
            None => Err(ApplyError::NoKindMatch {
                kind: kind.to_owned(),
                api_version: api_version.to_owned(),
                served: self.served_elsewhere(kind).await,
            }),
        }
    }

    /// Lists the apiVersions at which the server serves `kind`, from a full discovery.
    async fn served_elsewhere(&self, kind: &str) -> Vec<String> {
        let mut discovery = self.discovery.lock().await;
        if discovery.is_none() {
            match Discovery::new(self.client.clone()).run().await {
                Ok(done) => *discovery = Some(done),
                Err(err) => {
                    tracing::debug!(error = %err, "discovery for a hint failed");
                    return Vec::new();
                }
            }
        }
        let Some(discovery) = discovery.as_ref() else {
            return Vec::new();
        };
        discovery
            .groups()
            .flat_map(|group| group.recommended_resources())
            .filter(|(resource, _)| resource.kind == kind)
            .map(|(resource, _)| resource.api_version)
            .collect()
    }

    /// Returns an API handle for a resolved kind in `namespace` (ignored for cluster-scoped
    /// kinds).
    pub fn api(&self, kind: &ResolvedKind, namespace: &str) -> Api<DynamicObject> {
        if kind.namespaced {
            Api::namespaced_with(self.client.clone(), namespace, &kind.resource)
        } else {
            Api::all_with(self.client.clone(), &kind.resource)
        }
    }

    /// Applies one manifest, placing namespaced objects in `namespace`, and returns the object
    /// as the server stored it.
    ///
    /// A new object is created (POST) with strict field validation, as `kubectl apply` does on
    /// first apply, so every unknown field is reported at once in the API server's usual words
    /// (`strict decoding error: unknown field "…"`). An object that exists already is updated
    /// with server-side apply, also with strict validation.
    pub async fn apply(
        &self,
        manifest: &Value,
        namespace: &str,
        dry_run: bool,
    ) -> Result<DynamicObject, ApplyError> {
        let kind = self.resolve(manifest).await?;
        let name = str_field(manifest, "/metadata/name").ok_or(ApplyError::Incomplete {
            field: "metadata.name",
        })?;
        let mut manifest = manifest.clone();
        if kind.namespaced {
            manifest["metadata"]["namespace"] = Value::String(namespace.to_owned());
        }
        let api = self.api(&kind, namespace);
        match self.create_strict(&api, &manifest, dry_run).await {
            Err(ApplyError::Rejected {
                code: 409, reason, ..
            }) if reason == "AlreadyExists" => {}
            created => return created,
        }
        let mut params = PatchParams::apply(FIELD_MANAGER)
            .force()
            .validation_strict();
        params.dry_run = dry_run;
        api.patch(name, &params, &Patch::Apply(&manifest))
            .await
            .map_err(ApplyError::from_kube)
    }

    /// POSTs a new object with `fieldValidation=Strict`, which kube's `PostParams` cannot set.
    async fn create_strict(
        &self,
        api: &Api<DynamicObject>,
        manifest: &Value,
        dry_run: bool,
    ) -> Result<DynamicObject, ApplyError> {
        let params = kube::api::PostParams {
            dry_run,
            field_manager: Some(FIELD_MANAGER.to_owned()),
        };
        let body = serde_json::to_vec(manifest).expect("JSON values serialize");
        let mut request = kube::core::Request::new(api.resource_url())
            .create(&params, body)
            .map_err(|err| ApplyError::Request(kube::Error::BuildRequest(err)))?;
        let uri = format!("{}&fieldValidation=Strict", request.uri());
        *request.uri_mut() = uri.parse().map_err(|err: http::uri::InvalidUri| {
            ApplyError::Request(kube::Error::HttpError(err.into()))
        })?;
        self.client
            .request::<DynamicObject>(request)
            .await
            .map_err(ApplyError::from_kube)
    }

    /// Whether an object exists now.
    pub async fn exists(
        &self,
        kind: &ResolvedKind,
        namespace: &str,
        name: &str,
    ) -> Result<bool, ApplyError> {
        self.api(kind, namespace)
            .get_opt(name)
            .await
            .map(|object| object.is_some())
            .map_err(ApplyError::from_kube)
    }
}

/// ` (hint: this server serves CronJob as apiVersion batch/v1)`, or nothing.
fn served_hint(kind: &str, served: &[String]) -> String {
    if served.is_empty() {
        String::new()
    } else {
        format!(
            " (hint: this server serves {kind} as apiVersion {})",
            served.join(", ")
        )
    }
}

fn resolved_kind(resource: ApiResource, capabilities: &ApiCapabilities) -> ResolvedKind {
    ResolvedKind {
        resource,
        namespaced: capabilities.scope == Scope::Namespaced,
    }
}

/// Group, version and kind of an `apiVersion` such as `apps/v1` or `v1`.
pub fn gvk_of(api_version: &str, kind: &str) -> GroupVersionKind {
    match api_version.split_once('/') {
        Some((group, version)) => GroupVersionKind::gvk(group, version, kind),
        None => GroupVersionKind::gvk("", api_version, kind),
    }
}

pub(crate) fn str_field<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}
