//! The QOM tree of the machine, as QEMU 7.2 builds it for what we create:
//! `/machine` with its containers, the CPUs and chipset devices under
//! `/machine/unattached/device[N]`, the host bridge, fw_cfg, and the
//! `-device`s under `/machine/peripheral` and `/machine/peripheral-anon`.

use hw::core::qom::{
    Access, ClassProperty, DeviceSpec, GpioList, ObjectId, ObjectTree, Resolved, TypeInfo,
    TypeRegistry, ValueRule,
};
use hw::i386::memmap::PcMachineKind;
use serde_json::Value;

use super::devices::{CreatedDevice, DeviceBus};
use crate::cpu::cpuid::{GuestCpu, HostCpuid};
use crate::cpu::features::{find_feature, find_msr_feature};
use crate::cpu::properties::{
    cpu_position_properties, cpu_properties, position_properties, CpuPosition,
};
use crate::vl::description::{MachineDescription, SmpTopology};
use crate::vl::qdict::flag;

/// Where vCPU `index` sits in the topology (QEMU's socket/die/core/thread
/// numbering, the one the APIC ID packs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuTopologyIds {
    pub socket: u32,
    pub die: u32,
    pub core: u32,
    pub thread: u32,
}

impl CpuTopologyIds {
    pub fn of(index: u32, smp: SmpTopology) -> Self {
        CpuTopologyIds {
            thread: index % smp.threads,
            core: (index / smp.threads) % smp.cores,
            die: (index / (smp.threads * smp.cores)) % smp.dies,
            socket: index / (smp.threads * smp.cores * smp.dies),
        }
    }
}

/// A vCPU the machine created, as the tree holds it.
#[derive(Debug, Clone)]
pub struct CpuObject {
    pub object: ObjectId,
    pub topology: CpuTopologyIds,
}

/// The machine's tree and where its CPUs are in it.
#[derive(Debug, Clone)]
pub struct MachineTree {
    pub tree: ObjectTree,
    pub cpus: Vec<CpuObject>,
    /// The QOM type of the CPUs (`qemu64-x86_64-cpu`); None on `none`.
    pub cpu_type: Option<String>,
    /// The CMOS RTC, which events name by its path; None on `none`.
    pub rtc: Option<ObjectId>,
}

impl MachineTree {
    /// The RTC's canonical path (`/machine/unattached/device[N]`).
    pub fn rtc_path(&self) -> Option<String> {
        self.rtc.map(|rtc| self.tree.path(rtc))
    }

