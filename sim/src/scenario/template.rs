//! `{NAME}` placeholders in request paths and expected JSON strings.
//!
//! `{NAME}` stands for the entity with symbolic name `NAME`; the runner
//! replaces it with that entity's id. `{{` and `}}` stand for literal braces.
//! Any other brace is an error, so that a typo never silently becomes text.

use serde_json::Value;

/// One piece of a [`Template`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Part {
    /// Literal text (braces already unescaped).
    Text(String),
    /// A `{NAME}` placeholder.
    Name(String),
}

/// A string with `{NAME}` placeholders.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Template {
    /// The text as written.
    pub raw: String,
    /// The text split into literal parts and placeholders.
    pub parts: Vec<Part>,
}

/// A placeholder syntax error: byte range within the template text and a
/// message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateError {
    /// Byte offset of the offending text within the template.
    pub start: usize,
    /// Byte offset one past it.
    pub end: usize,
    /// What is wrong.
    pub message: String,
}

/// Whether `c` may appear in a symbolic name.
pub fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

impl Template {
    /// Splits `raw` into text and placeholders.
    pub fn parse(raw: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut chars = raw.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|p| p.1) == Some('{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek().map(|p| p.1) == Some('}') => {
                    chars.next();
                    text.push('}');
                }
                '{' => {
                    let rest = &raw[i + 1..];
                    let name_len = rest.find(|c: char| !is_name_char(c)).unwrap_or(rest.len());
                    if name_len > 0 && rest[name_len..].starts_with('}') {
                        if !text.is_empty() {
                            parts.push(Part::Text(std::mem::take(&mut text)));
                        }
                        parts.push(Part::Name(rest[..name_len].to_string()));
                        // Skip the name and the closing brace.
                        for _ in 0..=rest[..name_len].chars().count() {
                            chars.next();
                        }
                    } else {
                        let end = i + 1 + name_len + usize::from(rest[name_len..].starts_with('}'));
                        return Err(TemplateError {
                            start: i,
                            end: end.max(i + 1),
                            message: "`{` must start a `{NAME}` placeholder (letters, digits, `-`, `_`, `.`); write `{{` for a literal `{`".to_string(),
                        });
                    }
                }
                '}' => {
                    return Err(TemplateError {
                        start: i,
                        end: i + 1,
                        message: "unmatched `}`; write `}}` for a literal `}`".to_string(),
                    });
                }
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Template {
            raw: raw.to_string(),
            parts,
        })
    }

    /// The placeholder names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Name(n) => Some(n.as_str()),
            Part::Text(_) => None,
        })
    }

    /// Like [`Template::render`], but `lookup` also sees the text rendered so
    /// far, so a placeholder can resolve by its context (after `/bookings/`,
    /// a booking's name means the booking rather than its thread).
    pub fn render_with_context(
        &self,
        mut lookup: impl FnMut(&str, &str) -> Option<String>,
    ) -> Result<String, String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Name(n) => {
                    let value = lookup(n, &out).ok_or_else(|| n.clone())?;
                    out.push_str(&value);
                }
            }
        }
        Ok(out)
    }

    /// Replaces each placeholder with `lookup(name)`. Fails with the first
    /// name `lookup` does not know.
    pub fn render(&self, mut lookup: impl FnMut(&str) -> Option<String>) -> Result<String, String> {
        self.render_with_context(|name, _| lookup(name))
    }
}

/// Replaces the placeholders of every string value (not object keys) of an
/// expected JSON value. Fails with the first unknown name. Strings were
/// validated at parse time, so syntax errors cannot occur for values taken
/// from a [`Scenario`](super::Scenario); such a string is left unchanged.
pub fn render_json(
    value: &Value,
    lookup: &mut impl FnMut(&str) -> Option<String>,
) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) => match Template::parse(s) {
            Ok(t) => Value::String(t.render(&mut *lookup)?),
            Err(_) => value.clone(),
        },
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| render_json(v, lookup))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), render_json(v, lookup)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        let t = Template::parse("/api/threads/{walk-1}/x{{y}}").unwrap();
        assert_eq!(
            t.parts,
            vec![
                Part::Text("/api/threads/".into()),
                Part::Name("walk-1".into()),
                Part::Text("/x{y}".into()),
            ]
        );
        assert_eq!(
            t.render(|n| Some(format!("<{n}>"))).unwrap(),
            "/api/threads/<walk-1>/x{y}"
        );
        let e = Template::parse("/a/{b c}").unwrap_err();
        assert_eq!((e.start, e.end), (3, 5));
        assert!(Template::parse("x}").is_err());
        assert!(Template::parse("{").is_err());
        assert!(Template::parse("{}").is_err());
        assert!(Template::parse("é{ü}").is_err());
        assert_eq!(
            Template::parse("é{a}ü")
                .unwrap()
                .names()
                .collect::<Vec<_>>(),
            ["a"]
        );
    }
}
