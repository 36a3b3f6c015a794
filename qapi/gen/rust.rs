//! Rust source generated from the schema: the types, the command trait with
//! its dispatcher and table, and the events.

use std::collections::HashMap;
use std::fmt::Write;

use super::model::{Entity, Member, Schema, TypeDef, TypeKind, TypeRef, Variant, EMPTY_OBJECT};

/// `host-qmp-quit` -> `HostQmpQuit`, `x86_64` -> `X86_64`, `1` -> `N1`.
pub fn camel(name: &str) -> String {
    let mut out = String::new();
    for part in name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
    {
        let ends_in_digit = out.ends_with(|c: char| c.is_ascii_digit());
        if ends_in_digit && part.starts_with(|c: char| c.is_ascii_digit()) {
            out.push('_');
        }
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'N');
    }
    out
}

/// `cpu-index` -> `cpu_index`, `type` -> `r#type`, `UUID` -> `uuid`.
pub fn snake(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    const KEYWORDS: &[&str] = &[
        "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "do",
        "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "if", "impl", "in", "let",
        "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return",
        "static", "struct", "trait", "true", "try", "type", "typeof", "unsafe", "unsized", "use",
        "virtual", "where", "while", "yield",
    ];
    if KEYWORDS.contains(&s.as_str()) {
        format!("r#{s}")
    } else {
        s
    }
}

/// Rust names of the schema's types. Implicit argument types are named
/// after their command (`QomGetArguments`) or event (`ShutdownEvent`).
pub struct Names {
    rust: HashMap<String, String>,
}

impl Names {
    pub fn new(schema: &Schema) -> Self {
        let mut rust = HashMap::new();
        for name in &schema.type_order {
            // QAPI's `String` must not shadow Rust's in users' glob imports.
            let r = camel(name);
            let r = if ["String", "Option", "Result", "Vec", "Box"].contains(&r.as_str()) {
                format!("Qapi{r}")
            } else {
                r
            };
            rust.insert(name.clone(), r);
        }
        for entity in &schema.entities {
            let (args, rust_name) = match entity {
                Entity::Command(c) => (&c.args, format!("{}Arguments", camel(&c.name))),
                Entity::Event(e) => (
                    &e.args,
                    format!("{}Event", camel(&e.name.to_ascii_lowercase())),
                ),
            };
            if let Some(args) = args.as_ref().filter(|a| schema.types[*a].implicit) {
                rust.insert(args.clone(), rust_name);
            }
        }
        Names { rust }
    }

    fn named(&self, name: &str) -> String {
        let builtin = match name {
            "str" => "String",
            "number" => "f64",
            "int" | "int64" => "i64",
            "int8" => "i8",
            "int16" => "i16",
            "int32" => "i32",
            "uint8" => "u8",
            "uint16" => "u16",
            "uint32" => "u32",
            "uint64" | "size" => "u64",
            "bool" => "bool",
            "null" => "()",
            "any" => "serde_json::Value",
            _ => return self.rust.get(name).cloned().unwrap_or_else(|| camel(name)),
        };
        builtin.to_string()
    }

    pub fn type_ref(&self, ty: &TypeRef) -> String {
        match ty {
            TypeRef::Named(n) => self.named(n),
            TypeRef::Array(n) => format!("Vec<{}>", self.named(n)),
        }
    }
}

/// The generated types: one Rust type per enum, struct, union and
/// alternate, plus the implicit argument structs of commands and events.
pub fn types(schema: &Schema, names: &Names) -> String {
    let mut out = String::new();
    let implicit_args: Vec<&String> = schema
        .entities
        .iter()
        .filter_map(|e| match e {
            Entity::Command(c) => c.args.as_ref(),
            Entity::Event(ev) => ev.args.as_ref(),
        })
        .filter(|a| schema.types[*a].implicit)
        .collect();
    for name in schema.type_order.iter().chain(implicit_args) {
        let def = &schema.types[name];
        let rust = names.named(name);
        match &def.kind {
            TypeKind::Builtin { .. } => {}
            TypeKind::Enum { values } => enum_type(&mut out, def, &rust, values),
            TypeKind::Object {
                members,
                union: None,
            } => struct_type(&mut out, def, &rust, members, names),
            TypeKind::Object {
                members,
                union: Some((tag, variants)),
            } => union_type(&mut out, schema, def, &rust, members, tag, variants, names),
            TypeKind::Alternate { variants } => {
                alternate_type(&mut out, schema, def, &rust, variants, names)
            }
        }
    }
    out
}

