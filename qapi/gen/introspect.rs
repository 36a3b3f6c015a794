//! `query-qmp-schema`'s answer computed from the schema, following the
//! rules of QEMU's `scripts/qapi/introspect.py`:
//!
//! - commands and events come first, in definition order, by their names;
//! - then every type they use, in order of first use; a type is listed
//!   only if something reachable uses it;
//! - type names are masked as decimal strings numbered in order of first
//!   use (so the empty object of the first argument-less command is "0"),
//!   built-ins keep their names and arrays are named `[element]`;
//! - every integer built-in (`uint8`, `size`, ...) is reported as `int`;
//! - optional members carry `"default": null`; features are lists of names.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use super::model::{Entity, Member, Schema, TypeDef, TypeKind, TypeRef, EMPTY_OBJECT};

/// The `SchemaInfo` list, as JSON.
pub fn schema_info(schema: &Schema) -> Vec<Value> {
    let mut walk = Walk {
        schema,
        names: HashMap::new(),
        used: Vec::new(),
    };
    let mut entries = Vec::new();
    for entity in &schema.entities {
        let mut obj = Map::new();
        let (name, features) = match entity {
            Entity::Command(c) => {
                let args =
                    TypeRef::Named(c.args.clone().unwrap_or_else(|| EMPTY_OBJECT.to_string()));
                let ret = c
                    .returns
                    .clone()
                    .unwrap_or_else(|| TypeRef::Named(EMPTY_OBJECT.to_string()));
                obj.insert("arg-type".into(), walk.use_type(&args).into());
                obj.insert("ret-type".into(), walk.use_type(&ret).into());
                if c.allow_oob {
                    obj.insert("allow-oob".into(), true.into());
                }
                obj.insert("meta-type".into(), "command".into());
                (&c.name, &c.features)
            }
            Entity::Event(e) => {
                let args =
                    TypeRef::Named(e.args.clone().unwrap_or_else(|| EMPTY_OBJECT.to_string()));
                obj.insert("arg-type".into(), walk.use_type(&args).into());
                obj.insert("meta-type".into(), "event".into());
                (&e.name, &e.features)
            }
        };
        obj.insert("name".into(), name.as_str().into());
        add_features(&mut obj, features);
        entries.push(Value::Object(obj));
    }
    // `used` grows while types are described: walk it by index.
    let mut i = 0;
    while i < walk.used.len() {
        let ty = walk.used[i].clone();
        entries.push(walk.describe(&ty));
        i += 1;
    }
    entries
}

fn add_features(obj: &mut Map<String, Value>, features: &[String]) {
    if !features.is_empty() {
        obj.insert("features".into(), json!(features));
    }
}

struct Walk<'a> {
    schema: &'a Schema,
    /// Masked name of each named type, in order of first use.
    names: HashMap<String, String>,
    /// Types to describe, in order of first use.
    used: Vec<TypeRef>,
}

