//! The meaning of a parsed schema: types, commands and events, with every
//! reference checked and every implicit type made explicit, as QEMU's
//! `scripts/qapi/schema.py` sees them.
//!
//! Implicit types get QEMU's internal names (`q_obj_<name>-arg`,
//! `q_obj_<name>-base`, `q_empty`) so that introspection numbers the same
//! things QEMU numbers.

use std::collections::{BTreeMap, HashSet};

use super::parser::{SchemaExpr, SchemaValue};

/// The name QEMU gives the object without members.
pub const EMPTY_OBJECT: &str = "q_empty";

/// The built-in types and the JSON type introspection reports for each.
pub const BUILTINS: &[(&str, &str)] = &[
    ("str", "string"),
    ("number", "number"),
    ("int", "int"),
    ("int8", "int"),
    ("int16", "int"),
    ("int32", "int"),
    ("int64", "int"),
    ("uint8", "int"),
    ("uint16", "int"),
    ("uint32", "int"),
    ("uint64", "int"),
    ("size", "int"),
    ("bool", "boolean"),
    ("null", "null"),
    ("any", "value"),
];

/// The documentation of a definition, from its `##` block: the
/// definition's own text and one text per documented member (or enum
/// value), as `@name: text` lines write them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Doc {
    pub text: Vec<String>,
    pub members: Vec<(String, String)>,
}

impl Doc {
    /// Reads a block: an optional `@Name:` header, free text, `@member:
    /// text` sections (continued by indented lines), and a `Features:`
    /// section whose entries document features, not members.
    pub fn parse(lines: &[String]) -> Doc {
        let mut doc = Doc::default();
        let mut lines = lines.iter().map(String::as_str).peekable();
        if lines
            .peek()
            .is_some_and(|l| l.starts_with('@') && l.ends_with(':') && !l.contains(' '))
        {
            lines.next();
        }
        let mut in_features = false;
        let mut current: Option<usize> = None;
        for line in lines {
            if line.trim().is_empty() {
                // A blank line ends a member's text or separates paragraphs.
                if current.is_none() && !in_features && !doc.text.is_empty() {
                    doc.text.push(String::new());
                }
                current = None;
            } else if line == "Features:" {
                in_features = true;
                current = None;
            } else if let Some((name, text)) =
                line.strip_prefix('@').and_then(|l| l.split_once(':'))
            {
                if in_features {
                    current = None;
                } else {
                    doc.members
                        .push((name.to_string(), text.trim().to_string()));
                    current = Some(doc.members.len() - 1);
                }
            } else if let Some(i) = current.filter(|_| line.starts_with(' ')) {
                let text = &mut doc.members[i].1;
                text.push(' ');
                text.push_str(line.trim());
            } else if !in_features {
                current = None;
                doc.text.push(line.to_string());
            }
        }
        // Trailing blank lines of the free text say nothing.
        while doc.text.last().is_some_and(|l| l.trim().is_empty()) {
            doc.text.pop();
        }
        doc
    }

    pub fn member(&self, name: &str) -> Option<&str> {
        self.members
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.as_str())
    }
}

/// A reference to a type from a member, a return or an array.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TypeRef {
    Named(String),
    /// `['T']`: QEMU allows only a named element type.
    Array(String),
}

#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    pub ty: TypeRef,
    pub optional: bool,
    pub features: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Variant {
    /// The discriminator value (or, for alternates, the branch name).
    pub case: String,
    pub ty: TypeRef,
}

