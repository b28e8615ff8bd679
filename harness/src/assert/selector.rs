//! Label selectors in the syntax `kubectl -l` takes.
//!
//! The grammar is the one of `labels.Parse` in k8s.io/apimachinery: comma-separated
//! requirements, each `key`, `!key`, `key=value`, `key==value`, `key!=value`,
//! `key in (a,b)`, `key notin (a,b)`, `key>N` or `key<N`. `!=` and `notin` also match objects
//! without the key, as they do in Kubernetes. An empty selector matches every object.

use std::fmt;

use serde_json::{Map, Value};

/// A parse error that names the selector and the token at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid label selector `{selector}`: {problem}")]
pub struct SelectorError {
    pub selector: String,
    pub problem: String,
}

/// A parsed label selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelSelector {
    text: String,
    requirements: Vec<Requirement>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Requirement {
    key: String,
    operator: Operator,
    values: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operator {
    Exists,
    DoesNotExist,
    Equals,
    NotEquals,
    In,
    NotIn,
    GreaterThan,
    LessThan,
}

impl LabelSelector {
    /// Parses a selector such as `app=web,tier in (frontend,cache),!canary`.
    pub fn parse(text: &str) -> Result<Self, SelectorError> {
        let fail = |problem: String| SelectorError {
            selector: text.to_owned(),
            problem,
        };
        let tokens = tokenize(text);
        let requirements = Parser { tokens, next: 0 }.selector().map_err(fail)?;
        Ok(Self {
            text: text.to_owned(),
            requirements,
        })
    }

    /// Checks whether labels satisfy every requirement.
    pub fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        self.requirements
            .iter()
            .all(|requirement| requirement.matches(labels))
    }
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Requirement {
    fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        let value = labels
            .and_then(|labels| labels.get(&self.key))
            .map(|value| value.as_str().unwrap_or_default());
        match (self.operator, value) {
            (Operator::Exists, found) => found.is_some(),
            (Operator::DoesNotExist, found) => found.is_none(),
            (Operator::Equals | Operator::In, Some(found)) => {
                self.values.iter().any(|v| v == found)
            }
            (Operator::Equals | Operator::In, None) => false,
            (Operator::NotEquals | Operator::NotIn, Some(found)) => {
                self.values.iter().all(|v| v != found)
            }
            (Operator::NotEquals | Operator::NotIn, None) => true,
            (Operator::GreaterThan | Operator::LessThan, None) => false,
            (Operator::GreaterThan | Operator::LessThan, Some(found)) => {
                let Ok(found) = found.parse::<i64>() else {
                    return false;
                };
                let bound: i64 = self.values[0].parse().unwrap_or_default();
                if self.operator == Operator::GreaterThan {
                    found > bound
                } else {
                    found < bound
                }
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Identifier(String),
    Not,
    Equals,
    DoubleEquals,
    NotEquals,
    GreaterThan,
    LessThan,
    OpenParen,
    CloseParen,
    Comma,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Token::Identifier(text) => text,
            Token::Not => "!",
            Token::Equals => "=",
            Token::DoubleEquals => "==",
            Token::NotEquals => "!=",
            Token::GreaterThan => ">",
            Token::LessThan => "<",
            Token::OpenParen => "(",
            Token::CloseParen => ")",
            Token::Comma => ",",
        };
        write!(f, "`{text}`")
    }
}

/// A token with its 1-based column in the selector, for error messages.
type Spanned = (Token, usize);

fn is_special(c: char) -> bool {
    matches!(c, '=' | '!' | '(' | ')' | ',' | '<' | '>') || c.is_whitespace()
}

fn tokenize(text: &str) -> Vec<Spanned> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut index = 0;
    while index < chars.len() {
        let column = index + 1;
        let c = chars[index];
        let next = chars.get(index + 1).copied();
        let (token, width) = match (c, next) {
            (c, _) if c.is_whitespace() => {
                index += 1;
                continue;
            }
            ('=', Some('=')) => (Token::DoubleEquals, 2),
            ('=', _) => (Token::Equals, 1),
            ('!', Some('=')) => (Token::NotEquals, 2),
            ('!', _) => (Token::Not, 1),
            ('>', _) => (Token::GreaterThan, 1),
            ('<', _) => (Token::LessThan, 1),
            ('(', _) => (Token::OpenParen, 1),
            (')', _) => (Token::CloseParen, 1),
            (',', _) => (Token::Comma, 1),
            _ => {
                let end = chars[index..]
                    .iter()
                    .position(|&c| is_special(c))
                    .map_or(chars.len(), |offset| index + offset);
                let word: String = chars[index..end].iter().collect();
                (Token::Identifier(word), end - index)
            }
        };
        tokens.push((token, column));
        index += width;
    }
    tokens
}

