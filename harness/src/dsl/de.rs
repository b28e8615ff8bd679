//! A serde deserializer over located YAML nodes.
//!
//! Every error is tied to the node it arose in and the path of keys that leads there, so a
//! misspelt key, a wrong type or an invalid value is reported at its line and column. Enums
//! are read as a plain scalar (`order: sequential`) or as a mapping with one key
//! (`- wait: {...}`), which is how scenario steps are written. serde_yaml 0.9 reads the latter
//! only as a YAML tag (`!wait`), so it cannot read scenarios.

use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, Expected, IntoDeserializer, MapAccess,
    SeqAccess, Unexpected, VariantAccess, Visitor,
};
use serde_json::Value;

use super::scalar::{self, Schema};
use super::yaml::{Node, NodeValue};

/// Deserializes a value from a node, typing plain scalars with `schema`. `path` names the node
/// in messages, such as `steps[2]`; empty for the root.
pub(crate) fn from_node<T: DeserializeOwned>(
    node: &Node,
    path: &str,
    schema: Schema,
) -> Result<T, DeError> {
    let deserializer = NodeDeserializer {
        node,
        path: path.to_owned(),
        schema,
    };
    T::deserialize(deserializer).map_err(|err| err.locate(node, path))
}

/// Mismatch between a node and the type read from it.
#[derive(Debug)]
pub(crate) struct DeError {
    pub(crate) kind: DeErrorKind,
    /// The node the error arose in; set by the innermost node.
    pub(crate) node: Option<(super::source::Location, usize)>,
    /// The path to that node, such as `steps[0].wait`.
    pub(crate) path: String,
}

#[derive(Debug)]
pub(crate) enum DeErrorKind {
    UnknownField {
        field: String,
        expected: &'static [&'static str],
    },
    UnknownVariant {
        variant: String,
        expected: &'static [&'static str],
    },
    MissingField(&'static str),
    Message(String),
}

impl DeError {
    fn new(kind: DeErrorKind) -> Self {
        Self {
            kind,
            node: None,
            path: String::new(),
        }
    }

    /// Ties the error to `node` unless a node below it already claimed it.
    fn locate(mut self, node: &Node, path: &str) -> Self {
        if self.node.is_none() {
            self.node = Some((node.location, node.length));
            self.path = path.to_owned();
        }
        self
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            DeErrorKind::UnknownField { field, .. } => write!(f, "unknown key `{field}`"),
            DeErrorKind::UnknownVariant { variant, .. } => write!(f, "unknown value `{variant}`"),
            DeErrorKind::MissingField(field) => write!(f, "missing key `{field}`"),
            DeErrorKind::Message(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        DeError::new(DeErrorKind::Message(message.to_string()))
    }

    fn invalid_type(unexpected: Unexpected<'_>, expected: &dyn Expected) -> Self {
        let found = match unexpected {
            Unexpected::Unit => "null".to_owned(),
            Unexpected::Map => "a mapping".to_owned(),
            Unexpected::Seq => "a list".to_owned(),
            other => other.to_string(),
        };
        DeError::custom(format!(
            "expected {}, found {found}",
            describe_expected(expected)
        ))
    }

    fn invalid_value(unexpected: Unexpected<'_>, expected: &dyn Expected) -> Self {
        DeError::custom(format!(
            "expected {}, found {unexpected}",
            describe_expected(expected)
        ))
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        DeError::new(DeErrorKind::UnknownField {
            field: field.to_owned(),
            expected,
        })
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        DeError::new(DeErrorKind::UnknownVariant {
            variant: variant.to_owned(),
            expected,
        })
    }

    fn missing_field(field: &'static str) -> Self {
        DeError::new(DeErrorKind::MissingField(field))
    }
}

/// Names an expected type the way a YAML author thinks of it, not as a Rust type.
fn describe_expected(expected: &dyn Expected) -> String {
    let text = expected.to_string();
    match text.as_str() {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a non-negative integer".to_owned(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "an integer".to_owned(),
        "f32" | "f64" => "a number".to_owned(),
        "a sequence" => "a list".to_owned(),
        "a map" | "map" => "a mapping".to_owned(),
        _ if text.starts_with("struct ") => "a mapping".to_owned(),
        _ if text.starts_with("enum ") => "one of its values".to_owned(),
        _ => text,
    }
}

struct NodeDeserializer<'a> {
    node: &'a Node,
    path: String,
    schema: Schema,
}

impl<'a> NodeDeserializer<'a> {
    fn child(&self, node: &'a Node, path: String) -> Self {
        Self {
            node,
            path,
            schema: self.schema,
        }
    }

    fn unexpected(&self) -> Unexpected<'a> {
        match &self.node.value {
            NodeValue::Scalar(scalar) if scalar.plain && scalar::is_null(&scalar.text) => {
                Unexpected::Unit
            }
            NodeValue::Scalar(scalar) => Unexpected::Str(&scalar.text),
            NodeValue::Sequence(_) => Unexpected::Seq,
            NodeValue::Mapping(_) => Unexpected::Map,
        }
    }
}