#[derive(Debug, Clone)]
pub struct EnumValue {
    pub name: String,
    pub features: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum TypeKind {
    Builtin {
        json_type: &'static str,
    },
    Enum {
        values: Vec<EnumValue>,
    },
    /// Structs and unions: `members` already include the base's members.
    Object {
        members: Vec<Member>,
        /// Unions: the discriminator member and one variant per enum value
        /// (values the schema does not list get [`EMPTY_OBJECT`]).
        union: Option<(String, Vec<Variant>)>,
    },
    Alternate {
        variants: Vec<Variant>,
    },
}

#[derive(Debug, Clone)]
pub struct TypeDef {
    pub name: String,
    pub kind: TypeKind,
    pub features: Vec<String>,
    /// Made from inline `data` or `base`, not named in the schema.
    pub implicit: bool,
    pub doc: Doc,
}

#[derive(Debug, Clone)]
pub struct Command {
    pub name: String,
    /// The object type of the arguments, if any.
    pub args: Option<String>,
    /// The handler receives the argument object whole instead of its members.
    pub boxed: bool,
    pub returns: Option<TypeRef>,
    pub allow_oob: bool,
    pub allow_preconfig: bool,
    pub features: Vec<String>,
    pub doc: Doc,
}

#[derive(Debug, Clone)]
pub struct Event {
    pub name: String,
    pub args: Option<String>,
    pub features: Vec<String>,
    pub doc: Doc,
}

#[derive(Debug, Clone)]
pub enum Entity {
    Command(Command),
    Event(Event),
}

/// The whole schema, checked.
#[derive(Debug, Default)]
pub struct Schema {
    pub types: BTreeMap<String, TypeDef>,
    /// Commands and events in the order the schema defines them.
    pub entities: Vec<Entity>,
    /// Named types in definition order.
    pub type_order: Vec<String>,
}

impl Schema {
    pub fn commands(&self) -> impl Iterator<Item = &Command> {
        self.entities.iter().filter_map(|e| match e {
            Entity::Command(c) => Some(c),
            Entity::Event(_) => None,
        })
    }

    pub fn events(&self) -> impl Iterator<Item = &Event> {
        self.entities.iter().filter_map(|e| match e {
            Entity::Event(ev) => Some(ev),
            Entity::Command(_) => None,
        })
    }

    pub fn object_members(&self, name: &str) -> &[Member] {
        match self.types.get(name).map(|t| &t.kind) {
            Some(TypeKind::Object { members, .. }) => members,
            _ => &[],
        }
    }
}

/// A schema error: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    pub line: usize,
    pub message: String,
}

/// Builds the checked schema from the expressions of all files, in order.
pub fn build_schema(exprs: &[SchemaExpr]) -> Result<Schema, SchemaError> {
    let mut builder = Builder::default();
    for (name, json_type) in BUILTINS {
        builder.add_type(
            0,
            TypeDef {
                name: name.to_string(),
                kind: TypeKind::Builtin { json_type },
                features: Vec::new(),
                implicit: false,
                doc: Doc::default(),
            },
        )?;
    }
    builder.add_type(
        0,
        TypeDef {
            name: EMPTY_OBJECT.to_string(),
            kind: TypeKind::Object {
                members: Vec::new(),
                union: None,
            },
            features: Vec::new(),
            implicit: true,
            doc: Doc::default(),
        },
    )?;
    for expr in exprs {
        builder.expression(expr)?;
    }
    builder.resolve()?;
    Ok(builder.schema)
}

/// A union as written, resolved once every type is known.
struct PendingUnion {
    line: usize,
    name: String,
    base: String,
    discriminator: String,
    variants: Vec<(String, String)>,
}

/// A struct whose `base` is resolved once every type is known.
struct PendingStruct {
    line: usize,
    name: String,
    base: String,
}

#[derive(Default)]
struct Builder {
    schema: Schema,
    unions: Vec<PendingUnion>,
    struct_bases: Vec<PendingStruct>,
    /// Every type reference with the line it appears on, checked at the end.
    references: Vec<(usize, String)>,
}

fn err<T>(line: usize, message: impl Into<String>) -> Result<T, SchemaError> {
    Err(SchemaError {
        line,
        message: message.into(),
    })
}

