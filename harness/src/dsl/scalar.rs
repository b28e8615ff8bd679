//! Typing of plain (unquoted) YAML scalars.
//!
//! Scenario and suite files use the YAML 1.2 core schema, as serde_yaml and yaml-rust2 do.
//! Manifests use the rules of `kubectl`, which reads YAML with go-yaml v2 (YAML 1.1 typing):
//! `yes`, `on`, `y` are booleans and `0644` is octal, so `defaultMode: 0644` means 420 and
//! `value: yes` is a boolean that the API server rejects for a string field, as it does when
//! the file is applied with `kubectl apply -f`.

use serde_json::{Number, Value};

/// Typing rules for plain scalars.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Schema {
    /// YAML 1.2 core schema: scenario and suite files.
    Core,
    /// go-yaml v2, as `kubectl apply` reads manifests.
    Kubectl,
}

/// Types a plain scalar.
pub(crate) fn resolve(text: &str, schema: Schema) -> Value {
    match schema {
        Schema::Core => resolve_core(text),
        Schema::Kubectl => resolve_kubectl(text),
    }
}

/// Checks whether a plain scalar is null under either schema.
pub(crate) fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

fn resolve_core(text: &str) -> Value {
    if is_null(text) {
        return Value::Null;
    }
    match text {
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }

    let (negative, digits) = split_sign(text);
    let integer = if let Some(octal) = digits.strip_prefix("0o") {
        parse_radix(octal, 8)
    } else if let Some(hex) = digits.strip_prefix("0x") {
        parse_radix(hex, 16)
    } else if !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit()) {
        parse_radix(digits, 10)
    } else {
        None
    };
    if let Some(magnitude) = integer
        && let Some(number) = signed_number(negative, magnitude)
    {
        return Value::Number(number);
    }

    if is_yaml_float(text)
        && let Some(number) = text.parse::<f64>().ok().and_then(Number::from_f64)
    {
        return Value::Number(number);
    }
    Value::String(text.to_owned())
}

fn resolve_kubectl(text: &str) -> Value {
    if is_null(text) {
        return Value::Null;
    }
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Value::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Value::Bool(false);
        }
        _ => {}
    }

    // go-yaml v2 tries numbers only for scalars that start like one.
    if !text.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '.')) {
        return Value::String(text.to_owned());
    }
    let plain = text.replace('_', "");
    if let Some(number) = parse_go_integer(&plain) {
        return Value::Number(number);
    }
    if is_yaml_float(&plain)
        && let Ok(float) = plain.parse::<f64>()
    {
        return json_number_like_go(float)
            .map_or_else(|| Value::String(text.to_owned()), Value::Number);
    }
    Value::String(text.to_owned())
}

/// Go's `strconv.ParseInt(s, 0, 64)`, then `ParseUint`: a sign, then `0x`, `0o`, `0b` or a
/// leading `0` (octal) picks the base.
fn parse_go_integer(text: &str) -> Option<Number> {
    let (negative, digits) = split_sign(text);
    let lower = digits.to_ascii_lowercase();
    let magnitude = if let Some(hex) = lower.strip_prefix("0x") {
        parse_radix(hex, 16)
    } else if let Some(octal) = lower.strip_prefix("0o") {
        parse_radix(octal, 8)
    } else if let Some(binary) = lower.strip_prefix("0b") {
        parse_radix(binary, 2)
    } else if lower.len() > 1 && lower.starts_with('0') {
        parse_radix(&lower[1..], 8)
    } else {
        parse_radix(&lower, 10)
    }?;
    signed_number(negative, magnitude)
}

fn split_sign(text: &str) -> (bool, &str) {
    if let Some(rest) = text.strip_prefix('-') {
        (true, rest)
    } else {
        (false, text.strip_prefix('+').unwrap_or(text))
    }
}

fn parse_radix(digits: &str, radix: u32) -> Option<u64> {
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

fn signed_number(negative: bool, magnitude: u64) -> Option<Number> {
    if !negative {
        return Some(Number::from(magnitude));
    }
    i64::try_from(-i128::from(magnitude)).ok().map(Number::from)
}

/// go-yaml's float pattern: `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`.
fn is_yaml_float(text: &str) -> bool {
    let (_, rest) = split_sign(text);
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(index) => (&rest[..index], Some(&rest[index + 1..])),
        None => (rest, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", fraction)) => {
            !fraction.is_empty() && fraction.bytes().all(|b| b.is_ascii_digit())
        }
        Some((whole, fraction)) => {
            !whole.is_empty()
                && whole.bytes().all(|b| b.is_ascii_digit())
                && fraction.bytes().all(|b| b.is_ascii_digit())
        }
        None => !mantissa.is_empty() && mantissa.bytes().all(|b| b.is_ascii_digit()),
    };
    let exponent_ok = exponent.is_none_or(|exponent| {
        let (_, digits) = split_sign(exponent);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

/// Go's JSON encoder writes a float with an integral value without a fraction (`9`, not
/// `9.0`), which is what the API server receives from `kubectl`.
fn json_number_like_go(float: f64) -> Option<Number> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if float.fract() == 0.0 && float.abs() < EXACT {
        return Some(Number::from(float as i64));
    }
    Number::from_f64(float)
}

/// Converts a mapping key to a JSON object key. For a plain key, go-yaml types the key and
/// `kubectl` writes the typed value back as text, so `on:` becomes `"true"`.
pub(crate) fn key_text(text: &str, plain: bool, schema: Schema) -> String {
    if !plain {
        return text.to_owned();
    }
    match resolve(text, schema) {
        Value::String(text) => text,
        Value::Null => "null".to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    #[rstest]
    #[case::octal_file_mode("0644", json!(420))]
    #[case::explicit_octal("0o644", json!(420))]
    #[case::hex("0x1F", json!(31))]
    #[case::binary("0b101", json!(5))]
    #[case::underscores("1_000", json!(1000))]
    #[case::negative("-12", json!(-12))]
    #[case::leading_zero_not_octal("09", json!(9))]
    #[case::float("0.5", json!(0.5))]
    #[case::integral_float("1e3", json!(1000))]
    #[case::yes("yes", json!(true))]
    #[case::off("off", json!(false))]
    #[case::tilde("~", json!(null))]
    #[case::quantity("100m", json!("100m"))]
    #[case::version("1.25.3", json!("1.25.3"))]
    #[case::date("2024-01-01", json!("2024-01-01"))]
    #[case::image_tag("busybox:1.36", json!("busybox:1.36"))]
    fn kubectl_typing(#[case] text: &str, #[case] expected: Value) {
        assert_eq!(resolve(text, Schema::Kubectl), expected);
    }

    #[rstest]
    #[case::decimal("0644", json!(644))]
    #[case::octal("0o10", json!(8))]
    #[case::yes_is_text("yes", json!("yes"))]
    #[case::boolean("true", json!(true))]
    #[case::float("1.5", json!(1.5))]
    #[case::null("null", json!(null))]
    #[case::duration("90s", json!("90s"))]
    fn core_typing(#[case] text: &str, #[case] expected: Value) {
        assert_eq!(resolve(text, Schema::Core), expected);
    }

    #[rstest]
    #[case::on_key("on", true, "true")]
    #[case::quoted_on_key("on", false, "on")]
    #[case::number_key("0644", true, "420")]
    fn keys_as_text(#[case] text: &str, #[case] plain: bool, #[case] expected: &str) {
        assert_eq!(key_text(text, plain, Schema::Kubectl), expected);
    }
}