fn key_path(path: &str, key: &Node) -> String {
    let name = key.scalar().map_or("?", |scalar| scalar.text.as_str());
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

impl<'de> de::Deserializer<'de> for NodeDeserializer<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let node: &Node = self.node;
        match &node.value {
            NodeValue::Scalar(scalar) if !scalar.plain => visitor.visit_str(&scalar.text),
            NodeValue::Scalar(scalar) => match scalar::resolve(&scalar.text, self.schema) {
                Value::Null => visitor.visit_unit(),
                Value::Bool(value) => visitor.visit_bool(value),
                Value::Number(number) => {
                    if let Some(value) = number.as_u64() {
                        visitor.visit_u64(value)
                    } else if let Some(value) = number.as_i64() {
                        visitor.visit_i64(value)
                    } else {
                        visitor.visit_f64(number.as_f64().unwrap_or(f64::NAN))
                    }
                }
                _ => visitor.visit_str(&scalar.text),
            },
            NodeValue::Sequence(items) => visitor.visit_seq(Items {
                parent: &self,
                items: items.iter().enumerate(),
            }),
            NodeValue::Mapping(entries) => visitor.visit_map(Entries {
                parent: &self,
                entries: entries.iter(),
                value: None,
            }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.node.is_null() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    /// Any scalar reads as text where text is expected, as in serde_yaml, so `name: 123` and
    /// `variables: {replicas: 3}` work.
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.value {
            NodeValue::Scalar(_) if self.node.is_null() => {
                Err(de::Error::invalid_type(Unexpected::Unit, &visitor))
            }
            NodeValue::Scalar(scalar) => visitor.visit_str(&scalar.text),
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.node.is_null() {
            visitor.visit_unit()
        } else {
            Err(de::Error::invalid_type(self.unexpected(), &visitor))
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match &self.node.value {
            NodeValue::Scalar(_) if !self.node.is_null() => {
                visitor.visit_enum(ScalarEnum { parent: &self })
            }
            NodeValue::Mapping(entries) if entries.len() == 1 => {
                let (key, value) = &entries[0];
                visitor.visit_enum(MappingEnum {
                    parent: &self,
                    key,
                    value,
                })
            }
            NodeValue::Mapping(entries) if !entries.is_empty() => {
                let keys: Vec<String> = entries
                    .iter()
                    .filter_map(|(key, _)| key.scalar().map(|scalar| format!("`{}`", scalar.text)))
                    .collect();
                Err(de::Error::custom(format!(
                    "expected a mapping with one key, found {} keys: {}",
                    entries.len(),
                    keys.join(", ")
                )))
            }
            _ => Err(de::Error::custom(format!(
                "expected one of {}, found {}",
                list_names(variants),
                describe_unexpected(self.unexpected())
            ))),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf seq tuple
        tuple_struct map struct
    }
}

fn describe_unexpected(unexpected: Unexpected<'_>) -> String {
    match unexpected {
        Unexpected::Unit => "null".to_owned(),
        Unexpected::Map => "an empty mapping".to_owned(),
        Unexpected::Seq => "a list".to_owned(),
        other => other.to_string(),
    }
}

/// `` `a`, `b` or `c` ``.
pub(crate) fn list_names(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
    match quoted.as_slice() {
        [] => "nothing".to_owned(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

struct Items<'p, 'a, I> {
    parent: &'p NodeDeserializer<'a>,
    items: I,
}

impl<'de, 'a, I: Iterator<Item = (usize, &'a Node)>> SeqAccess<'de> for Items<'_, 'a, I> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let Some((index, item)) = self.items.next() else {
            return Ok(None);
        };
        let path = format!("{}[{index}]", self.parent.path);
        let child = self.parent.child(item, path.clone());
        seed.deserialize(child)
            .map(Some)
            .map_err(|err| err.locate(item, &path))
    }
}

struct Entries<'p, 'a, I> {
    parent: &'p NodeDeserializer<'a>,
    entries: I,
    value: Option<(&'a Node, String)>,
}

impl<'de, 'a, I: Iterator<Item = &'a (Node, Node)>> MapAccess<'de> for Entries<'_, 'a, I> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some((value, key_path(&self.parent.path, key)));
        let path = &self.parent.path;
        let child = self.parent.child(key, path.clone());
        seed.deserialize(child)
            .map(Some)
            .map_err(|err| err.locate(key, path))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let (value, path) = self
            .value
            .take()
            .expect("serde asks for a value after its key");
        let child = self.parent.child(value, path.clone());
        seed.deserialize(child)
            .map_err(|err| err.locate(value, &path))
    }
}

/// An enum written as a scalar: `sequential`.
struct ScalarEnum<'p, 'a> {
    parent: &'p NodeDeserializer<'a>,
}

impl<'de> EnumAccess<'de> for ScalarEnum<'_, '_> {
    type Error = DeError;
    type Variant = UnitOnly;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, UnitOnly), DeError> {
        let scalar = self.parent.node.scalar().expect("only scalars reach here");
        let variant = seed.deserialize(scalar.text.as_str().into_deserializer())?;
        Ok((variant, UnitOnly(scalar.text.clone())))
    }
}

struct UnitOnly(String);

impl<'de> VariantAccess<'de> for UnitOnly {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _seed: T) -> Result<T::Value, DeError> {
        Err(self.needs_value())
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _visitor: V) -> Result<V::Value, DeError> {
        Err(self.needs_value())
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, DeError> {
        Err(self.needs_value())
    }
}

impl UnitOnly {
    fn needs_value(&self) -> DeError {
        de::Error::custom(format!("`{0}` needs a value: write `{0}: …`", self.0))
    }
}

/// An enum written as a mapping with one key: `wait: {for: job/x, within: 1m}`.
struct MappingEnum<'p, 'a> {
    parent: &'p NodeDeserializer<'a>,
    key: &'a Node,
    value: &'a Node,
}

impl<'de, 'p, 'a> EnumAccess<'de> for MappingEnum<'p, 'a> {
    type Error = DeError;
    type Variant = NodeDeserializer<'a>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), DeError> {
        let path = &self.parent.path;
        let key = self.parent.child(self.key, path.clone());
        let variant = seed
            .deserialize(key)
            .map_err(|err| err.locate(self.key, path))?;
        let value_path = key_path(path, self.key);
        Ok((variant, self.parent.child(self.value, value_path)))
    }
}

impl<'de> VariantAccess<'de> for NodeDeserializer<'_> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        if self.node.is_null() {
            Ok(())
        } else {
            Err(<DeError as de::Error>::custom("expected no value").locate(self.node, &self.path))
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        let (node, path) = (self.node, self.path.clone());
        seed.deserialize(self)
            .map_err(|err| err.locate(node, &path))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        let (node, path) = (self.node, self.path.clone());
        de::Deserializer::deserialize_seq(self, visitor).map_err(|err| err.locate(node, &path))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let (node, path) = (self.node, self.path.clone());
        de::Deserializer::deserialize_map(self, visitor).map_err(|err| err.locate(node, &path))
    }
}

/// Turns a deserialization error into a problem at its node, with the nearest valid key or
/// value as a hint.
pub(crate) fn to_problem(
    source: &super::source::SourceFile,
    err: DeError,
) -> super::error::Problem {
    let in_path = |message: String| {
        if err.path.is_empty() {
            message
        } else {
            format!("{}: {message}", err.path)
        }
    };
    let is_step = STEP_PATH.is_match(&err.path);

    let (message, label, help) = match &err.kind {
        DeErrorKind::UnknownField { field, expected } => {
            let help = if expected.is_empty() {
                "this mapping takes no keys".to_owned()
            } else {
                suggestion(field, expected, "valid keys")
            };
            (
                in_path(format!("unknown key `{field}`")),
                "unknown key".to_owned(),
                Some(help),
            )
        }
        DeErrorKind::UnknownVariant { variant, expected } if is_step => (
            format!("{}: unknown step `{variant}`", err.path),
            "unknown step".to_owned(),
            Some(suggestion(variant, expected, "steps")),
        ),
        DeErrorKind::UnknownVariant { variant, expected } => (
            in_path(format!("unknown value `{variant}`")),
            "unknown value".to_owned(),
            Some(suggestion(variant, expected, "valid values")),
        ),
        DeErrorKind::MissingField(field) => (
            in_path(format!("missing key `{field}`")),
            format!("`{field}` is missing here"),
            None,
        ),
        DeErrorKind::Message(message) => {
            let help =
                (is_step && message.starts_with("expected a mapping with one key")).then(|| {
                    "each step is its own list item: start the next step with `- `".to_owned()
                });
            (in_path(message.clone()), "invalid value".to_owned(), help)
        }
    };

    let mut problem = super::error::Problem::in_source(source, message);
    if let Some((location, length)) = err.node {
        problem = problem.at(location, length, label);
    }
    match help {
        Some(help) => problem.with_help(help),
        None => problem,
    }
}

static STEP_PATH: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"^steps\[\d+\]$").expect("the pattern is valid")
});

/// `did you mean `for`? valid keys: ...`, or just the list when nothing is close.
fn suggestion(input: &str, expected: &[&str], what: &str) -> String {
    let all = expected.join(", ");
    match super::nearest(input, expected.iter().copied()) {
        Some(near) => format!("did you mean `{near}`? {what}: {all}"),
        None => format!("{what}: {all}"),
    }
}