fn str_of<'a>(line: usize, value: &'a SchemaValue, what: &str) -> Result<&'a str, SchemaError> {
    value
        .as_str()
        .map_or_else(|| err(line, format!("{what} must be a string")), Ok)
}

fn bool_key(line: usize, expr: &SchemaValue, key: &str) -> Result<bool, SchemaError> {
    match expr.get(key) {
        None => Ok(false),
        Some(SchemaValue::Bool(b)) => Ok(*b),
        Some(_) => err(line, format!("'{key}' must be a boolean")),
    }
}

/// `features` as written: names or `{ 'name': ... }` objects.
fn features(line: usize, value: Option<&SchemaValue>) -> Result<Vec<String>, SchemaError> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let SchemaValue::List(items) = value else {
        return err(line, "'features' must be an array");
    };
    items
        .iter()
        .map(|item| match item {
            SchemaValue::Str(name) => Ok(name.clone()),
            dict @ SchemaValue::Dict(_) => match dict.get("name") {
                Some(SchemaValue::Str(name)) => Ok(name.clone()),
                _ => err(line, "a feature needs a 'name'"),
            },
            _ => err(line, "a feature must be a string or an object"),
        })
        .collect()
}

fn check_keys(line: usize, expr: &SchemaValue, allowed: &[&str]) -> Result<(), SchemaError> {
    if let SchemaValue::Dict(entries) = expr {
        for (key, _) in entries {
            if !allowed.contains(&key.as_str()) {
                return err(line, format!("unknown key '{key}'"));
            }
        }
    }
    Ok(())
}

impl Builder {
    fn add_type(&mut self, line: usize, def: TypeDef) -> Result<(), SchemaError> {
        if self.schema.types.contains_key(&def.name) {
            return err(line, format!("type '{}' is defined twice", def.name));
        }
        if !def.implicit {
            self.schema.type_order.push(def.name.clone());
        }
        self.schema.types.insert(def.name.clone(), def);
        Ok(())
    }

    fn type_ref(&mut self, line: usize, value: &SchemaValue) -> Result<TypeRef, SchemaError> {
        match value {
            SchemaValue::Str(name) => {
                self.references.push((line, name.clone()));
                Ok(TypeRef::Named(name.clone()))
            }
            SchemaValue::List(items) => match items.as_slice() {
                [SchemaValue::Str(name)] => {
                    self.references.push((line, name.clone()));
                    Ok(TypeRef::Array(name.clone()))
                }
                _ => err(line, "an array type must name exactly one element type"),
            },
            _ => err(line, "a type must be a name or a one-element array"),
        }
    }

    /// Members written as `{ 'name': 'T', '*opt': 'T', 'x': { 'type': 'T',
    /// 'features': [...] } }`.
    fn members(&mut self, line: usize, value: &SchemaValue) -> Result<Vec<Member>, SchemaError> {
        let SchemaValue::Dict(entries) = value else {
            return err(line, "members must be an object");
        };
        let mut members = Vec::new();
        for (key, spec) in entries {
            let (name, optional) = match key.strip_prefix('*') {
                Some(name) => (name.to_string(), true),
                None => (key.clone(), false),
            };
            let (ty, member_features) = match spec {
                SchemaValue::Dict(_) => {
                    let ty = spec
                        .get("type")
                        .map_or_else(|| err(line, format!("member '{name}' needs a 'type'")), Ok)?;
                    (
                        self.type_ref(line, ty)?,
                        features(line, spec.get("features"))?,
                    )
                }
                _ => (self.type_ref(line, spec)?, Vec::new()),
            };
            members.push(Member {
                name,
                ty,
                optional,
                features: member_features,
            });
        }
        Ok(members)
    }

