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
    let empty = Map::new();
    // A `props` that is not an object is ignored, as QEMU does.
    let requested = match &model.props {
        Some(Value::Object(props)) => props,
        _ => &empty,
    };
    let request = sort_request(definition, requested, &resolve(definition, &[], &host)?)?;
    let cpu = resolve_reporting(definition, &request.switches, &host)?;
    let mut props = full_properties(&cpu);
    for (name, value) in &request.settings {
        set_value(&mut props, name, value);
    }
    let (name, props) = match expansion {
        CpuModelExpansionType::Full => (
            model.name,
            props.into_iter().map(|p| (p.name, p.value)).collect(),
        ),
        CpuModelExpansionType::Static => ("base".to_string(), static_expansion(&props)),
    };
    Ok(CpuModelExpansionInfo {
        model: CpuModelInfo {
            name,
            props: Some(Value::Object(props)),
        },
    })
}

/// A request's properties, checked: the features to resolve the CPU with
/// and the other settings' values.
struct Request<'a> {
    switches: Vec<(String, bool)>,
    settings: Vec<(&'a str, Value)>,
}

/// Check `requested` against the properties of `baseline` (the model
/// unchanged) in the order QEMU sets them, its dictionary's, stopping at
/// the first that fails.
fn sort_request<'a>(
    model: &CpuModel,
    requested: &'a Map<String, Value>,
    baseline: &GuestCpu,
) -> Result<Request<'a>, QmpError> {
    let known = full_properties(baseline);
    let read_only: Vec<String> = properties(baseline, Stage::Unrealized)
        .into_iter()
        .filter(|s| !s.writable)
        .map(|s| s.property.name)
        .chain(READ_ONLY.iter().map(|name| name.to_string()))
        .collect();
    let mut request = Request {
        switches: Vec::new(),
        settings: Vec::new(),
    };
    for (name, value) in qdict_order(requested) {
        if is_switch(model, name) {
            let on = value
                .as_bool()
                .ok_or_else(|| invalid_type(name, "boolean"))?;
            request.switches.push((name.clone(), on));
        } else if let Some(property) = known.iter().find(|p| p.name == *name) {
            request.settings.push((name, checked(property, value)?));
        } else if read_only.contains(name) {
            return Err(QmpError::generic(format!(
                "Property '{}.{name}' is not writable",
                typename(model)
            )));
        } else {
            return Err(QmpError::generic(format!(
                "Property '{}.{name}' not found",
                typename(model)
            )));
        }
    }
    Ok(request)
}

/// Give property `name` (and its other spelling, if it has one) `value`.
fn set_value(props: &mut [CpuProperty], name: &str, value: &Value) {
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

/// The static properties, in the order QEMU copies them: that of a
/// dictionary of their names it builds first.
fn static_expansion(props: &[CpuProperty]) -> Map<String, Value> {
    let names: Map<String, Value> = static_property_names()
        .into_iter()
        .map(|name| (name.to_string(), Value::Null))
        .collect();
    qdict_order(&names)
        .into_iter()
        .filter_map(|(name, _)| {
            let p = props.iter().find(|p| p.name == *name)?;
            Some((p.name.clone(), p.value.clone()))
        })
        .collect()
}

/// Properties every device has that a request cannot set.
const READ_ONLY: &[&str] = &["type", "parent_bus", "hotplugged", "hotpluggable"];

/// Settings other than features that QEMU offers under a second name.
const SETTING_ALIASES: &[(&str, &str)] = &[("lbr_fmt", "lbr-fmt"), ("hv-apicv", "hv-avic")];

/// A feature, an alias of one, or `migratable` of `host` and `max`: the
/// CPU is resolved with it.
fn is_switch(model: &CpuModel, name: &str) -> bool {
    is_feature_name(name)
        || ALIASES.iter().any(|(alias, _)| *alias == name)
        || (name == "migratable" && model.kind == ModelKind::Passthrough)
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
