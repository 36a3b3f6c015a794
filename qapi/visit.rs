//! Reading QMP arguments into the generated types, with the errors QEMU's
//! input visitor (`qapi/qobject-input-visitor.c`) gives.
//!
//! QEMU names what it is reading in two ways. Missing members, wrong JSON
//! types and leftover members use the full path from the arguments object
//! (`backend.data.out`, `keys[0].data`). Enum values and integer ranges,
//! checked one level up in QEMU, use only the member's own name, or `null`
//! for an element of a list.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::QmpError;
use crate::leftover_order;

/// How the value being read is named in error messages.
#[derive(Debug, Clone, Copy)]
pub struct Name<'a> {
    /// Path from the arguments object, e.g. `backend.data.out` or `keys[0]`.
    pub full: &'a str,
    /// The member name alone; `None` for a list element.
    pub member: Option<&'a str>,
}

impl Name<'_> {
    fn member_or_null(&self) -> &str {
        self.member.unwrap_or("null")
    }
}

/// A type that can be read from a QMP argument value.
pub trait FromQmp: Sized {
    fn from_qmp(value: &Value, name: Name<'_>) -> Result<Self, QmpError>;
}

/// A type read from the members of a JSON object; unions read their
/// branch's members from the same object as their base's.
pub trait ReadMembers: Sized {
    fn read_members(input: &mut ObjectInput<'_>) -> Result<Self, QmpError>;
}

fn invalid_type(name: Name<'_>, expected: &str) -> QmpError {
    QmpError::generic(format!(
        "Invalid parameter type for '{}', expected: {expected}",
        name.full
    ))
}

/// "Parameter 'x' expects T", QEMU's message for a value out of range.
fn expects(subject: &str, what: &str) -> QmpError {
    QmpError::generic(format!("Parameter '{subject}' expects {what}"))
}

/// The members of one JSON object being read; remembers which were read so
/// that the rest can be reported as unexpected.
pub struct ObjectInput<'a> {
    map: &'a Map<String, Value>,
    path: String,
    /// The members read so far, in reading order.
    read: Vec<&'a str>,
}

impl<'a> ObjectInput<'a> {
    /// `path` is the object's own full name, empty for the arguments object.
    pub fn new(map: &'a Map<String, Value>, path: &str) -> Self {
        ObjectInput {
            map,
            path: path.to_string(),
            read: Vec::new(),
        }
    }

    fn full_name(&self, member: &str) -> String {
        if self.path.is_empty() {
            member.to_string()
        } else {
            format!("{}.{member}", self.path)
        }
    }

    fn take(&mut self, member: &str) -> Option<&'a Value> {
        let (key, value) = self.map.get_key_value(member)?;
        self.read.push(key);
        Some(value)
    }

    /// A mandatory member: "Parameter 'x' is missing" when absent.
    pub fn required<T: FromQmp>(&mut self, member: &str) -> Result<T, QmpError> {
        let full = self.full_name(member);
        match self.take(member) {
            Some(value) => T::from_qmp(
                value,
                Name {
                    full: &full,
                    member: Some(member),
                },
            ),
            None => Err(QmpError::generic(format!("Parameter '{full}' is missing"))),
        }
    }

    /// An optional (`'*x'`) member: absent is `None`; present must be valid.
    pub fn optional<T: FromQmp>(&mut self, member: &str) -> Result<Option<T>, QmpError> {
        let full = self.full_name(member);
        match self.take(member) {
            Some(value) => T::from_qmp(
                value,
                Name {
                    full: &full,
                    member: Some(member),
                },
            )
            .map(Some),
            None => Ok(None),
        }
    }

    /// Fails when a member was not read: "Parameter 'x' is unexpected",
    /// naming the one QEMU would name among several.
    pub fn finish(self) -> Result<(), QmpError> {
        let keys: Vec<&str> = self.map.keys().map(String::as_str).collect();
        match leftover_order::first_unexpected(&keys, &self.read) {
            Some(key) => Err(QmpError::generic(format!(
                "Parameter '{}' is unexpected",
                self.full_name(key)
            ))),
            None => Ok(()),
        }
    }
}