    /// The object type of a command's or event's `data`: a name, or inline
    /// members making the implicit type `q_obj_<owner>-arg`.
    fn arguments(
        &mut self,
        line: usize,
        owner: &str,
        doc: &Doc,
        data: Option<&SchemaValue>,
    ) -> Result<Option<String>, SchemaError> {
        match data {
            None => Ok(None),
            Some(SchemaValue::Str(name)) => {
                self.references.push((line, name.clone()));
                Ok(Some(name.clone()))
            }
            Some(value) => {
                let members = self.members(line, value)?;
                if members.is_empty() {
                    return Ok(None);
                }
                let name = format!("q_obj_{owner}-arg");
                self.add_type(
                    line,
                    TypeDef {
                        name: name.clone(),
                        kind: TypeKind::Object {
                            members,
                            union: None,
                        },
                        features: Vec::new(),
                        implicit: true,
                        doc: doc.clone(),
                    },
                )?;
                Ok(Some(name))
            }
        }
    }

    fn expression(&mut self, expr: &SchemaExpr) -> Result<(), SchemaError> {
        let line = expr.line;
        let value = &expr.value;
        let meta = [
            "command",
            "event",
            "struct",
            "enum",
            "union",
            "alternate",
            "include",
            "pragma",
        ]
        .into_iter()
        .find(|m| value.get(m).is_some());
        let Some(meta) = meta else {
            return err(line, "expression lacks a meta-type key");
        };
        if meta == "include" || meta == "pragma" {
            // Inclusion is resolved by the caller reading the files; pragmas
            // only steer QEMU's own naming checks.
            return Ok(());
        }
        let name = str_of(
            line,
            value.get(meta).unwrap_or(&SchemaValue::Bool(false)),
            meta,
        )?
        .to_string();
        let feats = features(line, value.get("features"))?;
        let doc = Doc::parse(&expr.doc);
        match meta {
            "command" => {
                check_keys(
                    line,
                    value,
                    &[
                        "command",
                        "data",
                        "returns",
                        "boxed",
                        "allow-oob",
                        "allow-preconfig",
                        "coroutine",
                        "gen",
                        "success-response",
                        "features",
                        "if",
                    ],
                )?;
                let args = self.arguments(line, &name, &doc, value.get("data"))?;
                let returns = match value.get("returns") {
                    Some(r) => Some(self.type_ref(line, r)?),
                    None => None,
                };
                let command = Command {
                    name,
                    args,
                    boxed: bool_key(line, value, "boxed")?,
                    returns,
                    allow_oob: bool_key(line, value, "allow-oob")?,
                    allow_preconfig: bool_key(line, value, "allow-preconfig")?,
                    features: feats,
                    doc,
                };
                self.schema.entities.push(Entity::Command(command));
            }
            "event" => {
                check_keys(line, value, &["event", "data", "boxed", "features", "if"])?;
                let args = self.arguments(line, &name, &doc, value.get("data"))?;
                self.schema.entities.push(Entity::Event(Event {
                    name,
                    args,
                    features: feats,
                    doc,
                }));
            }
            "struct" => {
                check_keys(line, value, &["struct", "data", "base", "features", "if"])?;
                let members = match value.get("data") {
                    Some(data) => self.members(line, data)?,
                    None => Vec::new(),
                };
                if let Some(base) = value.get("base") {
                    let base = str_of(line, base, "'base'")?.to_string();
                    self.references.push((line, base.clone()));
                    self.struct_bases.push(PendingStruct {
                        line,
                        name: name.clone(),
                        base,
                    });
                }
                self.add_type(
                    line,
                    TypeDef {
                        name,
                        kind: TypeKind::Object {
                            members,
                            union: None,
                        },
                        features: feats,
                        implicit: false,
                        doc: doc.clone(),
                    },
                )?;
            }
            "enum" => {
                check_keys(line, value, &["enum", "data", "prefix", "features", "if"])?;
                let Some(SchemaValue::List(items)) = value.get("data") else {
                    return err(line, "an enum needs a 'data' array");
                };
                let mut values = Vec::new();
                for item in items {
                    let value = match item {
                        SchemaValue::Str(v) => EnumValue {
                            name: v.clone(),
                            features: Vec::new(),
                        },
                        dict => EnumValue {
                            name: str_of(line, dict.get("name").unwrap_or(dict), "an enum value")?
                                .to_string(),
                            features: features(line, dict.get("features"))?,
                        },
                    };
                    values.push(value);
                }
                self.add_type(
                    line,
                    TypeDef {
                        name,
                        kind: TypeKind::Enum { values },
                        features: feats,
                        implicit: false,
                        doc: doc.clone(),
                    },
                )?;
            }
            "union" => {
                check_keys(
                    line,
                    value,
                    &["union", "base", "discriminator", "data", "features", "if"],
                )?;
                let base = match value.get("base") {
                    Some(SchemaValue::Str(base)) => {
                        self.references.push((line, base.clone()));
                        base.clone()
                    }
                    Some(inline @ SchemaValue::Dict(_)) => {
                        let members = self.members(line, inline)?;
                        let base = format!("q_obj_{name}-base");
                        self.add_type(
                            line,
                            TypeDef {
                                name: base.clone(),
                                kind: TypeKind::Object {
                                    members,
                                    union: None,
                                },
                                features: Vec::new(),
                                implicit: true,
                                doc: doc.clone(),
                            },
                        )?;
                        base
                    }
                    _ => return err(line, "a union needs a 'base'"),
                };
                let discriminator = str_of(
                    line,
                    value
                        .get("discriminator")
                        .unwrap_or(&SchemaValue::Bool(false)),
                    "'discriminator'",
                )?
                .to_string();
                let Some(SchemaValue::Dict(data)) = value.get("data") else {
                    return err(line, "a union needs 'data'");
                };
                let mut variants = Vec::new();
                for (case, ty) in data {
                    let ty = match ty {
                        SchemaValue::Dict(_) => ty.get("type").unwrap_or(ty),
                        _ => ty,
                    };
                    let ty = str_of(line, ty, "a union branch")?.to_string();
                    self.references.push((line, ty.clone()));
                    variants.push((case.clone(), ty));
                }
                self.unions.push(PendingUnion {
                    line,
                    name: name.clone(),
                    base,
                    discriminator,
                    variants,
                });
                self.add_type(
                    line,
                    TypeDef {
                        name,
                        kind: TypeKind::Object {
                            members: Vec::new(),
                            union: None,
                        },
                        features: feats,
                        implicit: false,
                        doc: doc.clone(),
                    },
                )?;
            }
            "alternate" => {
                check_keys(line, value, &["alternate", "data", "features", "if"])?;
                let Some(SchemaValue::Dict(data)) = value.get("data") else {
                    return err(line, "an alternate needs 'data'");
                };
                let mut variants = Vec::new();
                for (case, ty) in data {
                    let ty = self.type_ref(line, ty)?;
                    variants.push(Variant {
                        case: case.clone(),
                        ty,
                    });
                }
                self.add_type(
                    line,
                    TypeDef {
                        name,
                        kind: TypeKind::Alternate { variants },
                        features: feats,
                        implicit: false,
                        doc: doc.clone(),
                    },
                )?;
            }
            _ => unreachable!("meta-type list above"),
        }
        Ok(())
    }

