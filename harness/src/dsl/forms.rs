//! Deserialization of the values that can be written in more than one form.
//!
//! serde's `untagged` enums try each form and, when none fits, report only "data did not match
//! any variant", which hides the real mistake (an unknown kind in a target list, a misspelt
//! `min`). These visitors pick the form from the YAML node's type and report the error of that
//! form, at its position.

use std::fmt;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::types::{AllKeyword, ConditionMatch, ConditionSpec, ManifestSource, Selection};
use super::values::{CountRange, Target};

impl<'de> Deserialize<'de> for Selection {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SelectionVisitor;

        impl<'de> Visitor<'de> for SelectionVisitor {
            type Value = Selection;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`all` or a list of targets such as [job/hello-world]")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Selection, E> {
                if text == "all" {
                    return Ok(Selection::All(AllKeyword::All));
                }
                if let Ok(target) = text.parse::<Target>() {
                    return Err(E::custom(format!(
                        "expected `all` or a list of targets, found `{text}` (write [{target}])"
                    )));
                }
                Err(E::invalid_value(de::Unexpected::Str(text), &self))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Selection, A::Error> {
                let mut targets = Vec::new();
                while let Some(target) = seq.next_element::<Target>()? {
                    targets.push(target);
                }
                Ok(Selection::Targets(targets))
            }
        }

        deserializer.deserialize_any(SelectionVisitor)
    }
}

impl<'de> Deserialize<'de> for ManifestSource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct InlineForm {
            inline: Value,
        }

        struct SourceVisitor;

        impl<'de> Visitor<'de> for SourceVisitor {
            type Value = ManifestSource;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a manifest file path or a mapping with `inline:`")
            }

            fn visit_str<E: de::Error>(self, path: &str) -> Result<ManifestSource, E> {
                Ok(ManifestSource::File(path.to_owned()))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ManifestSource, A::Error> {
                let form = InlineForm::deserialize(MapAccessDeserializer::new(map))?;
                Ok(ManifestSource::Inline {
                    inline: form.inline,
                })
            }
        }

        deserializer.deserialize_any(SourceVisitor)
    }
}

impl<'de> Deserialize<'de> for ConditionMatch {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ConditionVisitor;

        impl<'de> Visitor<'de> for ConditionVisitor {
            type Value = ConditionMatch;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a condition type such as Complete, or a mapping with `type:`")
            }

            fn visit_str<E: de::Error>(self, type_: &str) -> Result<ConditionMatch, E> {
                Ok(ConditionMatch::Type(type_.to_owned()))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ConditionMatch, A::Error> {
                ConditionSpec::deserialize(MapAccessDeserializer::new(map))
                    .map(ConditionMatch::Full)
            }
        }

        deserializer.deserialize_any(ConditionVisitor)
    }
}

impl<'de> Deserialize<'de> for CountRange {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct RangeForm {
            #[serde(default)]
            min: Option<u32>,
            #[serde(default)]
            max: Option<u32>,
        }

        struct CountVisitor;

        impl<'de> Visitor<'de> for CountVisitor {
            type Value = CountRange;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a count: a non-negative integer, or a mapping with `min` and/or `max`")
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<CountRange, E> {
                u32::try_from(value)
                    .map(CountRange::Exact)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(value), &self))
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<CountRange, E> {
                match u64::try_from(value) {
                    Ok(value) => self.visit_u64(value),
                    Err(_) => Err(E::invalid_value(de::Unexpected::Signed(value), &self)),
                }
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<CountRange, A::Error> {
                let form = RangeForm::deserialize(MapAccessDeserializer::new(map))?;
                if let (Some(min), Some(max)) = (form.min, form.max)
                    && min > max
                {
                    return Err(de::Error::custom(format!(
                        "invalid count range: min {min} is greater than max {max}"
                    )));
                }
                Ok(CountRange::Range {
                    min: form.min,
                    max: form.max,
                })
            }
        }

        deserializer.deserialize_any(CountVisitor)
    }
}