struct Parser {
    tokens: Vec<Spanned>,
    next: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Spanned> {
        self.tokens.get(self.next)
    }

    fn advance(&mut self) -> Option<Spanned> {
        let token = self.tokens.get(self.next).cloned();
        self.next += 1;
        token
    }

    fn found(&self) -> String {
        match self.peek() {
            Some((token, column)) => format!("found {token} at column {column}"),
            None => "found the end of the selector".to_owned(),
        }
    }

    fn at_requirement_end(&self) -> bool {
        matches!(self.peek(), None | Some((Token::Comma, _)))
    }

    fn selector(&mut self) -> Result<Vec<Requirement>, String> {
        let mut requirements = Vec::new();
        if self.tokens.is_empty() {
            return Ok(requirements);
        }
        loop {
            requirements.push(self.requirement()?);
            match self.advance() {
                None => return Ok(requirements),
                Some((Token::Comma, _)) => {}
                Some((token, column)) => {
                    return Err(format!(
                        "expected `,` or the end of the selector, found {token} at column {column}"
                    ));
                }
            }
        }
    }

    fn requirement(&mut self) -> Result<Requirement, String> {
        if matches!(self.peek(), Some((Token::Not, _))) {
            self.advance();
            let key = self.key()?;
            return Ok(Requirement {
                key,
                operator: Operator::DoesNotExist,
                values: Vec::new(),
            });
        }

        let key = self.key()?;
        if self.at_requirement_end() {
            return Ok(Requirement {
                key,
                operator: Operator::Exists,
                values: Vec::new(),
            });
        }

        let operator = match self.advance() {
            Some((Token::Equals | Token::DoubleEquals, _)) => Operator::Equals,
            Some((Token::NotEquals, _)) => Operator::NotEquals,
            Some((Token::GreaterThan, _)) => Operator::GreaterThan,
            Some((Token::LessThan, _)) => Operator::LessThan,
            Some((Token::Identifier(word), _)) if word == "in" => Operator::In,
            Some((Token::Identifier(word), _)) if word == "notin" => Operator::NotIn,
            Some((token, column)) => {
                return Err(format!(
                    "expected an operator (=, ==, !=, in, notin, >, <) after `{key}`, \
                     found {token} at column {column}"
                ));
            }
            None => unreachable!("at_requirement_end handles the end of the selector"),
        };

        let values = match operator {
            Operator::In | Operator::NotIn => self.value_set(&key)?,
            _ => vec![self.exact_value()?],
        };
        let requirement = Requirement {
            key,
            operator,
            values,
        };
        validate_values(&requirement)?;
        Ok(requirement)
    }

    fn key(&mut self) -> Result<String, String> {
        match self.peek() {
            Some((Token::Identifier(word), column)) => {
                let (word, column) = (word.clone(), *column);
                validate_key(&word).map_err(|problem| {
                    format!("invalid label key `{word}` at column {column}: {problem}")
                })?;
                self.advance();
                Ok(word)
            }
            _ => Err(format!("expected a label key, {}", self.found())),
        }
    }