/// Writes `text` as doc comment lines with `indent`.
fn doc_comment(out: &mut String, indent: &str, text: &[String]) {
    for line in text {
        if line.is_empty() {
            let _ = writeln!(out, "{indent}///");
        } else {
            let _ = writeln!(out, "{indent}/// {line}");
        }
    }
}

/// The doc comment of a generated type: the schema's text for it, under a
/// line naming what it is in the schema.
fn doc_line(out: &mut String, def: &TypeDef) {
    match def
        .name
        .strip_prefix("q_obj_")
        .and_then(|n| n.strip_suffix("-arg"))
    {
        Some(owner) => {
            let _ = writeln!(out, "/// The arguments of `{owner}`.");
        }
        None => {
            let _ = writeln!(out, "/// QAPI type `{}`.", def.name);
            if !def.doc.text.is_empty() {
                let _ = writeln!(out, "///");
                doc_comment(out, "", &def.doc.text);
            }
        }
    }
}

/// The doc comment of a member or enum value, if the schema documents it.
fn member_doc(out: &mut String, def: &TypeDef, name: &str) {
    if let Some(text) = def.doc.member(name) {
        let _ = writeln!(out, "    /// {text}");
    }
}

fn enum_type(out: &mut String, def: &TypeDef, rust: &str, values: &[super::model::EnumValue]) {
    doc_line(out, def);
    let _ = writeln!(
        out,
        "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]"
    );
    let _ = writeln!(out, "pub enum {rust} {{");
    for v in values {
        member_doc(out, def, &v.name);
        let _ = writeln!(
            out,
            "    #[serde(rename = {:?})]\n    {},",
            v.name,
            camel(&v.name)
        );
    }
    let _ = writeln!(out, "}}\n");
    let _ = writeln!(out, "impl {rust} {{");
    let _ = writeln!(out, "    /// Every value, in the schema's order.");
    let _ = writeln!(out, "    pub const ALL: &'static [{rust}] = &[");
    for v in values {
        let _ = writeln!(out, "        {rust}::{},", camel(&v.name));
    }
    let _ = writeln!(out, "    ];\n");
    let _ = writeln!(out, "    /// The value's name on the wire.");
    let _ = writeln!(
        out,
        "    pub fn as_str(self) -> &'static str {{\n        match self {{"
    );
    for v in values {
        let _ = writeln!(
            out,
            "            {rust}::{} => {:?},",
            camel(&v.name),
            v.name
        );
    }
    let _ = writeln!(out, "        }}\n    }}\n");
    let _ = writeln!(out, "    /// The value with this name on the wire.");
    let _ = writeln!(
        out,
        "    pub fn from_name(name: &str) -> Option<Self> {{\n        Self::ALL.iter().copied().find(|v| v.as_str() == name)\n    }}\n}}\n"
    );
    let _ = writeln!(
        out,
        "impl crate::visit::FromQmp for {rust} {{
    fn from_qmp(value: &serde_json::Value, name: crate::visit::Name<'_>) -> Result<Self, crate::error::QmpError> {{
        let s = crate::visit::enum_str(value, name)?;
        Self::from_name(s).ok_or_else(|| crate::visit::enum_rejects(name, s))
    }}
}}
"
    );
}

fn field(out: &mut String, def: &TypeDef, m: &Member, names: &Names) {
    member_doc(out, def, &m.name);
    let ty = names.type_ref(&m.ty);
    if m.optional {
        let _ = writeln!(
            out,
            "    #[serde(rename = {:?}, skip_serializing_if = \"Option::is_none\")]\n    pub {}: Option<{ty}>,",
            m.name,
            snake(&m.name)
        );
    } else {
        let _ = writeln!(
            out,
            "    #[serde(rename = {:?})]\n    pub {}: {ty},",
            m.name,
            snake(&m.name)
        );
    }
}

/// `let x = input.required("x")?;` for each member, in the schema's order
/// (QEMU reports the first problem in that order).
fn read_member_lets(out: &mut String, members: &[Member]) {
    for m in members {
        let how = if m.optional { "optional" } else { "required" };
        let _ = writeln!(
            out,
            "        let {} = input.{how}({:?})?;",
            snake(&m.name),
            m.name
        );
    }
}

