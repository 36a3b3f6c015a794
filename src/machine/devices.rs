//! The devices the command line adds: `-serial` ports, `-debugcon`, and
//! `-device` (QEMU's `qdev_device_add` for the device types we have).

use std::sync::{Arc, Mutex};

use hw::char::debugcon::{
    DebugCon, DEBUGCON_DEFAULT_IOBASE, DEBUGCON_DEFAULT_READBACK, DEBUGCON_IO_SIZE,
};
use hw::char::serial::{
    isa_serial_placement, IsaSerialPlacement, Serial, ISA_SERIAL_BAUDBASE, SERIAL_IO_SIZE,
};
use hw::core::bus::{lock, Bus};
use hw::core::chardev::{CharBackend, CharFrontend};
use hw::core::clock::Clock;
use hw::core::irq::{GsiLine, InterruptController};
use hw::core::qdev::PropertyValue;
use hw::core::system::SystemControl;
use hw::core::timer::{NotifyingDevice, TimerList, TimerNotifier};
use hw::misc::debug_exit::{DebugExit, DEBUG_EXIT_DEFAULT_IOBASE, DEBUG_EXIT_DEFAULT_IOSIZE};
use hw::pci::bridge::{PciBridge, PcieRootPort, RootPortProperties};
use hw::pci::bus::PciBus;

use super::pci::RootBus;
use super::MachineError;
use crate::chardev::{ChardevSet, ConnectError};
use crate::vl::description::{DeviceOptions, Dict, GlobalProperty, MachineDescription};
use crate::vl::validate_device;
use serde_json::Value;

/// What user-created devices are connected to.
pub struct DeviceWiring<'a> {
    pub pci_root: &'a RootBus,
    pub pio: &'a Bus,
    pub interrupts: &'a Arc<dyn InterruptController>,
    pub system: &'a Arc<dyn SystemControl>,
    pub timer_notifier: &'a Arc<dyn TimerNotifier>,
    /// The clock of the devices' timers (QEMU_CLOCK_VIRTUAL): the host's
    /// monotonic time on KVM, the test's virtual clock under qtest.
    pub virtual_clock: &'a Arc<dyn Clock>,
}

/// A device's typed properties, looked up by name.
struct Properties(Vec<(&'static str, PropertyValue)>);

/// The bus a created device sits on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceBus {
    Isa,
    /// PCI bus 0.
    PciRoot,
    /// The secondary bus of the bridge with this id.
    PciBridge(String),
}

/// A device the command line created, as realized: what the QOM tree
/// shows of it.
#[derive(Debug, Clone)]
pub struct CreatedDevice {
    pub driver: String,
    pub id: Option<String>,
    pub bus: DeviceBus,
    /// Every registry property with its QOM type and realized value.
    pub values: Vec<(String, String, Value)>,
    /// Child objects: name and type.
    pub children: Vec<(String, String)>,
}

impl CreatedDevice {
    /// The device's properties as given, defaults for the rest, and then
    /// the values realize settled (`resolved`).
    fn new(
        device: &DeviceOptions,
        props: &Properties,
        bus: DeviceBus,
        resolved: &[(&str, Value)],
    ) -> Self {
        let mut values = Vec::new();
        let mut children = Vec::new();
        let registry = hw::core::qdev::find_device_type(&device.driver);
        for info in registry.map_or(&[][..], |t| t.properties) {
            let class = hw::core::qom::types::class_property(info);
            if let hw::core::qdev::PropertyType::Child(type_name) = info.kind {
                children.push((info.name.to_owned(), type_name.to_owned()));
                continue;
            }
            let given = props.0.iter().rev().find(|(n, _)| *n == info.name);
            let value = resolved
                .iter()
                .find(|(n, _)| *n == info.name)
                .map(|(_, v)| v.clone())
                .or_else(|| given.map(|(_, v)| property_json(v)))
                .or(class.default)
                // A string property with no value reads as "".
                .unwrap_or_else(|| Value::String(String::new()));
            values.push((class.name, class.type_name, value));
        }
        CreatedDevice {
            driver: device.driver.clone(),
            id: device.id.clone(),
            bus,
            values,
            children,
        }
    }
}

/// A property value as `qom-get` returns it.
fn property_json(value: &PropertyValue) -> Value {
    match value {
        PropertyValue::Uint32(x) => Value::from(*x),
        PropertyValue::PciDevfn(devfn) => devfn.map_or(Value::from(-1), Value::from),
        PropertyValue::Bool(b) => Value::Bool(*b),
        PropertyValue::Chardev(id) => Value::String(id.clone()),
    }
}

impl Properties {
    fn uint(&self, name: &str) -> Option<u32> {
        self.0.iter().rev().find_map(|(n, v)| match v {
            PropertyValue::Uint32(x) if *n == name => Some(*x),
            _ => None,
        })
    }

    fn flag(&self, name: &str) -> Option<bool> {
        self.0.iter().rev().find_map(|(n, v)| match v {
            PropertyValue::Bool(x) if *n == name => Some(*x),
            _ => None,
        })
    }

    /// `addr=`, if it names a slot.
    fn devfn(&self) -> Option<u8> {
        self.0
            .iter()
            .rev()
            .find_map(|(n, v)| match v {
                PropertyValue::PciDevfn(x) if *n == "addr" => Some(*x),
                _ => None,
            })
            .flatten()
    }

    fn chardev(&self) -> Option<&str> {
        self.0.iter().rev().find_map(|(n, v)| match v {
            PropertyValue::Chardev(id) if *n == "chardev" => Some(id.as_str()),
            _ => None,
        })
    }
}

/// The devices `-serial` and `-debugcon` stand for, as `-device` options.
fn shorthand_devices(desc: &MachineDescription) -> Vec<DeviceOptions> {
    let device = |driver: &str, props: &[(&str, String)], location: String| DeviceOptions {
        driver: driver.to_string(),
        id: None,
        properties: props
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.clone())))
            .collect(),
        location,
        json: false,
    };
    let serials = desc
        .serials
        .iter()
        .enumerate()
        .filter_map(|(index, chardev)| {
            let chardev = chardev.as_ref()?;
            Some(device(
                "isa-serial",
                &[("index", index.to_string()), ("chardev", chardev.clone())],
                format!("-serial {chardev}"),
            ))
        });
    let debugcons = desc.debugcons.iter().map(|chardev| {
        device(
            "isa-debugcon",
            &[("chardev", chardev.clone())],
            format!("-debugcon {chardev}"),
        )
    });
    serials.chain(debugcons).collect()
}

