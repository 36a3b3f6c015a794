//! The type registry: every QOM type we have, with its parent, whether it
//! is abstract, the interfaces it implements and the properties its
//! objects get (`qom-list-types`, `qom-list-properties`,
//! `device-list-properties`).

use serde_json::Value;

use crate::core::qdev::{DeviceTypeInfo, PropertyInfo, PropertyType, DEVICE_TYPES};

/// A property every object of a type has.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassProperty {
    pub name: String,
    /// QOM's type name: "bool", "uint32", "child<serial>", "link<bus>"...
    pub type_name: String,
    pub description: Option<String>,
    /// The default `device-list-properties` shows, for qdev properties.
    pub default: Option<Value>,
}

impl ClassProperty {
    pub fn new(name: &str, type_name: &str) -> Self {
        ClassProperty {
            name: name.to_owned(),
            type_name: type_name.to_owned(),
            description: None,
            default: None,
        }
    }

    pub fn described(mut self, description: &str) -> Self {
        self.description = Some(description.to_owned());
        self
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TypeInfo {
    pub name: String,
    /// None for the roots: `object` and `interface`.
    pub parent: Option<String>,
    pub is_abstract: bool,
    pub interfaces: Vec<String>,
    /// What this type adds to its parent's properties.
    pub properties: Vec<ClassProperty>,
}

impl TypeInfo {
    pub fn new(name: &str, parent: &str) -> Self {
        TypeInfo {
            name: name.to_owned(),
            parent: Some(parent.to_owned()),
            is_abstract: false,
            interfaces: Vec::new(),
            properties: Vec::new(),
        }
    }

    pub fn abstract_type(name: &str, parent: &str) -> Self {
        TypeInfo {
            is_abstract: true,
            ..TypeInfo::new(name, parent)
        }
    }

    pub fn with_interfaces(mut self, interfaces: &[&str]) -> Self {
        self.interfaces = interfaces.iter().map(|i| (*i).to_owned()).collect();
        self
    }

    pub fn with_properties(mut self, properties: Vec<ClassProperty>) -> Self {
        self.properties = properties;
        self
    }
}

/// The properties qdev gives every device, which `device-list-properties`
/// leaves out.
pub const DEVICE_BASE_PROPERTIES: [&str; 4] =
    ["parent_bus", "realized", "hotplugged", "hotpluggable"];

/// Why a type cannot be listed as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeLookupError {
    /// No type of that name.
    Unknown,
    /// `device-list-properties` of a type that is no device or abstract.
    NotInstantiableDevice,
    /// `qom-list-properties` of an interface.
    NotAnObject,
}

#[derive(Debug, Clone, Default)]
pub struct TypeRegistry {
    types: Vec<TypeInfo>,
}

impl TypeRegistry {
    /// The registry with the types the device models here define: the
    /// QOM roots, the buses, the chipset devices and every `-device` type.
    pub fn new() -> Self {
        let mut registry = TypeRegistry::default();
        for info in core_types() {
            registry.register(info);
        }
        for device in DEVICE_TYPES {
            registry.register(device_type(device));
        }
        registry
    }

    pub fn register(&mut self, info: TypeInfo) {
        self.types.push(info);
    }

    pub fn find(&self, name: &str) -> Option<&TypeInfo> {
        self.types.iter().find(|t| t.name == name)
    }

    /// The type and its ancestors, the type first.
    fn lineage<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a TypeInfo> + 'a {
        std::iter::successors(self.find(name), move |t| {
            t.parent.as_deref().and_then(|p| self.find(p))
        })
    }

    /// Whether `name` is `ancestor`, derives from it or implements it as an
    /// interface (its own or an ancestor's, or a parent of one of those).
    pub fn implements(&self, name: &str, ancestor: &str) -> bool {
        self.lineage(name).any(|t| {
            t.name == ancestor
                || t.interfaces
                    .iter()
                    .any(|i| self.lineage(i).any(|it| it.name == ancestor))
        })
    }

    /// `qom-list-types`: the types implementing `implements` (all when
    /// None), abstract ones only if asked.
    pub fn list(&self, implements: Option<&str>, include_abstract: bool) -> Vec<&TypeInfo> {
        self.types
            .iter()
            .filter(|t| include_abstract || !t.is_abstract)
            .filter(|t| implements.is_none_or(|i| self.implements(&t.name, i)))
            .collect()
    }

    /// The properties of objects of `name`: its ancestors' first, a
    /// type's own definition replacing an inherited one of the same name.
    pub fn properties(&self, name: &str) -> Result<Vec<ClassProperty>, TypeLookupError> {
        self.find(name).ok_or(TypeLookupError::Unknown)?;
        if !self.implements(name, "object") {
            return Err(TypeLookupError::NotAnObject);
        }
        let mut lineage: Vec<&TypeInfo> = self.lineage(name).collect();
        lineage.reverse();
        let mut properties: Vec<ClassProperty> = Vec::new();
        for property in lineage.iter().flat_map(|t| &t.properties) {
            match properties.iter_mut().find(|p| p.name == property.name) {
                Some(existing) => *existing = property.clone(),
                None => properties.push(property.clone()),
            }
        }
        Ok(properties)
    }

    /// `device-list-properties`: a concrete device type's properties, less
    /// the ones qdev gives every device.
    pub fn device_properties(&self, name: &str) -> Result<Vec<ClassProperty>, TypeLookupError> {
        let info = self.find(name).ok_or(TypeLookupError::Unknown)?;
        if info.is_abstract || !self.implements(name, "device") {
            return Err(TypeLookupError::NotInstantiableDevice);
        }
        Ok(self
            .properties(name)?
            .into_iter()
            .filter(|p| p.name != "type" && !DEVICE_BASE_PROPERTIES.contains(&p.name.as_str()))
            .collect())
    }
}