    /// Whether `path` (absolute, or partial as QEMU resolves it) names the
    /// IOAPIC, a child of the host bridge in QEMU 7.2
    /// (`/machine/i440fx/ioapic`, `/machine/q35/ioapic`), which this tree
    /// does not hold as an object yet.
    pub fn names_ioapic(&self, path: &str) -> bool {
        let Some(host) = ["/machine/i440fx", "/machine/q35"]
            .into_iter()
            .find(|host| matches!(self.tree.resolve(host), Resolved::Found(_)))
        else {
            return false;
        };
        let full = format!("{host}/ioapic");
        let parts = |p: &str| -> Vec<String> {
            p.split('/')
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let (wanted, full) = (parts(path), parts(&full));
        if path.starts_with('/') {
            wanted == full
        } else {
            !wanted.is_empty() && full.ends_with(&wanted)
        }
    }
}

/// The QOM type name of a machine type (`pc-q35-7.2-machine`).
pub fn machine_type_name(machine: &str) -> String {
    format!("{machine}-machine")
}

/// The QOM type name of a CPU model (`qemu64-x86_64-cpu`).
pub fn cpu_type_name(model: &str) -> String {
    format!("{model}-x86_64-cpu")
}

/// Every type we have: the device models' and the machine types and CPU
/// models of the command line, with QEMU 7.2's parents.
pub fn type_registry() -> TypeRegistry {
    let mut registry = TypeRegistry::new();
    registry.register(TypeInfo::abstract_type("machine", "object"));
    registry.register(TypeInfo::abstract_type("x86-machine", "machine"));
    registry.register(TypeInfo::abstract_type("generic-pc-machine", "x86-machine"));
    registry.register(TypeInfo::new("System", "bus"));
    for machine in crate::vl::machine::MACHINE_TYPES {
        let parent = if machine.name == "none" {
            "machine"
        } else {
            "generic-pc-machine"
        };
        let properties = crate::vl::machine::properties_of(machine)
            .map(|p| {
                let property = ClassProperty::new(p.name, p.type_name);
                match p.description {
                    Some(description) => property.described(description),
                    None => property,
                }
            })
            .collect();
        registry.register(
            TypeInfo::new(&machine_type_name(machine.name), parent).with_properties(properties),
        );
    }
    for info in object_types() {
        registry.register(info);
    }
    registry.register(TypeInfo::abstract_type("cpu", "device"));
    // The topology ones are qdev properties, with the defaults
    // `device-list-properties` shows: their values before realize.
    registry.register(
        TypeInfo::abstract_type("x86_64-cpu", "cpu").with_properties(
            position_properties(None)
                .into_iter()
                .map(|p| ClassProperty {
                    default: Some(p.value),
                    ..ClassProperty::new(&p.name, p.type_name)
                })
                .collect(),
        ),
    );
    for model in crate::cpu::models::CPU_MODELS {
        let parent = if model.name == "host" {
            cpu_type_name("max")
        } else {
            "x86_64-cpu".to_owned()
        };
        // The model's feature flags and identity, whose names and types do
        // not depend on the host. (QEMU's other CPU properties are qdev
        // properties with defaults of their own, not listed here.)
        let properties = GuestCpu::new(model, &[], &HostCpuid(&[]))
            .map(|(cpu, _)| cpu_properties(&cpu))
            .unwrap_or_default()
            .into_iter()
            .filter(|p| is_class_listed(&p.name))
            .map(|p| ClassProperty::new(&p.name, p.type_name))
            .collect();
        registry.register(
            TypeInfo::new(&cpu_type_name(model.name), &parent).with_properties(properties),
        );
    }
    registry
}

/// The CPU properties the CPU types list: the feature flags (under
/// every spelling) and the identity.
fn is_class_listed(name: &str) -> bool {
    find_feature(name).is_some()
        || find_msr_feature(name).is_some()
        || ["vendor", "family", "model", "stepping", "model-id"].contains(&name)
}

/// The `-object` types we have (`vl::objects::OBJECT_TYPES`) with the
/// properties and descriptions of QEMU 7.2's classes.
fn object_types() -> Vec<TypeInfo> {
    let described = |name: &str, type_name: &str, description: &str| {
        ClassProperty::new(name, type_name).described(description)
    };
    let plain = |name: &str, type_name: &str| ClassProperty::new(name, type_name);
    let memory_backend = vec![
        described(
            "share",
            "bool",
            "Mark the memory as private to QEMU or shared",
        ),
        described("size", "int", "Size of the memory region (ex: 500M)"),
        described("dump", "bool", "Set to 'off' to exclude from core dump"),
        described(
            "prealloc-threads",
            "int",
            "Number of CPU threads to use for prealloc",
        ),
        plain("x-use-canonical-path-for-ramblock-id", "bool"),
        described("policy", "HostMemPolicy", "Set the NUMA policy"),
        described(
            "prealloc-context",
            "link<thread-context>",
            "Context to use for creating CPU threads for preallocation",
        ),
        described("prealloc", "bool", "Preallocate memory"),
        described(
            "reserve",
            "bool",
            "Reserve swap space (or huge pages) if applicable",
        ),
        described(
            "host-nodes",
            "int",
            "Binds memory to the list of NUMA host nodes",
        ),
        described("merge", "bool", "Mark memory as mergeable"),
    ];
    let user_creatable = ["user-creatable"];
    vec![
        TypeInfo::abstract_type("user-creatable", "interface"),
        TypeInfo::abstract_type("memory-backend", "object")
            .with_interfaces(&user_creatable)
            .with_properties(memory_backend),
        TypeInfo::new("memory-backend-ram", "memory-backend"),
        TypeInfo::new("memory-backend-file", "memory-backend").with_properties(vec![
            plain("readonly", "bool"),
            plain("align", "int"),
            plain("pmem", "bool"),
            plain("mem-path", "string"),
            plain("discard-data", "bool"),
        ]),
        TypeInfo::new("memory-backend-memfd", "memory-backend").with_properties(vec![
            described("hugetlb", "bool", "Use huge pages"),
            described("seal", "bool", "Seal growing & shrinking"),
            described("hugetlbsize", "int", "Huge pages size (ex: 2M, 1G)"),
        ]),
        TypeInfo::abstract_type("secret_common", "object")
            .with_interfaces(&user_creatable)
            .with_properties(vec![
                plain("iv", "string"),
                plain("keyid", "string"),
                plain("loaded", "bool"),
                plain("format", "QCryptoSecretFormat"),
            ]),
        TypeInfo::new("secret", "secret_common")
            .with_properties(vec![plain("file", "string"), plain("data", "string")]),
    ]
}

/// `/machine` with its containers and the string properties the command
/// line sets.
fn machine_object(tree: &mut ObjectTree, desc: &MachineDescription) -> ObjectId {
    let root = tree.root();
    let machine = tree.add_child(root, "machine", &machine_type_name(&desc.machine.type_name));
    let text = |value: Option<String>| Value::String(value.unwrap_or_default());
    let path = |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| p.display().to_string());
    for (name, value) in [
        ("kernel", path(&desc.boot.kernel)),
        ("initrd", path(&desc.boot.initrd)),
        ("append", desc.boot.append.clone()),
    ] {
        tree.add_value(
            machine,
            name,
            "string",
            text(value),
            Access::Stored(ValueRule::Any),
        );
    }
    // What guest RAM was set up with; QEMU lets them be set afterwards,
    // which changes nothing for the RAM already there.
    for name in ["dump-guest-core", "mem-merge"] {
        let on = flag(&desc.machine.properties, name, true);
        tree.add_value(
            machine,
            name,
            "bool",
            Value::Bool(on),
            Access::Stored(ValueRule::Any),
        );
    }
    for container in ["unattached", "peripheral", "peripheral-anon"] {
        tree.add_child(machine, container, "container");
    }
    if let Some(unattached) = tree.child(machine, "unattached") {
        tree.add_bus(unattached, "sysbus", "main-system-bus", "System");
    }
    machine
}