/// A device's typed properties: `-global` values for its driver first, then
/// its own, so that its own win.
fn properties(
    device: &DeviceOptions,
    globals: &[GlobalProperty],
) -> Result<Properties, MachineError> {
    let global_props: Dict = globals
        .iter()
        .filter(|g| g.driver == device.driver)
        .map(|g| (g.property.clone(), Value::String(g.value.clone())))
        .collect();
    let defaults = DeviceOptions {
        properties: global_props,
        json: false,
        ..device.clone()
    };
    let mut values = validate_device(&defaults).map_err(|e| MachineError(e.to_string()))?;
    values.extend(validate_device(device).map_err(|e| MachineError(e.to_string()))?);
    Ok(Properties(values))
}

/// The backend of a serial port with no chardev.
struct NoBackend;

impl CharBackend for NoBackend {
    fn write(&self, _data: &[u8]) {}
    fn accept_input(&self) {}
}

/// Create the `-serial`, `-debugcon` and `-device` devices, in QEMU's order:
/// the serial ports first, then the key=value devices, then the JSON ones,
/// each in command-line order.
pub fn create_user_devices(
    desc: &MachineDescription,
    wiring: &DeviceWiring,
    chardevs: &mut ChardevSet,
    timers: &mut TimerList,
) -> Result<Vec<CreatedDevice>, MachineError> {
    let mut created = Vec::new();
    let mut serial_count = 0;
    // QEMU 7.2 creates the key=value `-device`s before the JSON ones.
    let key_value = desc.devices.iter().filter(|d| !d.json);
    let json = desc.devices.iter().filter(|d| d.json);
    for device in shorthand_devices(desc).iter().chain(key_value).chain(json) {
        let props = properties(device, &desc.globals)?;
        let location = &device.location;
        let isa = |resolved: &[(&str, Value)]| {
            CreatedDevice::new(device, &props, DeviceBus::Isa, resolved)
        };
        let record = match device.driver.as_str() {
            "isa-serial" => {
                let placement = add_serial(
                    wiring,
                    chardevs,
                    timers,
                    SerialPlacement {
                        index: props.uint("index").map(|i| i as usize),
                        iobase: props.uint("iobase").and_then(|b| u16::try_from(b).ok()),
                        irq: props.uint("irq").and_then(|i| u8::try_from(i).ok()),
                    },
                    props.chardev(),
                    location,
                    serial_count,
                )?;
                serial_count += 1;
                isa(&[
                    ("index", Value::from(placement.index)),
                    ("iobase", Value::from(placement.iobase)),
                    ("irq", Value::from(placement.irq)),
                ])
            }
            "isa-debugcon" => {
                add_debugcon(
                    wiring,
                    chardevs,
                    u64::from(
                        props
                            .uint("iobase")
                            .unwrap_or(u32::from(DEBUGCON_DEFAULT_IOBASE)),
                    ),
                    props.uint("readback").unwrap_or(DEBUGCON_DEFAULT_READBACK),
                    props.chardev(),
                    location,
                )?;
                isa(&[])
            }
            "isa-debug-exit" => {
                let iobase = props
                    .uint("iobase")
                    .unwrap_or(u32::from(DEBUG_EXIT_DEFAULT_IOBASE));
                let iosize = props
                    .uint("iosize")
                    .map_or(DEBUG_EXIT_DEFAULT_IOSIZE, u64::from);
                let device = Arc::new(Mutex::new(DebugExit::new(wiring.system.clone())));
                insert(
                    wiring.pio,
                    u64::from(iobase),
                    iosize,
                    "isa-debug-exit",
                    device,
                    location,
                )?;
                isa(&[])
            }
            "pcie-root-port" | "pci-bridge" => {
                let (bus, devfn) = add_pci_bridge(wiring.pci_root, device, &props)?;
                CreatedDevice::new(device, &props, bus, &[("addr", Value::from(devfn))])
            }
            other => {
                return Err(MachineError::at(
                    location,
                    format!("'{other}' is not a valid device model name"),
                ))
            }
        };
        created.push(record);
    }
    Ok(created)
}

