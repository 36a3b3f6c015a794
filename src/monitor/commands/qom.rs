//! The object model over QMP: `qom-list`, `qom-get`, `qom-set` on the
//! machine's tree, and `qom-list-types`, `qom-list-properties`,
//! `device-list-properties` on the type registry, with QEMU 7.2's errors.

use hw::core::qom::{ClassProperty, QomError, Resolved, TypeLookupError};
use qapi::types::{ObjectPropertyInfo, ObjectTypeInfo};
use qapi::{ErrorClass, QmpError};
use serde_json::Value;

use crate::machine::qom::{type_registry, MachineTree};

fn qmp_error(error: QomError) -> QmpError {
    match error {
        QomError::DeviceNotFound(desc) => QmpError::new(ErrorClass::DeviceNotFound, desc),
        QomError::Generic(desc) => QmpError::generic(desc),
    }
}

fn device_not_found(path: &str) -> QmpError {
    QmpError::new(
        ErrorClass::DeviceNotFound,
        format!("Device '{path}' not found"),
    )
}

/// The object at `path`; qom-get and qom-set report an ambiguous path as
/// not found, as QEMU does.
fn find(tree: &MachineTree, path: &str) -> Result<hw::core::qom::ObjectId, QmpError> {
    match tree.tree.resolve(path) {
        Resolved::Found(object) => Ok(object),
        Resolved::NotFound | Resolved::Ambiguous => Err(device_not_found(path)),
    }
}

pub fn qom_list(tree: &MachineTree, path: &str) -> Result<Vec<ObjectPropertyInfo>, QmpError> {
    let object = match tree.tree.resolve(path) {
        Resolved::Found(object) => object,
        Resolved::Ambiguous => {
            return Err(QmpError::generic(format!("Path '{path}' is ambiguous")))
        }
        Resolved::NotFound => return Err(device_not_found(path)),
    };
    Ok(tree
        .tree
        .list(object)
        .into_iter()
        .map(|p| ObjectPropertyInfo {
            name: p.name,
            r#type: p.type_name,
            description: None,
            default_value: None,
        })
        .collect())
}

pub fn qom_get(tree: &MachineTree, path: &str, property: &str) -> Result<Value, QmpError> {
    let object = find(tree, path)?;
    tree.tree.get(object, property).map_err(qmp_error)
}

pub fn qom_set(
    tree: &mut MachineTree,
    path: &str,
    property: &str,
    value: Value,
) -> Result<(), QmpError> {
    let object = find(tree, path)?;
    tree.tree.set(object, property, value).map_err(qmp_error)
}

pub fn qom_list_types(implements: Option<&str>, include_abstract: bool) -> Vec<ObjectTypeInfo> {
    type_registry()
        .list(implements, include_abstract)
        .into_iter()
        .map(|t| ObjectTypeInfo {
            name: t.name.clone(),
            r#abstract: t.is_abstract.then_some(true),
            parent: t.parent.clone(),
        })
        .collect()
}

fn property_info(property: ClassProperty, with_default: bool) -> ObjectPropertyInfo {
    ObjectPropertyInfo {
        name: property.name,
        r#type: property.type_name,
        description: property.description,
        default_value: property.default.filter(|_| with_default),
    }
}

pub fn qom_list_properties(typename: &str) -> Result<Vec<ObjectPropertyInfo>, QmpError> {
    let properties = type_registry().properties(typename).map_err(|e| match e {
        TypeLookupError::NotAnObject => {
            QmpError::generic("Parameter 'typename' expects a QOM type")
        }
        _ => QmpError::new(
            ErrorClass::DeviceNotFound,
            format!("Class '{typename}' not found"),
        ),
    })?;
    Ok(properties
        .into_iter()
        .map(|p| property_info(p, false))
        .collect())
}

pub fn device_list_properties(typename: &str) -> Result<Vec<ObjectPropertyInfo>, QmpError> {
    let properties = type_registry()
        .device_properties(typename)
        .map_err(|e| match e {
            TypeLookupError::Unknown => device_not_found(typename),
            TypeLookupError::NotInstantiableDevice | TypeLookupError::NotAnObject => {
                QmpError::generic("Parameter 'typename' expects a non-abstract device type")
            }
        })?;
    Ok(properties
        .into_iter()
        .map(|p| property_info(p, true))
        .collect())
}
