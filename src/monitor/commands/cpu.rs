//! The CPU model queries, answered as QEMU 7.2 answers them under KVM:
//! `query-cpu-definitions` and `query-cpu-model-expansion`.

use serde_json::{Map, Value};

use qapi::types::{CpuDefinitionInfo, CpuModelExpansionInfo, CpuModelExpansionType, CpuModelInfo};
use qapi::{ErrorClass, QmpError};

use crate::accel::kvm::{host_msr_features, host_supported_cpuid, KvmError};
use crate::cpu::cpuid::{CpuidEntry, GuestCpu, HostCpuid, MissingFeature};
use crate::cpu::features::{ALIASES, FEATURE_WORDS, MSR_FEATURE_WORDS};
use crate::cpu::models::{find_model, CpuModel, ModelKind, CPU_MODELS};
use crate::cpu::properties::{
    filtered_feature_names, position_properties, properties, static_property_names, CpuProperty,
    Stage,
};
use crate::monitor::json_writer::qdict_order;

/// Every CPU model, in QEMU's order (the reverse of `-cpu help`'s), with
/// the features this host lacks for it.
pub fn query_cpu_definitions() -> Result<Vec<CpuDefinitionInfo>, QmpError> {
    let host = host()?;
    CPU_MODELS
        .iter()
        .rev()
        .map(|model| {
            let cpu = resolve(model, &[], &host)?;
            Ok(CpuDefinitionInfo {
                name: model.name.to_string(),
                migration_safe: Some(model.kind != ModelKind::Passthrough),
                r#static: model.kind == ModelKind::Empty,
                unavailable_features: Some(
                    filtered_feature_names(&cpu)
                        .into_iter()
                        .map(str::to_string)
                        .collect(),
                ),
                typename: typename(model),
                alias_of: model.alias_of.map(str::to_string),
                deprecated: false,
            })
        })
        .collect()
}

/// The properties of `model.name` with `model.props` applied: all of them
/// (`full`), or the `base` model plus the features and the few settings
/// that say what the CPU is (`static`).
pub fn query_cpu_model_expansion(
    expansion: CpuModelExpansionType,
    model: CpuModelInfo,
) -> Result<CpuModelExpansionInfo, QmpError> {
    let definition = find_model(&model.name)
        .ok_or_else(|| QmpError::generic(format!("CPU model '{}' not found", model.name)))?;
    let host = host()?;
    // QEMU sets the properties in its dictionary's order and stops at the
    // first that fails; a `props` that is not an object is ignored.
    let requested = match &model.props {
        Some(Value::Object(props)) => qdict_order(props),
        _ => Vec::new(),
    };
    let mut switches = Vec::new();
    let mut settings = Vec::new();
    let baseline = resolve(definition, &[], &host)?;
    let known = full_properties(&baseline);
    let read_only: Vec<String> = properties(&baseline, Stage::Unrealized)
        .into_iter()
        .filter(|s| !s.writable)
        .map(|s| s.property.name)
        .chain(READ_ONLY.iter().map(|name| name.to_string()))
        .collect();
    for (name, value) in requested {
        match property_kind(definition, name) {
            PropertyKind::Feature => {
                let on = value
                    .as_bool()
                    .ok_or_else(|| invalid_type(name, "boolean"))?;
                switches.push((name.clone(), on));
            }
            PropertyKind::Other => {
                let property = known.iter().find(|p| p.name == *name);
                match property {
                    Some(property) => settings.push((name.as_str(), checked(property, value)?)),
                    None if read_only.contains(name) => return Err(not_writable(definition, name)),
                    None => {
                        return Err(QmpError::generic(format!(
                            "Property '{}.{name}' not found",
                            typename(definition)
                        )))
                    }
                }
            }
        }
    }
    let cpu = resolve_reporting(definition, &switches, &host)?;
    let mut props = full_properties(&cpu);
    for (name, value) in settings {
        let other_name = SETTING_ALIASES.iter().find_map(|&(a, b)| {
            if name == a {
                Some(b)
            } else if name == b {
                Some(a)
            } else {
                None
            }
        });
        for p in props
            .iter_mut()
            .filter(|p| p.name == name || Some(p.name.as_str()) == other_name)
        {
            p.value = value.clone();
        }
    }
    let (name, props): (String, Map<String, Value>) = match expansion {
        CpuModelExpansionType::Full => (
            model.name,
            props.into_iter().map(|p| (p.name, p.value)).collect(),
        ),
        CpuModelExpansionType::Static => {
            // QEMU lists the names in a dictionary of its own and copies
            // the values over in that dictionary's order.
            let names: Map<String, Value> = static_property_names()
                .into_iter()
                .map(|name| (name.to_string(), Value::Null))
                .collect();
            let static_props = qdict_order(&names)
                .into_iter()
                .filter_map(|(name, _)| {
                    let p = props.iter().find(|p| p.name == *name)?;
                    Some((p.name.clone(), p.value.clone()))
                })
                .collect();
            ("base".to_string(), static_props)
        }
    };
    Ok(CpuModelExpansionInfo {
        model: CpuModelInfo {
            name,
            props: Some(Value::Object(props)),
        },
    })
}