fn from_qmp_via_members(out: &mut String, rust: &str) {
    let _ = writeln!(
        out,
        "impl crate::visit::FromQmp for {rust} {{
    fn from_qmp(value: &serde_json::Value, name: crate::visit::Name<'_>) -> Result<Self, crate::error::QmpError> {{
        crate::visit::read_object(value, name)
    }}
}}
"
    );
}

fn struct_type(out: &mut String, def: &TypeDef, rust: &str, members: &[Member], names: &Names) {
    doc_line(out, def);
    // A struct of optional members only has an empty value: `Default`.
    let default = if members.iter().all(|m| m.optional) {
        ", Default"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "#[derive(Debug, Clone, PartialEq{default}, serde::Serialize)]"
    );
    let _ = writeln!(out, "pub struct {rust} {{");
    for m in members {
        field(out, def, m, names);
    }
    let _ = writeln!(out, "}}\n");
    let _ = writeln!(out, "impl crate::visit::ReadMembers for {rust} {{");
    let _ = writeln!(
        out,
        "    fn read_members(input: &mut crate::visit::ObjectInput<'_>) -> Result<Self, crate::error::QmpError> {{"
    );
    read_member_lets(out, members);
    let fields: Vec<String> = members.iter().map(|m| snake(&m.name)).collect();
    let _ = writeln!(
        out,
        "        Ok({rust} {{ {} }})\n    }}\n}}\n",
        fields.join(", ")
    );
    from_qmp_via_members(out, rust);
}

#[allow(clippy::too_many_arguments)]
fn union_type(
    out: &mut String,
    schema: &Schema,
    def: &TypeDef,
    rust: &str,
    members: &[Member],
    tag: &str,
    variants: &[Variant],
    names: &Names,
) {
    let tag_member = members.iter().find(|m| m.name == tag);
    let tag_enum = tag_member
        .map(|m| names.type_ref(&m.ty))
        .unwrap_or_default();
    let others: Vec<&Member> = members.iter().filter(|m| m.name != tag).collect();
    // A union whose base is only the discriminator is just the enum of its
    // branches; otherwise the base members sit beside a flattened enum.
    let variant_enum = if others.is_empty() {
        rust.to_string()
    } else {
        format!("{rust}Variant")
    };

    if others.is_empty() {
        doc_line(out, def);
    } else {
        let _ = writeln!(out, "/// The branch of [`{rust}`], chosen by `{tag}`.");
    }
    let _ = writeln!(out, "#[derive(Debug, Clone, PartialEq, serde::Serialize)]");
    let _ = writeln!(out, "#[serde(tag = {tag:?})]");
    let _ = writeln!(out, "pub enum {variant_enum} {{");
    for v in variants {
        let _ = writeln!(out, "    #[serde(rename = {:?})]", v.case);
        if is_empty_object(schema, &v.ty) {
            let _ = writeln!(out, "    {},", camel(&v.case));
        } else {
            let _ = writeln!(out, "    {}({}),", camel(&v.case), names.type_ref(&v.ty));
        }
    }
    let _ = writeln!(out, "}}\n");

    if !others.is_empty() {
        doc_line(out, def);
        let _ = writeln!(out, "#[derive(Debug, Clone, PartialEq, serde::Serialize)]");
        let _ = writeln!(out, "pub struct {rust} {{");
        for m in &others {
            field(out, def, m, names);
        }
        let _ = writeln!(
            out,
            "    #[serde(flatten)]\n    pub variant: {variant_enum},\n}}\n"
        );
    }

    let _ = writeln!(out, "impl crate::visit::ReadMembers for {rust} {{");
    let _ = writeln!(
        out,
        "    fn read_members(input: &mut crate::visit::ObjectInput<'_>) -> Result<Self, crate::error::QmpError> {{"
    );
    read_member_lets(out, members);
    let _ = writeln!(out, "        let variant = match {} {{", snake(tag));
    for v in variants {
        let case = camel(&v.case);
        if is_empty_object(schema, &v.ty) {
            let _ = writeln!(
                out,
                "            {tag_enum}::{case} => {variant_enum}::{case},"
            );
        } else {
            let _ = writeln!(
                out,
                "            {tag_enum}::{case} => {variant_enum}::{case}(crate::visit::ReadMembers::read_members(input)?),"
            );
        }
    }
    let _ = writeln!(out, "        }};");
    if others.is_empty() {
        let _ = writeln!(out, "        Ok(variant)\n    }}\n}}\n");
    } else {
        let fields: Vec<String> = others.iter().map(|m| snake(&m.name)).collect();
        let _ = writeln!(
            out,
            "        Ok({rust} {{ {}, variant }})\n    }}\n}}\n",
            fields.join(", ")
        );
    }
    from_qmp_via_members(out, rust);
}