/// Reads a whole JSON object with `T`'s members, refusing leftovers.
pub fn read_object<T: ReadMembers>(value: &Value, name: Name<'_>) -> Result<T, QmpError> {
    let map = value
        .as_object()
        .ok_or_else(|| invalid_type(name, "object"))?;
    let mut input = ObjectInput::new(map, name.full);
    let result = T::read_members(&mut input)?;
    input.finish()?;
    Ok(result)
}

/// Reads a command's arguments object (the root: member names unprefixed).
pub fn read_arguments<T: ReadMembers>(arguments: &Map<String, Value>) -> Result<T, QmpError> {
    let mut input = ObjectInput::new(arguments, "");
    let result = T::read_members(&mut input)?;
    input.finish()?;
    Ok(result)
}

/// Checks that a command without arguments got none.
pub fn no_arguments(arguments: &Map<String, Value>) -> Result<(), QmpError> {
    ObjectInput::new(arguments, "").finish()
}

/// The string of an enum value; the caller looks it up.
pub fn enum_str<'v>(value: &'v Value, name: Name<'_>) -> Result<&'v str, QmpError> {
    value.as_str().ok_or_else(|| invalid_type(name, "string"))
}

/// "Parameter 'x' does not accept value 'v'", for an unknown enum value.
pub fn enum_rejects(name: Name<'_>, value: &str) -> QmpError {
    QmpError::generic(format!(
        "Parameter '{}' does not accept value '{value}'",
        name.member_or_null()
    ))
}

/// An alternate whose branches all refuse the value's JSON type.
pub fn alternate_rejects(name: Name<'_>, type_name: &str) -> QmpError {
    QmpError::generic(format!(
        "Invalid parameter type for '{}', expected: {type_name}",
        name.member_or_null()
    ))
}

/// Serialises a command's return value.
pub fn return_value<T: Serialize>(value: &T) -> Result<Value, QmpError> {
    serde_json::to_value(value).map_err(|e| QmpError::generic(e.to_string()))
}

impl FromQmp for String {
    fn from_qmp(value: &Value, name: Name<'_>) -> Result<Self, QmpError> {
        value
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| invalid_type(name, "string"))
    }
}

impl FromQmp for bool {
    fn from_qmp(value: &Value, name: Name<'_>) -> Result<Self, QmpError> {
        value.as_bool().ok_or_else(|| invalid_type(name, "boolean"))
    }
}

impl FromQmp for f64 {
    fn from_qmp(value: &Value, name: Name<'_>) -> Result<Self, QmpError> {
        value.as_f64().ok_or_else(|| invalid_type(name, "number"))
    }
}

impl FromQmp for Value {
    fn from_qmp(value: &Value, _name: Name<'_>) -> Result<Self, QmpError> {
        Ok(value.clone())
    }
}

/// QAPI's `null`: only JSON null.
impl FromQmp for () {
    fn from_qmp(value: &Value, name: Name<'_>) -> Result<Self, QmpError> {
        if value.is_null() {
            Ok(())
        } else {
            Err(invalid_type(name, "null"))
        }
    }
}

impl FromQmp for i64 {
    fn from_qmp(value: &Value, name: Name<'_>) -> Result<Self, QmpError> {
        value.as_i64().ok_or_else(|| invalid_type(name, "integer"))
    }
}

/// `uint64` and `size`: QEMU also takes negative integers, as their
/// two's complement, for compatibility.
impl FromQmp for u64 {
    fn from_qmp(value: &Value, name: Name<'_>) -> Result<Self, QmpError> {
        value
            .as_u64()
            .or_else(|| value.as_i64().map(|v| v as u64))
            .ok_or_else(|| expects(name.full, "uint64"))
    }
}

/// The narrower integers: read as 64 bits, then checked against the range
/// under the member's own name and C type name, as QEMU does ("Parameter
/// 'to' expects uint16_t").
macro_rules! narrow_int {
    ($($ty:ty => $wide:ty, $qapi:literal;)*) => {$(
        impl FromQmp for $ty {
            fn from_qmp(value: &Value, name: Name<'_>) -> Result<Self, QmpError> {
                let wide = <$wide>::from_qmp(value, name)?;
                <$ty>::try_from(wide).map_err(|_| expects(name.member_or_null(), $qapi))
            }
        }
    )*};
}