/// Properties every device has that a request cannot set.
const READ_ONLY: &[&str] = &["type", "parent_bus", "hotplugged", "hotpluggable"];

/// Settings other than features that QEMU offers under a second name.
const SETTING_ALIASES: &[(&str, &str)] = &[("lbr_fmt", "lbr-fmt"), ("hv-apicv", "hv-avic")];

enum PropertyKind {
    /// A feature, an alias of one, or `migratable`: the CPU is resolved
    /// with it.
    Feature,
    /// Anything else: checked against its type and reported as set.
    Other,
}

fn property_kind(model: &CpuModel, name: &str) -> PropertyKind {
    let feature = is_feature_name(name) || ALIASES.iter().any(|(alias, _)| *alias == name);
    if feature || (name == "migratable" && model.kind == ModelKind::Passthrough) {
        PropertyKind::Feature
    } else {
        PropertyKind::Other
    }
}

fn is_feature_name(name: &str) -> bool {
    FEATURE_WORDS.iter().any(|w| w.mask_of(name) != 0)
        || MSR_FEATURE_WORDS
            .iter()
            .any(|w| w.names.iter().any(|(_, n)| *n == name))
}

/// What a full expansion reports: every property that can be both read
/// and written (less `hotplugged`), read before realize.
fn full_properties(cpu: &GuestCpu) -> Vec<CpuProperty> {
    let realized = CpuProperty {
        name: "realized".to_string(),
        type_name: "bool",
        value: Value::Bool(false),
    };
    properties(cpu, Stage::Unrealized)
        .into_iter()
        .filter(|s| s.writable)
        .map(|s| s.property)
        .chain(position_properties(None))
        .chain([realized])
        .collect()
}

/// `value` as property `property` takes it, or QEMU's error for it.
fn checked(property: &CpuProperty, value: &Value) -> Result<Value, QmpError> {
    let name = property.name.as_str();
    match property.type_name {
        "bool" => {
            let on = value
                .as_bool()
                .ok_or_else(|| invalid_type(name, "boolean"))?;
            if name == "realized" && on {
                return Err(QmpError::generic(
                    "apic-id property was not initialized properly",
                ));
            }
            Ok(Value::Bool(on))
        }
        "int" => {
            let number = value
                .as_i64()
                .ok_or_else(|| invalid_type(name, "integer"))?;
            let max = match name {
                "family" => 0xff + 0xf,
                "model" => 0xff,
                "stepping" => 0xf,
                _ => i64::MAX,
            };
            if !(0..=max).contains(&number) {
                return Err(QmpError::generic(format!(
                    "Property .{name} doesn't take value {number} (minimum: 0, maximum: {max})"
                )));
            }
            Ok(Value::from(number))
        }
        "int32" => {
            let number = value
                .as_i64()
                .ok_or_else(|| invalid_type(name, "integer"))?;
            i32::try_from(number)
                .map(Value::from)
                .map_err(|_| QmpError::generic(format!("Parameter '{name}' expects int32_t")))
        }
        "uint8" | "uint16" | "uint32" | "uint64" => checked_unsigned(property, value),
        "string" | "str" => {
            let text = value.as_str().ok_or_else(|| invalid_type(name, "string"))?;
            match name {
                "vendor" if text.len() != 12 => Err(QmpError::generic(format!(
                    "Property '.vendor' doesn't take value '{text}'"
                ))),
                // The brand string holds 48 bytes.
                "model-id" => Ok(Value::from(String::from_utf8_lossy(
                    &text.as_bytes()[..text.len().min(48)],
                ))),
                _ => Ok(Value::from(text)),
            }
        }
        "OnOffAuto" => {
            let text = value.as_str().ok_or_else(|| invalid_type(name, "string"))?;
            if ["on", "off", "auto"].contains(&text) {
                Ok(Value::from(text))
            } else {
                Err(QmpError::generic(format!(
                    "Parameter '{name}' does not accept value '{text}'"
                )))
            }
        }
        // The only link a CPU takes is its address space, which is the
        // machine's own and cannot be named here.
        _ => {
            let path = value.as_str().ok_or_else(|| invalid_type(name, "string"))?;
            Err(QmpError::new(
                ErrorClass::DeviceNotFound,
                format!("Device '{path}' not found"),
            ))
        }
    }
}