fn is_empty_object(schema: &Schema, ty: &TypeRef) -> bool {
    match ty {
        TypeRef::Named(n) if n == EMPTY_OBJECT => true,
        TypeRef::Named(n) => matches!(
            schema.types.get(n).map(|t| &t.kind),
            Some(TypeKind::Object { members, union: None }) if members.is_empty()
        ),
        TypeRef::Array(_) => false,
    }
}

/// Which JSON value kinds a branch of an alternate takes, as QEMU decides
/// by the value's type.
fn json_kinds(schema: &Schema, ty: &TypeRef) -> &'static str {
    match ty {
        TypeRef::Array(_) => "serde_json::Value::Array(_)",
        TypeRef::Named(n) => match schema.types.get(n).map(|t| &t.kind) {
            Some(TypeKind::Builtin {
                json_type: "string",
            })
            | Some(TypeKind::Enum { .. }) => "serde_json::Value::String(_)",
            Some(TypeKind::Builtin { json_type: "int" })
            | Some(TypeKind::Builtin {
                json_type: "number",
            }) => "serde_json::Value::Number(_)",
            Some(TypeKind::Builtin {
                json_type: "boolean",
            }) => "serde_json::Value::Bool(_)",
            Some(TypeKind::Builtin { json_type: "null" }) => "serde_json::Value::Null",
            _ => "serde_json::Value::Object(_)",
        },
    }
}

fn alternate_type(
    out: &mut String,
    schema: &Schema,
    def: &TypeDef,
    rust: &str,
    variants: &[Variant],
    names: &Names,
) {
    doc_line(out, def);
    let _ = writeln!(out, "#[derive(Debug, Clone, PartialEq, serde::Serialize)]");
    let _ = writeln!(out, "#[serde(untagged)]");
    let _ = writeln!(out, "pub enum {rust} {{");
    for v in variants {
        let _ = writeln!(out, "    {}({}),", camel(&v.case), names.type_ref(&v.ty));
    }
    let _ = writeln!(out, "}}\n");
    let _ = writeln!(
        out,
        "impl crate::visit::FromQmp for {rust} {{
    fn from_qmp(value: &serde_json::Value, name: crate::visit::Name<'_>) -> Result<Self, crate::error::QmpError> {{
        match value {{"
    );
    for v in variants {
        let _ = writeln!(
            out,
            "            {} => crate::visit::FromQmp::from_qmp(value, name).map({rust}::{}),",
            json_kinds(schema, &v.ty),
            camel(&v.case)
        );
    }
    let _ = writeln!(
        out,
        "            #[allow(unreachable_patterns)]
            _ => Err(crate::visit::alternate_rejects(name, {:?})),
        }}
    }}
}}
",
        def.name
    );
}