narrow_int! {
    i8 => i64, "int8_t";
    i16 => i64, "int16_t";
    i32 => i64, "int32_t";
    u8 => u64, "uint8_t";
    u16 => u64, "uint16_t";
    u32 => u64, "uint32_t";
}

impl<T: FromQmp> FromQmp for Vec<T> {
    fn from_qmp(value: &Value, name: Name<'_>) -> Result<Self, QmpError> {
        let items = value
            .as_array()
            .ok_or_else(|| invalid_type(name, "array"))?;
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let full = format!("{}[{i}]", name.full);
                T::from_qmp(
                    item,
                    Name {
                        full: &full,
                        member: None,
                    },
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn root(member: &str) -> Name<'_> {
        Name {
            full: member,
            member: Some(member),
        }
    }

    // Texts as QEMU 7.2 gives them (see tests/data/qemu-7.2-argument-errors.log).
    #[test]
    fn scalar_type_errors() {
        let e = i64::from_qmp(&json!("1"), root("value")).unwrap_err();
        assert_eq!(
            e.desc,
            "Invalid parameter type for 'value', expected: integer"
        );
        let e = i64::from_qmp(&json!(1.5), root("val")).unwrap_err();
        assert_eq!(
            e.desc,
            "Invalid parameter type for 'val', expected: integer"
        );
        let e = i64::from_qmp(&json!(18446744073709551615u64), root("val")).unwrap_err();
        assert_eq!(
            e.desc,
            "Invalid parameter type for 'val', expected: integer"
        );
        let e = String::from_qmp(&json!(1), root("path")).unwrap_err();
        assert_eq!(
            e.desc,
            "Invalid parameter type for 'path', expected: string"
        );
        let e = bool::from_qmp(&json!("true"), root("append")).unwrap_err();
        assert_eq!(
            e.desc,
            "Invalid parameter type for 'append', expected: boolean"
        );
        let e = Vec::<i64>::from_qmp(&json!("x"), root("keys")).unwrap_err();
        assert_eq!(e.desc, "Invalid parameter type for 'keys', expected: array");
        let e = Vec::<i64>::from_qmp(&json!([1, "x"]), root("keys")).unwrap_err();
        assert_eq!(
            e.desc,
            "Invalid parameter type for 'keys[1]', expected: integer"
        );
    }

    #[test]
    fn unsigned_and_ranges() {
        assert_eq!(u64::from_qmp(&json!(-1), root("s")), Ok(u64::MAX));
        let e = u64::from_qmp(&json!("1"), root("s")).unwrap_err();
        assert_eq!(e.desc, "Parameter 's' expects uint64");
        let e = u8::from_qmp(&json!(256), root("u")).unwrap_err();
        assert_eq!(e.desc, "Parameter 'u' expects uint8_t");
        let e = i32::from_qmp(&json!(1i64 << 40), root("i")).unwrap_err();
        assert_eq!(e.desc, "Parameter 'i' expects int32_t");
        // A negative number for an unsigned member wraps, then is too big.
        let e = u16::from_qmp(&json!(-1), root("to")).unwrap_err();
        assert_eq!(e.desc, "Parameter 'to' expects uint16_t");
    }

    #[test]
    fn object_members() {
        let args = json!({"path": "/machine", "x": 1});
        let map = args.as_object().unwrap();
        let mut input = ObjectInput::new(map, "");
        assert_eq!(input.required::<String>("path").unwrap(), "/machine");
        let e = input.required::<String>("property").unwrap_err();
        assert_eq!(e.desc, "Parameter 'property' is missing");
        assert_eq!(input.optional::<String>("absent").unwrap(), None);
        let e = input.finish().unwrap_err();
        assert_eq!(e.desc, "Parameter 'x' is unexpected");

        let nested = json!({"out": 1});
        let mut input = ObjectInput::new(nested.as_object().unwrap(), "backend.data");
        let e = input.required::<String>("out").unwrap_err();
        assert_eq!(
            e.desc,
            "Invalid parameter type for 'backend.data.out', expected: string"
        );
    }
}