/// The tree of the `none` machine: the containers and nothing in them.
pub fn none_machine(desc: &MachineDescription) -> MachineTree {
    let mut tree = ObjectTree::new();
    machine_object(&mut tree, desc);
    MachineTree {
        tree,
        cpus: Vec::new(),
        cpu_type: None,
        rtc: None,
    }
}

/// What the PC machine is made of, for its tree.
pub struct PcParts<'a> {
    pub kind: PcMachineKind,
    /// The CPU every vCPU is.
    pub cpu: &'a GuestCpu,
    /// The vCPUs' TSC rate, which KVM chose.
    pub tsc_khz: Option<u32>,
    pub apic_ids: &'a [u32],
    pub devices: &'a [CreatedDevice],
}

/// A device QEMU 7.2 adds to `/machine/unattached`, in the order it adds
/// them; the ones we do not have still take their number.
enum Unattached {
    Cpu(u32),
    HostBridgeFunction,
    IsaBridge,
    Rtc,
    IsaDevice(&'static str),
    Absent,
}

/// QEMU 7.2's sequence for `pc` and `q35` with `-nodefaults`: the first
/// CPU with its kvmvapic, the other CPUs, kvmclock, the chipset, the ISA
/// devices, IDE/AHCI, power management and SMBus.
fn unattached_sequence(kind: PcMachineKind, cpus: u32) -> Vec<Unattached> {
    use Unattached::*;
    let mut sequence = vec![Cpu(0), Absent /* kvmvapic */];
    sequence.extend((1..cpus).map(Cpu));
    sequence.push(Absent /* kvmclock */);
    if kind == PcMachineKind::I440fx {
        sequence.push(HostBridgeFunction);
    }
    sequence.push(IsaBridge);
    sequence.extend([
        Absent, // i8257
        Absent, // i8257
        Absent, // kvm-i8259 (in the kernel)
        Absent, // kvm-i8259
        Absent, // hpet
        Rtc, Absent, // kvm-pit (in the kernel)
        Absent, // isa-pcspk
    ]);
    if kind == PcMachineKind::I440fx {
        sequence.push(Absent /* isa-fdc */);
    }
    sequence.extend([
        IsaDevice("i8042"),
        Absent, // vmport
        Absent, // vmmouse
        IsaDevice("port92"),
    ]);
    sequence
}

/// The tree of a `pc` or `q35` machine.
pub fn pc_machine(desc: &MachineDescription, parts: &PcParts) -> MachineTree {
    let mut tree = ObjectTree::new();
    let machine = machine_object(&mut tree, desc);
    let unattached = tree.child(machine, "unattached").unwrap_or(machine);
    let sysbus = tree.child(unattached, "sysbus");
    let device = |bus, type_name| DeviceSpec {
        type_name,
        id: None,
        bus,
        hotpluggable: false,
    };

    // fw_cfg comes first: QEMU sets it up with the memory map, before
    // the chipset (the order `info qtree` shows, newest first).
    let fw_cfg = tree.add_device(machine, "fw_cfg", device(sysbus, "fw_cfg_io"));
    add_qdev_values(
        &mut tree,
        fw_cfg,
        &[
            ("dma_enabled", "bool", Value::Bool(true)),
            ("x-file-slots", "uint16", Value::from(32)),
            ("acpi-mr-restore", "bool", Value::Bool(true)),
        ],
    );

    // The host bridge and bus 0.
    let (host_name, host_type, bus_name, bus_type) = match parts.kind {
        PcMachineKind::I440fx => ("i440fx", "i440FX-pcihost", "pci.0", "PCI"),
        PcMachineKind::Q35 => ("q35", "q35-pcihost", "pcie.0", "PCIE"),
    };
    let host = tree.add_device(machine, host_name, device(sysbus, host_type));
    add_qdev_values(&mut tree, host, &host_bridge_properties(desc, parts.kind));
    let pci_bus = add_realized_bus(&mut tree, host, bus_name, bus_type);
    if parts.kind == PcMachineKind::Q35 {
        let mch = tree.add_device(host, "mch", device(Some(pci_bus), "mch"));
        add_qdev_values(
            &mut tree,
            mch,
            &[
                ("extended-tseg-mbytes", "uint16", Value::from(16)),
                ("smbase-smram", "bool", Value::Bool(true)),
            ],
        );
        add_pci_device_values(&mut tree, mch, 0, false);
    }

    let cpu_type = cpu_type_name(parts.cpu.model().name);
    let smp = desc.smp;
    let mut cpus = Vec::new();
    let mut isa_bus = None;
    let mut rtc = None;
    for (number, step) in unattached_sequence(parts.kind, smp.cpus)
        .into_iter()
        .enumerate()
    {
        let name = format!("device[{number}]");
        match step {
            Unattached::Cpu(index) => {
                let spec = DeviceSpec {
                    hotpluggable: true,
                    ..device(None, &cpu_type)
                };
                let object = tree.add_device(unattached, &name, spec);
                let topology = CpuTopologyIds::of(index, smp);
                let apic_id = parts.apic_ids.get(index as usize).copied().unwrap_or(index);
                add_cpu_properties(&mut tree, object, apic_id, topology, parts);
                cpus.push(CpuObject { object, topology });
            }
            Unattached::HostBridgeFunction => {
                let function = tree.add_device(unattached, &name, device(Some(pci_bus), "i440FX"));
                add_pci_device_values(&mut tree, function, 0, false);
            }
            Unattached::IsaBridge => {
                let bridge = match parts.kind {
                    PcMachineKind::I440fx => {
                        let piix3 = device(Some(pci_bus), "PIIX3");
                        let bridge = tree.add_device(unattached, &name, piix3);
                        add_pci_device_values(&mut tree, bridge, PIIX3_DEVFN, true);
                        bridge
                    }
                    PcMachineKind::Q35 => {
                        let lpc = device(Some(pci_bus), "ICH9-LPC");
                        let bridge = tree.add_device(unattached, &name, lpc);
                        add_ich9_lpc_values(&mut tree, bridge);
                        bridge
                    }
                };
                isa_bus = Some(add_realized_bus(&mut tree, bridge, "isa.0", "ISA"));
            }
            Unattached::Rtc => {
                let object = tree.add_device(unattached, &name, device(isa_bus, "mc146818rtc"));
                add_isa_device_values(&mut tree, object, "mc146818rtc");
                rtc = Some(object);
            }
            Unattached::IsaDevice(type_name) => {
                let object = tree.add_device(unattached, &name, device(isa_bus, type_name));
                add_isa_device_values(&mut tree, object, type_name);
            }
            Unattached::Absent => {}
        }
    }

    let i440fx = parts.kind == PcMachineKind::I440fx;
    let mut buses = UserDeviceBuses {
        pci_root: pci_bus,
        // ACPI hotplug covers i440FX's bus 0; Q35's root complex has none.
        pci_root_hotpluggable: i440fx,
        isa: isa_bus,
        // i440FX's bus 0 took the automatic name `pci.0`; Q35 names its
        // `pcie.0` itself.
        next_pci: u32::from(i440fx),
        next_pcie: 0,
    };
    add_user_devices(&mut tree, machine, parts.devices, &mut buses);
    MachineTree {
        tree,
        cpus,
        cpu_type: Some(cpu_type),
        rtc,
    }
}

/// The buses `-device`s plug into.
struct UserDeviceBuses {
    pci_root: ObjectId,
    pci_root_hotpluggable: bool,
    isa: Option<ObjectId>,
    /// The next automatic names of bridge buses, `pci.N` and `pcie.N`
    /// (QEMU counts per bus type).
    next_pci: u32,
    next_pcie: u32,
}

impl UserDeviceBuses {
    /// The name and type of the secondary bus a bridge of type `driver`
    /// creates: its id, or the next automatic name of its bus type.
    fn secondary_bus(&mut self, driver: &str, id: Option<&str>) -> Option<(String, &'static str)> {
        let (type_name, counter) = match driver {
            "pci-bridge" => ("PCI", &mut self.next_pci),
            "pcie-root-port" => ("PCIE", &mut self.next_pcie),
            _ => return None,
        };
        let name = match id {
            Some(id) => id.to_owned(),
            None => {
                *counter += 1;
                format!("{}.{}", type_name.to_lowercase(), *counter - 1)
            }
        };
        Some((name, type_name))
    }
}

/// The `-device`s: under `peripheral` by id, else `peripheral-anon`, with
/// their properties as realized; bridges with their secondary bus.
fn add_user_devices(
    tree: &mut ObjectTree,
    machine: ObjectId,
    devices: &[CreatedDevice],
    buses: &mut UserDeviceBuses,
) {
    let peripheral = tree.child(machine, "peripheral").unwrap_or(machine);
    let anonymous = tree.child(machine, "peripheral-anon").unwrap_or(machine);
    for created in devices {
        // Devices behind bridges can be hot-unplugged.
        let (bus, hotpluggable) = match &created.bus {
            DeviceBus::Isa => (buses.isa, false),
            DeviceBus::PciRoot => (Some(buses.pci_root), buses.pci_root_hotpluggable),
            DeviceBus::PciBridge(bridge) => {
                let secondary = tree
                    .child(peripheral, bridge)
                    .and_then(|b| tree.child(b, bridge));
                (secondary, true)
            }
        };
        let spec = DeviceSpec {
            type_name: &created.driver,
            id: created.id.clone(),
            bus,
            hotpluggable,
        };
        let object = match &created.id {
            Some(id) => tree.add_device(peripheral, id, spec),
            None => {
                let name = tree.free_numbered_name(anonymous, "device");
                tree.add_device(anonymous, &name, spec)
            }
        };
        for (name, type_name, value) in &created.values {
            tree.add_value(
                object,
                name,
                type_name,
                value.clone(),
                Access::BeforeRealize,
            );
        }
        for (name, type_name) in &created.children {
            tree.add_child(object, name, type_name);
        }
        if let Some((name, type_name)) = buses.secondary_bus(&created.driver, created.id.as_deref())
        {
            add_realized_bus(tree, object, &name, type_name);
        }
    }
}

/// A bus a device creates, named `name` in QOM and qdev alike, realized
/// with its device.
fn add_realized_bus(
    tree: &mut ObjectTree,
    device: ObjectId,
    name: &str,
    type_name: &str,
) -> ObjectId {
    let bus = tree.add_bus(device, name, name, type_name);
    tree.add_value(bus, "realized", "bool", Value::Bool(true), Access::ReadOnly);
    bus
}

/// Where PIIX3 sits on i440FX's bus 0 (slot 1, function 0); ICH9's LPC
/// bridge sits at slot 31, function 0.
const PIIX3_DEVFN: u8 = 1 << 3;
const ICH9_LPC_DEVFN: u8 = 31 << 3;

/// qdev properties of a device the machine creates, with the values it
/// has: fixed once realized, read by `qom-get` and `info qtree`. Each list
/// is in the order QEMU's classes declare them, the device's own class
/// first.
fn add_qdev_values(tree: &mut ObjectTree, device: ObjectId, values: &[(&str, &str, Value)]) {
    for (name, type_name, value) in values {
        tree.add_value(
            device,
            name,
            type_name,
            value.clone(),
            Access::BeforeRealize,
        );
    }
}

/// The host bridge's properties: its PCI holes and, on Q35, the RAM split
/// at 4 GiB and the MMCONFIG base, unmapped until firmware programs it.
fn host_bridge_properties(
    desc: &MachineDescription,
    kind: PcMachineKind,
) -> Vec<(&'static str, &'static str, Value)> {
    let layout = hw::i386::memmap::PcMemoryLayout::new(kind, desc.memory.size);
    let mut values = Vec::new();
    let hole64_gib: u64 = match kind {
        PcMachineKind::I440fx => 2,
        PcMachineKind::Q35 => {
            values.push(("MCFG", "uint64", Value::from(u64::MAX)));
            32
        }
    };
    values.push(("pci-hole64-size", "size", Value::from(hole64_gib << 30)));
    values.push(("short_root_bus", "uint32", Value::from(0)));
    if kind == PcMachineKind::Q35 {
        values.push((
            "below-4g-mem-size",
            "size",
            Value::from(layout.below_4g_mem_size),
        ));
        values.push((
            "above-4g-mem-size",
            "size",
            Value::from(layout.above_4g_mem_size),
        ));
    }
    values.extend([
        ("x-pci-hole64-fix", "bool", Value::Bool(true)),
        ("x-config-reg-migration-enabled", "bool", Value::Bool(true)),
        ("bypass-iommu", "bool", Value::Bool(false)),
    ]);
    values
}

/// The properties every PCI device has (QEMU's pci-device class): its
/// devfn, no option ROM, no failover pair, no ACPI index.
fn add_pci_device_values(tree: &mut ObjectTree, device: ObjectId, devfn: u8, multifunction: bool) {
    add_qdev_values(
        tree,
        device,
        &[
            ("addr", "int32", Value::from(devfn)),
            ("romfile", "str", Value::String(String::new())),
            ("romsize", "uint32", Value::from(u32::MAX)),
            ("rombar", "uint32", Value::from(1)),
            ("multifunction", "bool", Value::Bool(multifunction)),
            ("x-pcie-lnksta-dllla", "bool", Value::Bool(true)),
            ("x-pcie-extcap-init", "bool", Value::Bool(true)),
            ("failover_pair_id", "str", Value::String(String::new())),
            ("acpi-index", "uint32", Value::from(0)),
        ],
    );
}

/// ICH9's LPC bridge: its 24 GSI outputs and SMI settings.
fn add_ich9_lpc_values(tree: &mut ObjectTree, lpc: ObjectId) {
    tree.add_gpios(lpc, gpio_out("gsi", 24));
    add_qdev_values(
        tree,
        lpc,
        &[
            ("noreboot", "bool", Value::Bool(true)),
            ("smm-compat", "bool", Value::Bool(false)),
            ("x-smi-broadcast", "bool", Value::Bool(true)),
            ("x-smi-cpu-hotplug", "bool", Value::Bool(true)),
            ("x-smi-cpu-hotunplug", "bool", Value::Bool(true)),
        ],
    );
    add_pci_device_values(tree, lpc, ICH9_LPC_DEVFN, true);
}

fn gpio_out(name: &str, outputs: u32) -> GpioList {
    GpioList {
        name: name.to_owned(),
        inputs: 0,
        outputs,
    }
}

fn gpio_in(name: &str, inputs: u32) -> GpioList {
    GpioList {
        name: name.to_owned(),
        inputs,
        outputs: 0,
    }
}

/// The GPIO lines and properties of the chipset's ISA devices: the RTC at
/// 0x70 on IRQ 8, the keyboard controller on IRQs 1 and 12 with its A20
/// line, port 0x92 with its A20 line.
fn add_isa_device_values(tree: &mut ObjectTree, device: ObjectId, type_name: &str) {
    match type_name {
        "mc146818rtc" => {
            tree.add_gpios(device, gpio_out("", 1));
            add_qdev_values(
                tree,
                device,
                &[
                    ("base_year", "int32", Value::from(0)),
                    ("iobase", "uint16", Value::from(0x70)),
                    ("irq", "uint8", Value::from(8)),
                    ("lost_tick_policy", "LostTickPolicy", Value::from("discard")),
                ],
            );
        }
        "i8042" => {
            tree.add_gpios(device, gpio_out("a20", 1));
            tree.add_gpios(device, gpio_out("", 2));
            tree.add_gpios(device, gpio_in("ps2-kbd-input-irq", 1));
            tree.add_gpios(device, gpio_in("ps2-mouse-input-irq", 1));
            add_qdev_values(
                tree,
                device,
                &[
                    ("extended-state", "bool", Value::Bool(true)),
                    ("kbd-throttle", "bool", Value::Bool(false)),
                    ("kbd-irq", "uint8", Value::from(1)),
                    ("mouse-irq", "uint8", Value::from(12)),
                ],
            );
        }
        "port92" => tree.add_gpios(device, gpio_out("a20", 1)),
        _ => {}
    }
}

/// The properties of a vCPU object: its place in the topology (qdev
/// properties, fixed once realized) and the CPU model's, as QEMU's x86
/// CPU has them. The identity (vendor, family, model, stepping, model-id)
/// may still be set on a realized CPU, within the ranges of QEMU's
/// setters; the rest is fixed once realized.
fn add_cpu_properties(
    tree: &mut ObjectTree,
    cpu: ObjectId,
    apic_id: u32,
    topology: CpuTopologyIds,
    parts: &PcParts,
) {
    let position = CpuPosition {
        apic_id,
        // The ids are below the CPU count, which is far below i32::MAX.
        socket_id: topology.socket as i32,
        die_id: topology.die as i32,
        core_id: topology.core as i32,
        thread_id: topology.thread as i32,
        node_id: None,
    };
    let properties = cpu_position_properties(&position)
        .into_iter()
        .chain(cpu_properties(parts.cpu));
    for mut property in properties {
        if property.name == "tsc-frequency" {
            // In Hz, as QEMU reports the rate it read from KVM.
            property.value = Value::from(parts.tsc_khz.map_or(0, |khz| u64::from(khz) * 1000));
        }
        // Properties QEMU cannot read back (`legacy-memory`, ...) are not
        // listed.
        if property.value.is_null() {
            continue;
        }
        let access = match property.name.as_str() {
            "vendor" => Access::Stored(ValueRule::Length(12)),
            // The base family (4 bits) plus the extended one (8 bits).
            "family" => Access::Stored(ValueRule::Within(0, 0xff + 0xf)),
            "model" => Access::Stored(ValueRule::Within(0, 0xff)),
            "stepping" => Access::Stored(ValueRule::Within(0, 0xf)),
            "model-id" => Access::Stored(ValueRule::Any),
            _ => Access::BeforeRealize,
        };
        tree.add_value(
            cpu,
            &property.name,
            property.type_name,
            property.value,
            access,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_types_are_the_command_lines() {
        let mut concrete: Vec<String> = object_types()
            .into_iter()
            .filter(|t| !t.is_abstract)
            .map(|t| t.name)
            .collect();
        concrete.sort();
        assert_eq!(concrete, crate::vl::objects::OBJECT_TYPES);
    }
}