/// The command side: `QmpCommands`, `dispatch` and the `COMMANDS` table.
pub fn commands(schema: &Schema, names: &Names) -> String {
    let mut trait_body = String::new();
    let mut variants = String::new();
    let mut decode_arms = String::new();
    let mut name_arms = String::new();
    let mut execute_arms = String::new();
    let mut table = String::new();
    for c in schema.commands() {
        let method = snake(&c.name);
        let variant = camel(&c.name);
        let ret = c
            .returns
            .as_ref()
            .map_or("()".to_string(), |r| names.type_ref(r));
        let args_rust = c.args.as_ref().map(|a| names.named(a));
        let members: &[Member] = match (&c.args, c.boxed) {
            (Some(a), false) => schema.object_members(a),
            _ => &[],
        };
        // The handler's parameters: the members, or the whole boxed object.
        let params: Vec<String> = match (&args_rust, c.boxed) {
            (Some(a), true) => vec![format!("arguments: {a}")],
            _ => members
                .iter()
                .map(|m| {
                    let ty = names.type_ref(&m.ty);
                    let ty = if m.optional {
                        format!("Option<{ty}>")
                    } else {
                        ty
                    };
                    format!("{}: {ty}", snake(&m.name))
                })
                .collect(),
        };
        let _ = writeln!(trait_body, "    /// `{}`", c.name);
        if !c.doc.text.is_empty() {
            let _ = writeln!(trait_body, "    ///");
            doc_comment(&mut trait_body, "    ", &c.doc.text);
        }
        let documented: Vec<(&Member, &str)> = members
            .iter()
            .filter_map(|m| c.doc.member(&m.name).map(|text| (m, text)))
            .collect();
        if !documented.is_empty() {
            let _ = writeln!(trait_body, "    ///");
        }
        for (m, text) in documented {
            let _ = writeln!(trait_body, "    /// - `{}`: {text}", snake(&m.name));
        }
        let mut sig_params = String::from("&mut self");
        for p in &params {
            sig_params.push_str(", ");
            sig_params.push_str(p);
        }
        let _ = writeln!(
            trait_body,
            "    fn {method}({sig_params}) -> Result<{ret}, crate::error::QmpError>;\n"
        );

        let _ = writeln!(variants, "    /// `{}`", c.name);
        let call = match (&args_rust, c.boxed) {
            (None, _) => {
                let _ = writeln!(variants, "    {variant},");
                let _ = writeln!(
                    decode_arms,
                    "            {:?} => {{\n                crate::visit::no_arguments(arguments)?;\n                Ok(QmpCommand::{variant})\n            }}",
                    c.name
                );
                let _ = writeln!(
                    name_arms,
                    "            QmpCommand::{variant} => {:?},",
                    c.name
                );
                format!("QmpCommand::{variant} => handler.{method}()")
            }
            (Some(a), boxed) => {
                let _ = writeln!(variants, "    {variant}({a}),");
                let _ = writeln!(
                    decode_arms,
                    "            {:?} => crate::visit::read_arguments(arguments).map(QmpCommand::{variant}),",
                    c.name
                );
                let _ = writeln!(
                    name_arms,
                    "            QmpCommand::{variant}(_) => {:?},",
                    c.name
                );
                if boxed {
                    format!("QmpCommand::{variant}(arguments) => handler.{method}(arguments)")
                } else {
                    let fields = members
                        .iter()
                        .map(|m| snake(&m.name))
                        .collect::<Vec<_>>()
                        .join(", ");
                    format!(
                        "QmpCommand::{variant}({a} {{ {fields} }}) => handler.{method}({fields})"
                    )
                }
            }
        };
        // A command without `returns` answers `{}`.
        let result = if c.returns.is_some() {
            "and_then(|ret| crate::visit::return_value(&ret))"
        } else {
            "map(|()| serde_json::Value::Object(serde_json::Map::new()))"
        };
        let _ = writeln!(execute_arms, "            {call}.{result},");
        let _ = writeln!(
            table,
            "    CommandEntry {{ name: {:?}, allow_oob: {}, allow_preconfig: {}, features: &{:?} }},",
            c.name, c.allow_oob, c.allow_preconfig, c.features
        );
    }
    format!(
        "/// One method per command of the schema: the QMP server implements
/// this, and [`dispatch`] decodes each command's arguments for it.
pub trait QmpCommands {{
{trait_body}}}

/// A command of the schema with its decoded arguments.
#[derive(Debug, Clone, PartialEq)]
pub enum QmpCommand {{
{variants}}}

impl QmpCommand {{
    /// Decodes command `name`'s `arguments` object. Argument errors carry
    /// QEMU's texts; an unknown name is CommandNotFound.
    pub fn decode(
        name: &str,
        arguments: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Self, crate::error::QmpError> {{
        match name {{
{decode_arms}            _ => Err(crate::error::QmpError::command_not_found(name)),
        }}
    }}

    /// The command's name on the wire.
    pub fn name(&self) -> &'static str {{
        match self {{
{name_arms}        }}
    }}

    /// Runs the command on `handler`; the result is the reply's `return`.
    pub fn execute<H: QmpCommands + ?Sized>(
        self,
        handler: &mut H,
    ) -> Result<serde_json::Value, crate::error::QmpError> {{
        match self {{
{execute_arms}        }}
    }}
}}

/// Decodes and runs command `name` with its `arguments` on `handler`.
pub fn dispatch<H: QmpCommands + ?Sized>(
    handler: &mut H,
    name: &str,
    arguments: &serde_json::Map<String, serde_json::Value>,
) -> Result<serde_json::Value, crate::error::QmpError> {{
    QmpCommand::decode(name, arguments)?.execute(handler)
}}

/// Every command of the schema, in definition order.
pub const COMMANDS: &[CommandEntry] = &[
{table}];
"
    )
}