    /// Checks references, flattens struct bases and completes unions.
    fn resolve(&mut self) -> Result<(), SchemaError> {
        for (line, name) in &self.references {
            if !self.schema.types.contains_key(name) {
                return err(*line, format!("unknown type '{name}'"));
            }
        }
        // Struct bases, repeated until every chain is flat (bases of bases).
        let mut pending: Vec<&PendingStruct> = self.struct_bases.iter().collect();
        let mut flattened: HashSet<String> = HashSet::new();
        while !pending.is_empty() {
            let before = pending.len();
            let mut still = Vec::new();
            for p in pending {
                let base_waits = self
                    .struct_bases
                    .iter()
                    .any(|q| q.name == p.base && !flattened.contains(&q.name));
                if base_waits {
                    still.push(p);
                    continue;
                }
                let base = self.schema.types.get(&p.base);
                let base_docs = base.map(|t| t.doc.members.clone()).unwrap_or_default();
                let base_members = match base.map(|t| &t.kind) {
                    Some(TypeKind::Object {
                        members,
                        union: None,
                    }) => members.clone(),
                    _ => {
                        return err(
                            p.line,
                            format!("base '{}' of '{}' must be a struct", p.base, p.name),
                        )
                    }
                };
                if let Some(TypeDef {
                    kind: TypeKind::Object { members, .. },
                    doc,
                    ..
                }) = self.schema.types.get_mut(&p.name)
                {
                    let own = std::mem::take(members);
                    *members = base_members.into_iter().chain(own).collect();
                    // The base's member docs document the inherited members.
                    let own_docs = std::mem::take(&mut doc.members);
                    doc.members = base_docs.into_iter().chain(own_docs).collect();
                }
                flattened.insert(p.name.clone());
            }
            if still.len() == before {
                return err(
                    still[0].line,
                    format!("'{}' has a circular base", still[0].name),
                );
            }
            pending = still;
        }
        for u in &self.unions {
            let members = match self.schema.types.get(&u.base).map(|t| &t.kind) {
                Some(TypeKind::Object {
                    members,
                    union: None,
                }) => members.clone(),
                _ => return err(u.line, format!("base of '{}' must be a struct", u.name)),
            };
            let Some(tag) = members.iter().find(|m| m.name == u.discriminator) else {
                return err(
                    u.line,
                    format!("discriminator '{}' is not a base member", u.discriminator),
                );
            };
            let values = match (&tag.ty, tag.optional) {
                (TypeRef::Named(enum_name), false) => {
                    match self.schema.types.get(enum_name).map(|t| &t.kind) {
                        Some(TypeKind::Enum { values }) => values.clone(),
                        _ => return err(u.line, "the discriminator must be an enum"),
                    }
                }
                _ => return err(u.line, "the discriminator must be a mandatory enum"),
            };
            let mut variants = Vec::new();
            for (case, ty) in &u.variants {
                if !values.iter().any(|v| v.name == *case) {
                    return err(
                        u.line,
                        format!("'{case}' is not a value of the discriminator"),
                    );
                }
                match self.schema.types.get(ty).map(|t| &t.kind) {
                    Some(TypeKind::Object { union: None, .. }) => {}
                    _ => return err(u.line, format!("branch '{case}' must be a struct")),
                }
                variants.push(Variant {
                    case: case.clone(),
                    ty: TypeRef::Named(ty.clone()),
                });
            }
            // As QEMU: the values without a branch get the empty object, after
            // the listed branches, in the enum's order.
            for value in &values {
                if !u.variants.iter().any(|(case, _)| *case == value.name) {
                    variants.push(Variant {
                        case: value.name.clone(),
                        ty: TypeRef::Named(EMPTY_OBJECT.to_string()),
                    });
                }
            }
            if let Some(def) = self.schema.types.get_mut(&u.name) {
                def.kind = TypeKind::Object {
                    members,
                    union: Some((u.discriminator.clone(), variants)),
                };
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::parser::parse_schema;
    use super::*;

    fn schema(text: &str) -> Result<Schema, SchemaError> {
        build_schema(&parse_schema(text).unwrap())
    }

    #[test]
    fn union_gets_base_members_and_empty_branches_in_enum_order() {
        let s = schema(
            "{ 'enum': 'K', 'data': ['a', 'b', 'c'] }
             { 'struct': 'B', 'data': { 'x': 'int' } }
             { 'union': 'U', 'base': { 'n': 'str', 'kind': 'K' },
               'discriminator': 'kind', 'data': { 'c': 'B' } }",
        )
        .unwrap();
        let TypeKind::Object {
            members,
            union: Some((tag, variants)),
        } = &s.types["U"].kind
        else {
            panic!("U is not a union");
        };
        assert_eq!(
            members.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
            ["n", "kind"]
        );
        assert_eq!(tag, "kind");
        let cases: Vec<_> = variants
            .iter()
            .map(|v| (v.case.as_str(), v.ty.clone()))
            .collect();
        assert_eq!(
            cases,
            [
                ("c", TypeRef::Named("B".into())),
                ("a", TypeRef::Named(EMPTY_OBJECT.into())),
                ("b", TypeRef::Named(EMPTY_OBJECT.into())),
            ]
        );
        assert!(s.types.contains_key("q_obj_U-base"));
    }

    #[test]
    fn struct_base_members_come_first_through_chains() {
        let s = schema(
            "{ 'struct': 'C', 'base': 'B', 'data': { 'c': 'int' } }
             { 'struct': 'B', 'base': 'A', 'data': { 'b': 'int' } }
             ##
             # @A:
             #
             # @a: the a
             ##
             { 'struct': 'A', 'data': { '*a': ['str'] } }",
        )
        .unwrap();
        let names: Vec<_> = s
            .object_members("C")
            .iter()
            .map(|m| m.name.clone())
            .collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert!(s.object_members("C")[0].optional);
    }

    #[test]
    fn commands_get_implicit_argument_types() {
        let s = schema(
            "{ 'command': 'do-it', 'data': { 'x': 'int' }, 'returns': ['str'], 'allow-oob': true,
               'features': [ 'unstable', { 'name': 'deprecated' } ] }
             { 'command': 'nothing', 'data': {} }
             { 'event': 'HAPPENED' }",
        )
        .unwrap();
        let commands: Vec<_> = s.commands().collect();
        assert_eq!(commands[0].args.as_deref(), Some("q_obj_do-it-arg"));
        assert_eq!(commands[0].returns, Some(TypeRef::Array("str".into())));
        assert!(commands[0].allow_oob);
        assert_eq!(commands[0].features, ["unstable", "deprecated"]);
        assert_eq!(commands[1].args, None);
        assert_eq!(s.events().next().map(|e| e.name.as_str()), Some("HAPPENED"));
    }

    #[test]
    fn docs_split_into_text_and_members() {
        let lines: Vec<String> = [
            "@thing:",
            "",
            "What it is,",
            "over two lines.",
            "",
            "@first: the first",
            "    member",
            "@second: the second",
            "",
            "Features:",
            "@unstable: not stable",
        ]
        .iter()
        .map(|l| l.to_string())
        .collect();
        let doc = Doc::parse(&lines);
        assert_eq!(doc.text, ["What it is,", "over two lines."]);
        assert_eq!(doc.member("first"), Some("the first member"));
        assert_eq!(doc.member("second"), Some("the second"));
        assert_eq!(doc.member("unstable"), None);
    }

    #[test]
    fn mistakes_are_reported_with_their_line() {
        let e = schema("{ 'struct': 'S',\n 'data': { 'x': 'Nope' } }").unwrap_err();
        assert_eq!(
            e,
            SchemaError {
                line: 1,
                message: "unknown type 'Nope'".into()
            }
        );
        let e = schema("{ 'enum': 'E', 'data': [] }\n{ 'enum': 'E', 'data': [] }").unwrap_err();
        assert_eq!(e.line, 2);
        let e = schema("{ 'command': 'c', 'retruns': 'str' }").unwrap_err();
        assert_eq!(e.message, "unknown key 'retruns'");
        let e = schema(
            "{ 'enum': 'K', 'data': ['a'] }
             { 'struct': 'B', 'data': {} }
             { 'union': 'U', 'base': { 'kind': 'K' }, 'discriminator': 'kind', 'data': { 'z': 'B' } }",
        )
        .unwrap_err();
        assert_eq!(e.message, "'z' is not a value of the discriminator");
    }
}