/// The `isa-serial` properties that place it, unset ones defaulted by index.
struct SerialPlacement {
    index: Option<usize>,
    iobase: Option<u16>,
    irq: Option<u8>,
}

/// Map a device at its ports, named as QEMU names its region.
fn insert(
    bus: &Bus,
    base: u64,
    len: u64,
    name: &'static str,
    device: hw::core::bus::SharedDevice,
    location: &str,
) -> Result<(), MachineError> {
    bus.insert(base, len, name, device).map_err(|_| {
        MachineError::at(
            location,
            format!("I/O port {base:#x} is already in use by another device"),
        )
    })
}

fn add_serial(
    wiring: &DeviceWiring,
    chardevs: &mut ChardevSet,
    timers: &mut TimerList,
    place: SerialPlacement,
    chardev: Option<&str>,
    location: &str,
    serial_count: usize,
) -> Result<IsaSerialPlacement, MachineError> {
    let placement = isa_serial_placement(place.index, place.iobase, place.irq, serial_count)
        .map_err(|e| MachineError::at(location, e))?;
    let irq = Arc::new(GsiLine::new(
        wiring.interrupts.clone(),
        u32::from(placement.irq),
    ));
    let clock = wiring.virtual_clock.clone();
    let make = |backend| Serial::new(irq, backend, clock.clone(), ISA_SERIAL_BAUDBASE);
    let serial = match chardev {
        Some(id) => connect(chardevs, id, "serial", location, make)?,
        // A port with no chardev is still there; what it sends goes nowhere.
        None => Arc::new(Mutex::new(make(Arc::new(NoBackend)))),
    };
    timers.add(serial.clone(), clock);
    let on_bus = NotifyingDevice::new(serial, wiring.timer_notifier.clone());
    insert(
        wiring.pio,
        u64::from(placement.iobase),
        SERIAL_IO_SIZE,
        "serial",
        Arc::new(Mutex::new(on_bus)),
        location,
    )?;
    Ok(placement)
}

fn add_debugcon(
    wiring: &DeviceWiring,
    chardevs: &mut ChardevSet,
    iobase: u64,
    readback: u32,
    chardev: Option<&str>,
    location: &str,
) -> Result<(), MachineError> {
    let id = chardev.ok_or_else(|| {
        MachineError::at(location, "Can't create debugcon device, empty char device")
    })?;
    let device = connect(chardevs, id, "isa-debugcon", location, |backend| {
        DebugCon::new(backend, readback)
    })?;
    insert(
        wiring.pio,
        iobase,
        DEBUGCON_IO_SIZE,
        "isa-debugcon",
        device,
        location,
    )
}