/// QEMU's unsigned properties read any JSON integer as a 64-bit value
/// (negative ones wrap), then check the property's width.
fn checked_unsigned(property: &CpuProperty, value: &Value) -> Result<Value, QmpError> {
    let name = property.name.as_str();
    let number = value
        .as_u64()
        .or_else(|| value.as_i64().map(|n| n as u64))
        .ok_or_else(|| QmpError::generic(format!("Parameter '{name}' expects uint64")))?;
    let (max, c_type) = match property.type_name {
        "uint8" => (u64::from(u8::MAX), "uint8_t"),
        "uint16" => (u64::from(u16::MAX), "uint16_t"),
        "uint32" => (u64::from(u32::MAX), "uint32_t"),
        _ => (u64::MAX, "uint64_t"),
    };
    if number > max {
        return Err(QmpError::generic(format!(
            "Parameter '{name}' expects {c_type}"
        )));
    }
    // The LBR format is a 6-bit field.
    if matches!(name, "lbr-fmt" | "lbr_fmt") && number & !0x3f != 0 {
        return Err(QmpError::generic(
            "Property value for 'lbr-fmt' has bits outside mask '0x3f'",
        ));
    }
    Ok(Value::from(number))
}

fn invalid_type(name: &str, expected: &str) -> QmpError {
    QmpError::generic(format!(
        "Invalid parameter type for '{name}', expected: {expected}"
    ))
}

fn not_writable(model: &CpuModel, name: &str) -> QmpError {
    QmpError::generic(format!(
        "Property '{}.{name}' is not writable",
        typename(model)
    ))
}

fn typename(model: &CpuModel) -> String {
    format!("{}-x86_64-cpu", model.name)
}

/// What KVM offers on this host.
struct Host {
    cpuid: Vec<CpuidEntry>,
    msr_features: Vec<(u32, u64)>,
}

fn host() -> Result<Host, QmpError> {
    let error = |e: KvmError| QmpError::generic(e.to_string());
    Ok(Host {
        cpuid: host_supported_cpuid().map_err(error)?,
        msr_features: host_msr_features().map_err(error)?,
    })
}

fn resolve(
    model: &'static CpuModel,
    switches: &[(String, bool)],
    host: &Host,
) -> Result<GuestCpu, QmpError> {
    resolve_with_warnings(model, switches, host).map(|(cpu, _)| cpu)
}

/// Like `resolve`, printing the warnings QEMU prints while it expands a
/// model: MSR features dropped for want of their CPUID bit. (It checks
/// the features against the host only when a CPU is realized.)
fn resolve_reporting(
    model: &'static CpuModel,
    switches: &[(String, bool)],
    host: &Host,
) -> Result<GuestCpu, QmpError> {
    let (cpu, missing) = resolve_with_warnings(model, switches, host)?;
    for m in missing
        .iter()
        .filter(|m| matches!(m, MissingFeature::Dependency { .. }))
    {
        eprintln!("qemu-system-x86_64: {}", m.warning());
    }
    Ok(cpu)
}

fn resolve_with_warnings(
    model: &'static CpuModel,
    switches: &[(String, bool)],
    host: &Host,
) -> Result<(GuestCpu, Vec<MissingFeature>), QmpError> {
    GuestCpu::new(model, switches, &HostCpuid(&host.cpuid))
        .map(|(cpu, missing)| (cpu.with_host_msr_features(&host.msr_features), missing))
        .map_err(|e| QmpError::generic(e.to_string()))
}