impl Walk<'_> {
    fn is_int(&self, name: &str) -> bool {
        matches!(
            self.schema.types.get(name).map(|t| &t.kind),
            Some(TypeKind::Builtin { json_type: "int" })
        )
    }

    fn is_builtin(&self, name: &str) -> bool {
        matches!(
            self.schema.types.get(name).map(|t| &t.kind),
            Some(TypeKind::Builtin { .. })
        )
    }

    /// Records a use of `ty` and returns the name introspection shows for it.
    fn use_type(&mut self, ty: &TypeRef) -> String {
        let ty = match ty {
            TypeRef::Named(n) if self.is_int(n) => TypeRef::Named("int".into()),
            TypeRef::Array(n) if self.is_int(n) => TypeRef::Array("int".into()),
            other => other.clone(),
        };
        if !self.used.contains(&ty) {
            self.used.push(ty.clone());
        }
        match &ty {
            TypeRef::Named(n) if self.is_builtin(n) => n.clone(),
            TypeRef::Named(n) => self.mask(n),
            TypeRef::Array(element) => {
                let element = self.use_type(&TypeRef::Named(element.clone()));
                format!("[{element}]")
            }
        }
    }

    fn mask(&mut self, name: &str) -> String {
        let next = self.names.len().to_string();
        self.names.entry(name.to_string()).or_insert(next).clone()
    }

    fn member(&mut self, m: &Member) -> Value {
        let mut obj = Map::new();
        obj.insert("name".into(), m.name.as_str().into());
        obj.insert("type".into(), self.use_type(&m.ty).into());
        if m.optional {
            obj.insert("default".into(), Value::Null);
        }
        add_features(&mut obj, &m.features);
        Value::Object(obj)
    }

    fn describe(&mut self, ty: &TypeRef) -> Value {
        let name = match ty {
            TypeRef::Array(element) => {
                let element = self.use_type(&TypeRef::Named(element.clone()));
                return json!({
                    "name": format!("[{element}]"),
                    "element-type": element,
                    "meta-type": "array",
                });
            }
            TypeRef::Named(name) => name,
        };
        let schema = self.schema;
        let Some(TypeDef { kind, features, .. }) = schema.types.get(name) else {
            unreachable!("the model checked every reference");
        };
        let mut obj = Map::new();
        let meta = match kind {
            TypeKind::Builtin { json_type } => {
                obj.insert("json-type".into(), (*json_type).into());
                obj.insert("name".into(), name.as_str().into());
                obj.insert("meta-type".into(), "builtin".into());
                return Value::Object(obj);
            }
            TypeKind::Enum { values } => {
                let members: Vec<Value> = values
                    .iter()
                    .map(|v| {
                        let mut m = Map::new();
                        m.insert("name".into(), v.name.as_str().into());
                        add_features(&mut m, &v.features);
                        Value::Object(m)
                    })
                    .collect();
                obj.insert("members".into(), members.into());
                obj.insert(
                    "values".into(),
                    json!(values.iter().map(|v| &v.name).collect::<Vec<_>>()),
                );
                "enum"
            }
            TypeKind::Object { members, union } => {
                let members: Vec<Value> = members.iter().map(|m| self.member(m)).collect();
                obj.insert("members".into(), members.into());
                if let Some((tag, variants)) = union {
                    obj.insert("tag".into(), tag.as_str().into());
                    let variants: Vec<Value> = variants
                        .iter()
                        .map(|v| json!({ "case": v.case, "type": self.use_type(&v.ty) }))
                        .collect();
                    obj.insert("variants".into(), variants.into());
                }
                "object"
            }
            TypeKind::Alternate { variants } => {
                let members: Vec<Value> = variants
                    .iter()
                    .map(|v| json!({ "type": self.use_type(&v.ty) }))
                    .collect();
                obj.insert("members".into(), members.into());
                "alternate"
            }
        };
        obj.insert("name".into(), self.mask(name).into());
        obj.insert("meta-type".into(), meta.into());
        add_features(&mut obj, features);
        Value::Object(obj)
    }
}

#[cfg(test)]
mod tests {
    use super::super::model::build_schema;
    use super::super::parser::parse_schema;
    use super::*;

    #[test]
    fn masking_order_and_shapes_follow_qemu() {
        let schema = build_schema(
            &parse_schema(
                "{ 'command': 'first' }
                 { 'struct': 'Unused', 'data': { 'x': 'int' } }
                 { 'enum': 'E', 'data': [ 'a', { 'name': 'b', 'features': ['deprecated'] } ] }
                 { 'struct': 'S', 'data': { 'e': 'E', '*sizes': ['size'], 'n': 'uint8' },
                   'features': ['unstable'] }
                 { 'command': 'second', 'data': { 'list': ['S'] }, 'returns': 'S', 'allow-oob': true }
                 { 'event': 'EV', 'data': 'S' }
                 { 'alternate': 'Alt', 'data': { 'a': 'str', 'b': 'E' } }
                 { 'command': 'third', 'data': { 'alt': 'Alt' } }",
            )
            .unwrap(),
        )
        .unwrap();
        let info = schema_info(&schema);
        // Names are numbered when first used: E only when S is described,
        // after the argument type of `third` got its number.
        let expected = json!([
            { "name": "first", "arg-type": "0", "ret-type": "0", "meta-type": "command" },
            { "name": "second", "arg-type": "1", "ret-type": "2", "allow-oob": true, "meta-type": "command" },
            { "name": "EV", "arg-type": "2", "meta-type": "event" },
            { "name": "third", "arg-type": "3", "ret-type": "0", "meta-type": "command" },
            { "name": "0", "members": [], "meta-type": "object" },
            { "name": "1", "members": [ { "name": "list", "type": "[2]" } ], "meta-type": "object" },
            { "name": "2", "meta-type": "object", "features": ["unstable"], "members": [
                { "name": "e", "type": "4" },
                { "name": "sizes", "type": "[int]", "default": null },
                { "name": "n", "type": "int" } ] },
            { "name": "3", "members": [ { "name": "alt", "type": "5" } ], "meta-type": "object" },
            { "name": "[2]", "element-type": "2", "meta-type": "array" },
            { "name": "4", "meta-type": "enum",
              "members": [ { "name": "a" }, { "name": "b", "features": ["deprecated"] } ],
              "values": ["a", "b"] },
            { "name": "[int]", "element-type": "int", "meta-type": "array" },
            { "name": "int", "json-type": "int", "meta-type": "builtin" },
            { "name": "5", "members": [ { "type": "str" }, { "type": "4" } ], "meta-type": "alternate" },
            { "name": "str", "json-type": "string", "meta-type": "builtin" },
        ]);
        assert_eq!(Value::Array(info), expected);
    }
}