/// A qdev property's default as the JSON value QEMU reports.
fn default_value(property: &PropertyInfo) -> Option<Value> {
    let text = property.default?;
    match property.kind {
        PropertyType::Bool => Some(Value::Bool(text == "true")),
        PropertyType::Chardev | PropertyType::Child(_) => None,
        _ => text.parse::<i64>().ok().map(Value::from),
    }
}

pub fn class_property(property: &PropertyInfo) -> ClassProperty {
    ClassProperty {
        name: property.name.to_owned(),
        type_name: property.kind.type_name(),
        description: property.description.map(str::to_owned),
        default: default_value(property),
    }
}

fn device_type(device: &DeviceTypeInfo) -> TypeInfo {
    TypeInfo::new(device.name, device.parent)
        .with_interfaces(device.interfaces)
        .with_properties(device.properties.iter().map(class_property).collect())
}

/// The types the QOM roots, buses and chipset devices need, with QEMU
/// 7.2's parents and interfaces.
fn core_types() -> Vec<TypeInfo> {
    let root = |name: &str| TypeInfo {
        name: name.to_owned(),
        parent: None,
        is_abstract: true,
        interfaces: Vec::new(),
        properties: Vec::new(),
    };
    let object = TypeInfo {
        properties: vec![ClassProperty::new("type", "string")],
        ..root("object")
    };
    let device = TypeInfo::abstract_type("device", "object").with_properties(vec![
        ClassProperty::new("parent_bus", "link<bus>"),
        ClassProperty::new("realized", "bool"),
        ClassProperty::new("hotplugged", "bool"),
        ClassProperty::new("hotpluggable", "bool"),
    ]);
    let conventional = ["conventional-pci-device"];
    vec![
        object,
        root("interface"),
        TypeInfo::abstract_type("conventional-pci-device", "interface"),
        TypeInfo::abstract_type("pci-express-device", "interface"),
        TypeInfo::new("container", "object"),
        TypeInfo::abstract_type("bus", "object"),
        TypeInfo::new("PCI", "bus"),
        TypeInfo::new("PCIE", "PCI"),
        TypeInfo::new("ISA", "bus"),
        device,
        TypeInfo::abstract_type("sys-bus-device", "device"),
        TypeInfo::abstract_type("isa-device", "device"),
        TypeInfo::abstract_type("pci-device", "device"),
        TypeInfo::abstract_type("base-pci-bridge", "pci-device"),
        TypeInfo::abstract_type("pcie-port", "base-pci-bridge"),
        TypeInfo::abstract_type("pcie-slot", "pcie-port"),
        TypeInfo::abstract_type("pcie-root-port-base", "pcie-slot")
            .with_interfaces(&["pci-express-device"]),
        TypeInfo::abstract_type("pci-host-bridge", "sys-bus-device"),
        TypeInfo::abstract_type("pcie-host-bridge", "pci-host-bridge"),
        TypeInfo::new("i440FX-pcihost", "pci-host-bridge"),
        TypeInfo::new("q35-pcihost", "pcie-host-bridge"),
        TypeInfo::new("i440FX", "pci-device").with_interfaces(&conventional),
        TypeInfo::abstract_type("pci-piix3", "pci-device").with_interfaces(&conventional),
        TypeInfo::new("PIIX3", "pci-piix3"),
        TypeInfo::new("mch", "pci-device").with_interfaces(&conventional),
        TypeInfo::new("ICH9-LPC", "pci-device").with_interfaces(&conventional),
        TypeInfo::abstract_type("fw_cfg", "sys-bus-device"),
        TypeInfo::new("fw_cfg_io", "fw_cfg"),
        TypeInfo::new("mc146818rtc", "isa-device"),
        TypeInfo::new("i8042", "isa-device"),
        TypeInfo::new("port92", "isa-device"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implements_follows_parents_and_interfaces() {
        let registry = TypeRegistry::new();
        assert!(registry.implements("pcie-root-port", "pci-device"));
        assert!(registry.implements("pcie-root-port", "pci-express-device"));
        assert!(registry.implements("pcie-root-port", "interface"));
        assert!(!registry.implements("pci-bridge", "pci-express-device"));
        assert!(!registry.implements("isa-serial", "pci-device"));
        let bridges: Vec<&str> = registry
            .list(Some("base-pci-bridge"), false)
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        assert_eq!(bridges, ["pci-bridge", "pcie-root-port"]);
        assert!(registry.list(Some("nosuch"), true).is_empty());
    }

    /// `device-list-properties isa-debug-exit` of QEMU 7.2, as a set.
    #[test]
    fn device_properties_are_qemus() {
        let registry = TypeRegistry::new();
        let mut listed = registry.device_properties("isa-debug-exit").unwrap();
        listed.sort_by(|a, b| a.name.cmp(&b.name));
        let mut iobase = ClassProperty::new("iobase", "uint32");
        iobase.default = Some(Value::from(1281));
        let mut iosize = ClassProperty::new("iosize", "uint32");
        iosize.default = Some(Value::from(2));
        assert_eq!(listed, [iobase, iosize]);
        assert_eq!(
            registry.device_properties("pci-device"),
            Err(TypeLookupError::NotInstantiableDevice)
        );
        assert_eq!(
            registry.device_properties("container"),
            Err(TypeLookupError::NotInstantiableDevice)
        );
        assert_eq!(
            registry.device_properties("nosuch"),
            Err(TypeLookupError::Unknown)
        );
    }
}
