//! `{NAME}` placeholders in request paths and expected JSON strings.
//!
//! `{NAME}` stands for the entity with symbolic name `NAME`; the runner replaces it with that
//! entity's id. `{{` and `}}` stand for literal braces. Any other brace is an error, so that a typo
//! never silently becomes text.

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

/// A placeholder syntax error: byte range within the template text and a message.
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
        let (mut parts, mut text, mut at) = (Vec::new(), String::new(), 0);
        while let Some(found) = raw[at..].find(['{', '}']) {
            let (i, brace) = (at + found, raw.as_bytes()[at + found] as char);
            text.push_str(&raw[at..i]);
            let after = &raw[i + 1..];
            if after.starts_with(brace) {
                // `{{` or `}}`: a literal brace.
                text.push(brace);
                at = i + 2;
                continue;
            }
            let error = |end: usize, message: &str| TemplateError {
                start: i,
                end,
                message: message.to_string(),
            };
            if brace == '}' {
                return Err(error(i + 1, "unmatched `}`; write `}}` for a literal `}`"));
            }
            let len = after
                .find(|c: char| !is_name_char(c))
                .unwrap_or(after.len());
            let closed = after[len..].starts_with('}');
            if len == 0 || !closed {
                let end = (i + 1 + len + usize::from(closed)).max(i + 1);
                return Err(error(
                    end,
                    "`{` must start a `{NAME}` placeholder (letters, digits, `-`, `_`, `.`); write `{{` for a literal `{`",
                ));
            }
            if !text.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut text)));
            }
            parts.push(Part::Name(after[..len].to_string()));
            at = i + len + 2;
        }
        text.push_str(&raw[at..]);
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        let raw = raw.to_string();
        Ok(Template { raw, parts })
    }

    /// The placeholder names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Name(n) => Some(n.as_str()),
            Part::Text(_) => None,
        })
    }

    /// Like [`Template::render`], but `lookup` also sees the text rendered so far, so a placeholder
    /// can resolve by its context (after `/bookings/`, a booking's name means the booking rather
    /// than its thread).
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

    /// Replaces each placeholder with `lookup(name)`. Fails with the first name `lookup` does not
    /// know.
    pub fn render(&self, mut lookup: impl FnMut(&str) -> Option<String>) -> Result<String, String> {
        self.render_with_context(|name, _| lookup(name))
    }
}

/// Replaces the placeholders of every string value (not object keys) of an expected JSON value.
/// Fails with the first unknown name. Strings were validated at parse time, so syntax errors cannot
/// occur for values taken from a [`Scenario`](super::Scenario); such a string is left unchanged.
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