/// Connect a new device to chardev `id`, building it around its backend.
/// `owner` is the QOM type whose `chardev` property QEMU's errors name.
fn connect<F: CharFrontend + 'static>(
    chardevs: &mut ChardevSet,
    id: &str,
    owner: &str,
    location: &str,
    make: impl FnOnce(Arc<dyn CharBackend>) -> F,
) -> Result<Arc<Mutex<F>>, MachineError> {
    chardevs.connect_new_frontend(id, make).map_err(|e| {
        let message = match e {
            ConnectError::NotFound(_) => {
                format!("Property '{owner}.chardev' can't find value '{id}'")
            }
            ConnectError::InUse(_) => {
                format!("Property '{owner}.chardev' can't take value '{id}': {e}")
            }
        };
        MachineError::at(location, message)
    })
}

/// Run `plug` on the bus `bus=` names: bus 0 by default or by its name, or
/// the secondary bus of a bridge on bus 0 named by the bridge's id.
fn with_pci_bus<R>(
    root: &RootBus,
    device: &DeviceOptions,
    plug: impl FnOnce(&mut PciBus, DeviceBus) -> Result<R, MachineError>,
) -> Result<R, MachineError> {
    let name = match device.properties.get("bus") {
        None => None,
        Some(Value::String(name)) => Some(name.as_str()),
        Some(_) => {
            return Err(MachineError::at(
                &device.location,
                "Invalid parameter type for 'bus', expected: string",
            ))
        }
    };
    let not_found =
        |name: &str| MachineError::at(&device.location, format!("Bus '{name}' not found"));
    let mut bus = lock(&root.bus);
    match name {
        None => plug(&mut bus, DeviceBus::PciRoot),
        Some(name) if name == root.name => plug(&mut bus, DeviceBus::PciRoot),
        Some("isa.0") => Err(MachineError::at(
            &device.location,
            format!("Device '{}' can't go on ISA bus", device.driver),
        )),
        Some(name) => {
            let bridge = bus
                .devices()
                .find(|(_, entry)| entry.qdev_id.as_deref() == Some(name))
                .map(|(_, entry)| entry.device.clone())
                .ok_or_else(|| not_found(name))?;
            let mut bridge = lock(&bridge);
            let secondary = bridge.secondary_bus_mut().ok_or_else(|| not_found(name))?;
            plug(secondary, DeviceBus::PciBridge(name.to_owned()))
        }
    }
}

/// `pcie-root-port` and `pci-bridge`: at `addr=` or the first free slot of
/// their bus. Returns the bus and the devfn.
fn add_pci_bridge(
    root: &RootBus,
    device: &DeviceOptions,
    props: &Properties,
) -> Result<(DeviceBus, u8), MachineError> {
    let location = device.location.as_str();
    with_pci_bus(root, device, |bus, bus_kind| {
        let plug_error = |e: hw::pci::bus::PciBusError| MachineError::at(location, e);
        let devfn = match props.devfn() {
            Some(devfn) => devfn,
            None => bus.free_devfn(&device.driver).map_err(plug_error)?,
        };
        // The registry limits these properties to 8 and 16 bits.
        let byte = |name| {
            props
                .uint(name)
                .and_then(|v| u8::try_from(v).ok())
                .unwrap_or(0)
        };
        let bridge: hw::pci::device::SharedPciDevice = if device.driver == "pci-bridge" {
            Arc::new(Mutex::new(PciBridge::new(bus, devfn, byte("chassis_nr"))))
        } else {
            let properties = RootPortProperties {
                port: byte("port"),
                chassis: byte("chassis"),
                slot: props
                    .uint("slot")
                    .and_then(|v| u16::try_from(v).ok())
                    .unwrap_or(0),
                hotplug: props.flag("hotplug").unwrap_or(true),
            };
            Arc::new(Mutex::new(PcieRootPort::new(bus, devfn, properties)))
        };
        let multifunction = props.flag("multifunction").unwrap_or(false);
        bus.plug(devfn, bridge, multifunction, device.id.clone())
            .map_err(plug_error)?;
        // QEMU checks the chassis once the bridge has its slot.
        let chassis_nr = props.uint("chassis_nr").unwrap_or(0);
        if device.driver == "pci-bridge" && chassis_nr == 0 {
            return Err(MachineError::at(
                location,
                "Bridge chassis not specified. Each bridge is required to be assigned a unique chassis id > 0.",
            ));
        }
        Ok((bus_kind, devfn))
    })
}