    /// Parses the value after `=`, `==`, `!=`, `>` or `<`. Nothing before `,` or the end means
    /// the empty value.
    fn exact_value(&mut self) -> Result<String, String> {
        if self.at_requirement_end() {
            return Ok(String::new());
        }
        match self.peek() {
            Some((Token::Identifier(word), column)) => {
                let (word, column) = (word.clone(), *column);
                validate_value(&word).map_err(|problem| {
                    format!("invalid label value `{word}` at column {column}: {problem}")
                })?;
                self.advance();
                Ok(word)
            }
            _ => Err(format!("expected a label value, {}", self.found())),
        }
    }

    /// Parses the parenthesised list after `in` or `notin`.
    fn value_set(&mut self, key: &str) -> Result<Vec<String>, String> {
        if !matches!(self.peek(), Some((Token::OpenParen, _))) {
            return Err(format!(
                "expected `(` after the operator of `{key}`, {}",
                self.found()
            ));
        }
        self.advance();

        let mut values = Vec::new();
        loop {
            match self.advance() {
                Some((Token::Identifier(word), column)) => {
                    validate_value(&word).map_err(|problem| {
                        format!("invalid label value `{word}` at column {column}: {problem}")
                    })?;
                    values.push(word);
                    match self.advance() {
                        Some((Token::Comma, _)) => {}
                        Some((Token::CloseParen, _)) => break,
                        Some((token, column)) => {
                            return Err(format!(
                                "expected `,` or `)` in the values of `{key}`, \
                                 found {token} at column {column}"
                            ));
                        }
                        None => {
                            return Err(format!("missing `)` after the values of `{key}`"));
                        }
                    }
                }
                Some((Token::CloseParen, _)) => break,
                Some((token, column)) => {
                    return Err(format!(
                        "expected a value in the values of `{key}`, \
                         found {token} at column {column}"
                    ));
                }
                None => return Err(format!("missing `)` after the values of `{key}`")),
            }
        }
        if values.is_empty() {
            return Err(format!(
                "`{key}` needs at least one value between the parentheses"
            ));
        }
        Ok(values)
    }
}

fn validate_values(requirement: &Requirement) -> Result<(), String> {
    if matches!(
        requirement.operator,
        Operator::GreaterThan | Operator::LessThan
    ) && requirement.values[0].parse::<i64>().is_err()
    {
        return Err(format!(
            "`{}` compares with `>` or `<`, which needs an integer, not `{}`",
            requirement.key, requirement.values[0]
        ));
    }
    Ok(())
}

/// Checks a label key: an optional DNS subdomain prefix and `/`, then a name of at most 63
/// characters of alphanumerics, `-`, `_` and `.` that starts and ends alphanumeric.
fn validate_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        let valid_prefix = !prefix.is_empty()
            && prefix.len() <= 253
            && prefix.split('.').all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && !part.starts_with('-')
                    && !part.ends_with('-')
            });
        if !valid_prefix {
            return Err("the prefix before `/` must be a DNS subdomain".to_owned());
        }
    }
    if name.is_empty() || !is_label_name(name) {
        return Err(
            "the name must be 1 to 63 alphanumerics, `-`, `_` or `.`, starting and ending \
             alphanumeric"
                .to_owned(),
        );
    }
    Ok(())
}

fn validate_value(value: &str) -> Result<(), String> {
    if value.is_empty() || is_label_name(value) {
        Ok(())
    } else {
        Err(
            "a value must be empty or 1 to 63 alphanumerics, `-`, `_` or `.`, starting and \
             ending alphanumeric"
                .to_owned(),
        )
    }
}

fn is_label_name(text: &str) -> bool {
    let alphanumeric_ends = text.starts_with(|c: char| c.is_ascii_alphanumeric())
        && text.ends_with(|c: char| c.is_ascii_alphanumeric());
    text.len() <= 63
        && alphanumeric_ends
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests;
