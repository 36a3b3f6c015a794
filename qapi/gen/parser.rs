//! Reader for QAPI's schema language.
//!
//! A schema file is a sequence of top-level objects written in a JSON
//! dialect: strings are single-quoted, `#` starts a comment that runs to the
//! end of the line, and the only scalars are strings and `true`/`false`.
//! This module turns the text into [`SchemaValue`] trees; giving them a
//! meaning (commands, structs, ...) is `model.rs`'s job.

use std::fmt;
use std::path::{Path, PathBuf};

/// One value of the schema language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaValue {
    Str(String),
    Bool(bool),
    List(Vec<SchemaValue>),
    /// Keys in the order written; the schema language gives order meaning
    /// (members are visited and introspected in that order).
    Dict(Vec<(String, SchemaValue)>),
}

impl SchemaValue {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            SchemaValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value under `key` when this is a dictionary.
    pub fn get(&self, key: &str) -> Option<&SchemaValue> {
        match self {
            SchemaValue::Dict(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// A top-level expression, the line it starts on (for messages) and the
/// documentation block before it: the lines between `##` markers, without
/// their leading `# `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaExpr {
    pub line: usize,
    pub value: SchemaValue,
    pub doc: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// Parses a whole schema file into its top-level expressions.
pub fn parse_schema(text: &str) -> Result<Vec<SchemaExpr>, ParseError> {
    let mut parser = Parser {
        chars: text.chars().collect(),
        pos: 0,
        line: 1,
        column: 1,
    };
    let mut exprs = Vec::new();
    loop {
        let doc = parser.skip_top_level_comments();
        if parser.peek().is_none() {
            return Ok(exprs);
        }
        let line = parser.line;
        if parser.peek() != Some('{') {
            return Err(parser.error("expected '{' at the start of an expression"));
        }
        let value = parser.value()?;
        exprs.push(SchemaExpr { line, value, doc });
    }
}

/// Reads schema file `file` with, in place of each `{ 'include': ... }`,
/// the expressions of the file it names (relative to the including file),
/// as QEMU's generator does. Each expression comes with its file.
pub fn read_schema_file(file: &Path) -> Result<Vec<(PathBuf, SchemaExpr)>, String> {
    let mut out = Vec::new();
    read_into(file, &mut Vec::new(), &mut out)?;
    Ok(out)
}

fn read_into(
    file: &Path,
    including: &mut Vec<PathBuf>,
    out: &mut Vec<(PathBuf, SchemaExpr)>,
) -> Result<(), String> {
    if including.iter().any(|f| f == file) {
        return Err(format!("{}: included recursively", file.display()));
    }
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let exprs = parse_schema(&text).map_err(|e| format!("{}:{e}", file.display()))?;
    including.push(file.to_path_buf());
    for expr in exprs {
        match expr.value.get("include") {
            Some(SchemaValue::Str(name)) => {
                let path = file.parent().unwrap_or(Path::new(".")).join(name);
                read_into(&path, including, out)?;
            }
            Some(_) => {
                return Err(format!(
                    "{}:{}: 'include' must name a file",
                    file.display(),
                    expr.line
                ))
            }
            None => out.push((file.to_path_buf(), expr)),
        }
    }
    including.pop();
    Ok(())
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    column: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn error(&self, message: &str) -> ParseError {
        ParseError {
            line: self.line,
            column: self.column,
            message: message.to_string(),
        }
    }

    /// The rest of the current line, consumed with its newline.
    fn rest_of_line(&mut self) -> String {
        let mut line = String::new();
        while let Some(c) = self.bump() {
            if c == '\n' {
                break;
            }
            line.push(c);
        }
        line
    }

    /// Skips blanks and comments between expressions and returns the last
    /// documentation block (`##` ... `##`) among them.
    fn skip_top_level_comments(&mut self) -> Vec<String> {
        let mut doc = Vec::new();
        let mut in_doc = false;
        while let Some(c) = self.peek() {
            if c == '#' {
                let line = self.rest_of_line();
                if line.trim_end() == "##" {
                    if !in_doc {
                        doc.clear();
                    }
                    in_doc = !in_doc;
                } else if in_doc {
                    let text = line.strip_prefix('#').unwrap_or(&line);
                    doc.push(
                        text.strip_prefix(' ')
                            .unwrap_or(text)
                            .trim_end()
                            .to_string(),
                    );
                }
            } else if c.is_whitespace() {
                self.bump();
            } else {
                break;
            }
        }
        doc
    }

    /// Skips whitespace and `#` comments.
    fn skip_blanks(&mut self) {
        while let Some(c) = self.peek() {
            if c == '#' {
                while let Some(c) = self.bump() {
                    if c == '\n' {
                        break;
                    }
                }
            } else if c.is_whitespace() {
                self.bump();
            } else {
                break;
            }
        }
    }

    fn expect(&mut self, wanted: char) -> Result<(), ParseError> {
        self.skip_blanks();
        if self.peek() == Some(wanted) {
            self.bump();
            Ok(())
        } else {
            Err(self.error(&format!("expected '{wanted}'")))
        }
    }

    fn value(&mut self) -> Result<SchemaValue, ParseError> {
        self.skip_blanks();
        match self.peek() {
            Some('{') => self.dict(),
            Some('[') => self.list(),
            Some('\'') => Ok(SchemaValue::Str(self.string()?)),
            Some(c) if c.is_ascii_alphabetic() => self.keyword(),
            Some(_) => Err(self.error("expected a value")),
            None => Err(self.error("unexpected end of input")),
        }
    }

    fn keyword(&mut self) -> Result<SchemaValue, ParseError> {
        let start = (self.line, self.column);
        let mut word = String::new();
        while let Some(c) = self.peek().filter(char::is_ascii_alphanumeric) {
            word.push(c);
            self.bump();
        }
        match word.as_str() {
            "true" => Ok(SchemaValue::Bool(true)),
            "false" => Ok(SchemaValue::Bool(false)),
            _ => Err(ParseError {
                line: start.0,
                column: start.1,
                message: format!("unknown keyword '{word}'"),
            }),
        }
    }

    fn string(&mut self) -> Result<String, ParseError> {
        self.bump(); // the opening quote
        let mut s = String::new();
        loop {
            match self.bump() {
                Some('\'') => return Ok(s),
                Some('\\') => match self.bump() {
                    Some(c @ ('\\' | '\'')) => s.push(c),
                    _ => return Err(self.error("unknown escape in string")),
                },
                Some('\n') | None => return Err(self.error("unterminated string")),
                Some(c) => s.push(c),
            }
        }
    }

    fn list(&mut self) -> Result<SchemaValue, ParseError> {
        self.bump(); // '['
        let mut items = Vec::new();
        self.skip_blanks();
        if self.peek() == Some(']') {
            self.bump();
            return Ok(SchemaValue::List(items));
        }
        loop {
            items.push(self.value()?);
            self.skip_blanks();
            match self.bump() {
                Some(',') => continue,
                Some(']') => return Ok(SchemaValue::List(items)),
                _ => return Err(self.error("expected ',' or ']'")),
            }
        }
    }

    fn dict(&mut self) -> Result<SchemaValue, ParseError> {
        self.bump(); // '{'
        let mut entries: Vec<(String, SchemaValue)> = Vec::new();
        self.skip_blanks();
        if self.peek() == Some('}') {
            self.bump();
            return Ok(SchemaValue::Dict(entries));
        }
        loop {
            self.skip_blanks();
            if self.peek() != Some('\'') {
                return Err(self.error("expected a string key"));
            }
            let key = self.string()?;
            if entries.iter().any(|(k, _)| *k == key) {
                return Err(self.error(&format!("duplicate key '{key}'")));
            }
            self.expect(':')?;
            let value = self.value()?;
            entries.push((key, value));
            self.skip_blanks();
            match self.bump() {
                Some(',') => continue,
                Some('}') => return Ok(SchemaValue::Dict(entries)),
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> SchemaValue {
        SchemaValue::Str(text.to_string())
    }

    #[test]
    fn comments_quotes_and_nesting() {
        let text = "\
##
# @Foo:
# A 'quoted' word and a brace { in a comment
##
{ 'struct': 'Foo', # trailing comment with 'quote'
  'data': { 'a#b': 'str', '*opt': ['int'],
            'esc': 'it\\'s' },
  'features': [ { 'name': 'deprecated' } ],
  'if': true }
{'command':'c','allow-oob':false}";
        let exprs = parse_schema(text).unwrap();
        assert_eq!(exprs.len(), 2);
        assert_eq!(exprs[0].line, 5);
        assert_eq!(exprs[1].line, 10);
        let foo = &exprs[0].value;
        assert_eq!(foo.get("struct"), Some(&s("Foo")));
        assert_eq!(
            foo.get("data"),
            Some(&SchemaValue::Dict(vec![
                ("a#b".to_string(), s("str")),
                ("*opt".to_string(), SchemaValue::List(vec![s("int")])),
                ("esc".to_string(), s("it's")),
            ]))
        );
        assert_eq!(
            foo.get("features"),
            Some(&SchemaValue::List(vec![SchemaValue::Dict(vec![(
                "name".to_string(),
                s("deprecated")
            )])]))
        );
        assert_eq!(foo.get("if"), Some(&SchemaValue::Bool(true)));
        assert_eq!(
            exprs[1].value.get("allow-oob"),
            Some(&SchemaValue::Bool(false))
        );
    }

    #[test]
    fn includes_are_read_in_place_relative_to_the_includer() {
        let dir = std::env::temp_dir().join(format!("qapi-include-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(
            dir.join("main.json"),
            "{ 'enum': 'A', 'data': [] }\n{ 'include': 'sub/b.json' }\n{ 'enum': 'C', 'data': [] }",
        )
        .unwrap();
        std::fs::write(
            dir.join("sub/b.json"),
            "# the included file\n{ 'enum': 'B', 'data': [] }",
        )
        .unwrap();
        std::fs::write(dir.join("loop.json"), "{ 'include': 'loop.json' }").unwrap();
        let exprs = read_schema_file(&dir.join("main.json")).unwrap();
        let names: Vec<_> = exprs
            .iter()
            .map(|(_, e)| e.value.get("enum").cloned())
            .collect();
        assert_eq!(names, [Some(s("A")), Some(s("B")), Some(s("C"))]);
        assert_eq!(exprs[1].0, dir.join("sub/b.json"));
        assert_eq!(exprs[1].1.line, 2);
        let err = read_schema_file(&dir.join("loop.json")).unwrap_err();
        assert!(err.ends_with("included recursively"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn empty_containers() {
        let exprs = parse_schema("{ 'struct': 'E', 'data': {} , 'x': [ ] }").unwrap();
        assert_eq!(exprs[0].value.get("data"), Some(&SchemaValue::Dict(vec![])));
        assert_eq!(exprs[0].value.get("x"), Some(&SchemaValue::List(vec![])));
    }

    #[test]
    fn errors_name_line_and_column() {
        let err = parse_schema("{ 'a': 'b',\n  'c': \"d\" }").unwrap_err();
        assert_eq!((err.line, err.column), (2, 8));
        assert_eq!(err.message, "expected a value");

        let err = parse_schema("{ 'a': 'b', 'a': 'c' }").unwrap_err();
        assert_eq!(err.message, "duplicate key 'a'");

        let err = parse_schema("{ 'a': 'unterminated\n' }").unwrap_err();
        assert_eq!(err.message, "unterminated string");

        let err = parse_schema("{ 'a': null }").unwrap_err();
        assert_eq!(err.message, "unknown keyword 'null'");

        let err = parse_schema("['top-level list']").unwrap_err();
        assert_eq!(err.line, 1);

        let err = parse_schema("{ 'a': ['x' 'y'] }").unwrap_err();
        assert_eq!(err.message, "expected ',' or ']'");

        let err = parse_schema("{ 'a': 'b' ").unwrap_err();
        assert_eq!(err.message, "expected ',' or '}'");
    }
}
