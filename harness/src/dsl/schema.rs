//! JSON Schemas of scenario and suite files, for editors.
//!
//! The schemas are generated from the types and shipped as `schema/scenario.schema.json` and
//! `schema/suite.schema.json`. Editors that use yaml-language-server (such as the YAML
//! extension of VS Code) check and complete a file whose first line names the schema,
//! relative to the file:
//!
//! ```yaml
//! # yaml-language-server: $schema=../../schema/scenario.schema.json
//! name: job completions run one at a time
//! ```

use super::suite::Suite;
use super::types::Scenario;

/// Generates the JSON Schema of scenario files, pretty-printed with a final newline.
pub fn scenario_schema() -> String {
    pretty(&schemars::schema_for!(Scenario))
}

/// Generates the JSON Schema of suite files, pretty-printed with a final newline.
pub fn suite_schema() -> String {
    pretty(&schemars::schema_for!(Suite))
}

fn pretty(schema: &schemars::Schema) -> String {
    let mut text = serde_json::to_string_pretty(schema).expect("a schema serializes to JSON");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use rstest::rstest;

    use super::*;

    /// The shipped schemas must match the types. `KSPEC_UPDATE_SCHEMA=1` rewrites them.
    #[rstest]
    #[case::scenario("scenario.schema.json", scenario_schema())]
    #[case::suite("suite.schema.json", suite_schema())]
    fn shipped_schema_is_current(#[case] file: &str, #[case] generated: String) {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../schema")
            .join(file);
        if std::env::var_os("KSPEC_UPDATE_SCHEMA").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &generated).unwrap();
        }
        let shipped = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            shipped == generated,
            "{} differs from the schema generated from the types; regenerate it with \
             `KSPEC_UPDATE_SCHEMA=1 cargo test -p kspec --lib dsl::schema` (or `kspec schema`)",
            path.display()
        );
    }

    #[test]
    fn scenario_schema_names_steps() {
        let schema: serde_json::Value = serde_json::from_str(&scenario_schema()).unwrap();
        let text = schema.to_string();
        assert!(text.contains("\"expect-pods\""), "{text}");
        assert!(text.contains("\"wait\""), "{text}");
    }
}