/// The event side: `QmpEvent`, its names and data.
pub fn events(schema: &Schema, names: &Names) -> String {
    let mut variants = String::new();
    let mut name_arms = String::new();
    let mut data_arms = String::new();
    let mut list = Vec::new();
    for e in schema.events() {
        let v = camel(&e.name.to_ascii_lowercase());
        let _ = writeln!(variants, "    /// `{}`", e.name);
        if !e.doc.text.is_empty() {
            let _ = writeln!(variants, "    ///");
            doc_comment(&mut variants, "    ", &e.doc.text);
        }
        match &e.args {
            Some(a) => {
                let _ = writeln!(variants, "    {v}({}),", names.named(a));
                let _ = writeln!(name_arms, "            QmpEvent::{v}(_) => {:?},", e.name);
                let _ = writeln!(
                    data_arms,
                    "            QmpEvent::{v}(data) => serde_json::to_value(data).ok(),"
                );
            }
            None => {
                let _ = writeln!(variants, "    {v},");
                let _ = writeln!(name_arms, "            QmpEvent::{v} => {:?},", e.name);
                let _ = writeln!(data_arms, "            QmpEvent::{v} => None,");
            }
        }
        list.push(e.name.clone());
    }
    format!(
        "/// An event the schema defines, with its data.
#[derive(Debug, Clone, PartialEq)]
pub enum QmpEvent {{
{variants}}}

impl QmpEvent {{
    /// The event's name on the wire.
    pub fn name(&self) -> &'static str {{
        match self {{
{name_arms}        }}
    }}

    /// The `data` member, or `None` for events that carry none (QEMU then
    /// leaves `data` out).
    pub fn data(&self) -> Option<serde_json::Value> {{
        // Serialising these derived types cannot fail: every map key is a
        // string and non-finite numbers become null.
        match self {{
{data_arms}        }}
    }}
}}

/// Every event of the schema, in definition order.
pub const EVENT_NAMES: &[&str] = &{list:?};
"
    )
}

#[cfg(test)]
mod tests {
    use super::super::model::build_schema;
    use super::super::parser::parse_schema;
    use super::*;

    #[test]
    fn alternates_choose_their_branch_by_json_type() {
        let schema = build_schema(
            &parse_schema(
                "{ 'struct': 'S', 'data': { 'x': 'int' } }
                 { 'alternate': 'StrOrS', 'data': { 's': 'str', 'obj': 'S', 'n': 'null' } }",
            )
            .unwrap(),
        )
        .unwrap();
        let code = types(&schema, &Names::new(&schema));
        assert!(code.contains(
            "#[serde(untagged)]\npub enum StrOrS {\n    S(String),\n    Obj(S),\n    N(()),\n}"
        ));
        assert!(code.contains(
            "serde_json::Value::String(_) => crate::visit::FromQmp::from_qmp(value, name).map(StrOrS::S),"
        ));
        assert!(code.contains(
            "serde_json::Value::Object(_) => crate::visit::FromQmp::from_qmp(value, name).map(StrOrS::Obj),"
        ));
        assert!(code.contains(
            "serde_json::Value::Null => crate::visit::FromQmp::from_qmp(value, name).map(StrOrS::N),"
        ));
        assert!(code.contains("_ => Err(crate::visit::alternate_rejects(name, \"StrOrS\")),"));
    }

    #[test]
    fn rust_names_of_qapi_names() {
        assert_eq!(camel("host-qmp-quit"), "HostQmpQuit");
        assert_eq!(camel("x86_64"), "X86_64");
        assert_eq!(camel("1"), "N1");
        assert_eq!(camel("kp_0"), "Kp0");
        assert_eq!(camel("IOThreadInfo"), "IOThreadInfo");
        assert_eq!(snake("cpu-index"), "cpu_index");
        assert_eq!(snake("UUID"), "uuid");
        assert_eq!(snake("type"), "r#type");
        assert_eq!(snake("abstract"), "r#abstract");
    }
}
