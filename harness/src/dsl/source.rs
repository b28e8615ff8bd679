//! Source files and positions in them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::NamedSource;

/// A position in a source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// Line, counted from 1.
    pub line: usize,
    /// Column in characters (as editors count them, not bytes), counted from 1.
    pub column: usize,
    /// Byte offset from the start of the file.
    pub offset: usize,
}

/// The text of a file with the byte offset of each line, shared by every problem found in it.
#[derive(Clone, Debug)]
pub(crate) struct SourceFile {
    path: PathBuf,
    text: Arc<str>,
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// Wraps file text. A leading byte order mark is dropped, as YAML parsers do, so offsets
    /// match what the parsers report.
    pub(crate) fn new(path: &Path, text: &str) -> Self {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(index, _)| index + 1))
            .collect();
        Self {
            path: path.to_path_buf(),
            text: Arc::from(text),
            line_starts,
        }
    }

    pub(crate) fn read(path: &Path) -> std::io::Result<Self> {
        let text = std::fs::read_to_string(path)?;
        Ok(Self::new(path, &text))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    pub(crate) fn shared_text(&self) -> Arc<str> {
        Arc::clone(&self.text)
    }

    /// Returns the text of a line (counted from 1) without its line break, or an empty string
    /// past the end.
    pub(crate) fn line_text(&self, line: usize) -> &str {
        let Some(&start) = self.line_starts.get(line.wrapping_sub(1)) else {
            return "";
        };
        let end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |next| next - 1);
        self.text[start..end].trim_end_matches('\r')
    }

    /// Finds the location of a line (from 1) and a column in characters (from 1). Positions past the
    /// end of a line or of the file are clamped to it, because parsers report end-of-input
    /// errors one past the last character.
    pub(crate) fn location(&self, line: usize, column: usize) -> Location {
        let line = line.clamp(1, self.line_starts.len());
        let start = self.line_starts[line - 1];
        let text = self.line_text(line);
        let within: usize = text
            .chars()
            .take(column.saturating_sub(1))
            .map(char::len_utf8)
            .sum();
        Location {
            line,
            column: column.max(1),
            offset: start + within,
        }
    }

    /// Finds the location of a byte offset.
    pub(crate) fn location_of_offset(&self, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let start = self.line_starts[line - 1];
        let column = self.text[start..offset].chars().count() + 1;
        Location {
            line,
            column,
            offset,
        }
    }

    /// Length in bytes of `chars` characters from `location`, stopping at the end of its line.
    pub(crate) fn span_length(&self, location: Location, chars: usize) -> usize {
        let rest = &self.text[location.offset..];
        let line = rest.split('\n').next().unwrap_or_default();
        line.chars().take(chars.max(1)).map(char::len_utf8).sum()
    }

    pub(crate) fn named_source(&self) -> NamedSource<Arc<str>> {
        NamedSource::new(self.path.display().to_string(), self.shared_text()).with_language("yaml")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_counts_characters_not_bytes() {
        let source = SourceFile::new(Path::new("a.yaml"), "a: 한국 # 주석\nb: 1\n");
        let location = source.location(1, 4);
        assert_eq!(location.offset, 3);
        let after = source.location(1, 6);
        assert_eq!(after.offset, 3 + 6);
        assert_eq!(source.location_of_offset(after.offset), after);
    }

    #[test]
    fn location_clamps_past_end() {
        let source = SourceFile::new(Path::new("a.yaml"), "a: [1\n");
        let location = source.location(5, 1);
        assert_eq!(location.line, 2);
        assert_eq!(location.offset, 6);
    }

    #[test]
    fn byte_order_mark_is_dropped() {
        let source = SourceFile::new(Path::new("a.yaml"), "\u{feff}a: 1\n");
        assert_eq!(source.text(), "a: 1\n");
    }
}
