//! The PCI part of the PC machines: the host bridge and the ISA/LPC bridge
//! on bus 0 (i440FX + PIIX3 on `pc`, MCH + ICH9 LPC on `q35`), the 0xcf8
//! configuration ports with the 0xcf9 reset register, INTx routed to the
//! interrupt controllers as QEMU routes it, and Q35's ECAM window kept
//! where the MCH's PCIEXBAR puts it.

use std::sync::{Arc, Mutex, Weak};

use hw::core::bus::{lock, BusDevice, RegionName, RegionPart, SharedDevice};
use hw::core::irq::{GsiLine, InterruptController, InterruptLine};
use hw::core::system::SystemControl;
use hw::i386::memmap::PcMachineKind;
use hw::pci::bus::PciBus;
use hw::pci::device::devfn;
use hw::pci::host::{PciHost, PcieEcam, SharedPciBus};
use hw::pci::i440fx::I440fx;
use hw::pci::lpc_ich9::{Ich9IntxRouter, Ich9Lpc, ICH9_LPC_NUM_GSIS};
use hw::pci::piix3::{Piix3, PiixIntxRouter, PIIX_NUM_PIC_IRQS};
use hw::pci::q35::Mch;
use hw::pci::reset_control::ResetControl;

use super::MachineError;
use crate::accel::kvm::vcpu::IoBuses;

/// Where the configuration ports are.
const PCI_HOST_PORTS: u64 = 0xcf8;
const PCI_HOST_PORTS_LEN: u64 = 8;

/// The regions QEMU maps at the configuration ports: the address and data
/// registers, and over the address register's second byte the chipset's
/// reset control register, named `reset_control`.
const fn host_port_regions(reset_control: &'static str) -> [RegionPart; 3] {
    [
        RegionPart {
            offset: 0,
            len: 4,
            name: "pci-conf-idx",
            priority: 0,
        },
        RegionPart {
            offset: 1,
            len: 1,
            name: reset_control,
            priority: 1,
        },
        RegionPart {
            offset: 4,
            len: 4,
            name: "pci-conf-data",
            priority: 0,
        },
    ]
}

static PIIX3_HOST_PORT_REGIONS: [RegionPart; 3] = host_port_regions("piix3-reset-control");
static ICH9_HOST_PORT_REGIONS: [RegionPart; 3] = host_port_regions("lpc-reset-control");

fn lines(interrupts: &Arc<dyn InterruptController>, count: usize) -> Vec<Arc<dyn InterruptLine>> {
    (0..count as u32)
        .map(|gsi| Arc::new(GsiLine::new(interrupts.clone(), gsi)) as Arc<dyn InterruptLine>)
        .collect()
}

fn shared<T: BusDevice + 'static>(device: T) -> SharedDevice {
    Arc::new(Mutex::new(device))
}

fn plug_error(e: impl std::fmt::Display) -> MachineError {
    MachineError::plain(e)
}

/// The configuration ports of Q35: after each access the MCH may have moved
/// or switched the ECAM window, which then moves on the MMIO bus.
struct Q35HostPorts {
    ports: PciHost,
    mch: Arc<Mutex<Mch>>,
    root: SharedPciBus,
    // Weak: the buses own this device.
    buses: Weak<IoBuses>,
}

impl Q35HostPorts {
    fn follow_ecam(&self) {
        let Some(buses) = self.buses.upgrade() else {
            return;
        };
        for change in lock(&self.mch).take_ecam_changes() {
            if let Some(old) = change.old {
                buses.mmio.remove(old.base);
            }
            if let Some(new) = change.new {
                // The window can only land where nothing else is: the MCH
                // places it below 4 GiB, outside RAM.
                let _ = buses.mmio.insert(
                    new.base,
                    new.size,
                    "pcie-mmcfg-mmio",
                    shared(PcieEcam::new(self.root.clone())),
                );
            }
        }
    }
}

impl BusDevice for Q35HostPorts {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        self.ports.read(offset, data);
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        self.ports.write(offset, data);
        self.follow_ecam();
    }

    fn reset(&mut self) {
        self.ports.reset();
        lock(&self.root).reset();
        self.follow_ecam();
    }
}

/// The ports of i440FX: the bus resets with the host.
struct PcHostPorts {
    ports: PciHost,
    root: SharedPciBus,
}

impl BusDevice for PcHostPorts {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        self.ports.read(offset, data);
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        self.ports.write(offset, data);
    }

    fn reset(&mut self) {
        self.ports.reset();
        lock(&self.root).reset();
    }
}

/// Bus 0 of the machine with the name `bus=` gives it.
pub struct RootBus {
    pub bus: SharedPciBus,
    /// `pci.0` on `pc`, `pcie.0` on `q35`.
    pub name: &'static str,
}

/// Build bus 0 of the machine and put its configuration ports on the port
/// bus.
pub fn create(
    kind: PcMachineKind,
    ram_size: u64,
    interrupts: &Arc<dyn InterruptController>,
    system: &Arc<dyn SystemControl>,
    buses: &Arc<IoBuses>,
) -> Result<RootBus, MachineError> {
    let (ports, regions, root): (SharedDevice, _, RootBus) = match kind {
        PcMachineKind::I440fx => {
            let router = Arc::new(PiixIntxRouter::new(lines(interrupts, PIIX_NUM_PIC_IRQS)));
            let mut bus = PciBus::new(router.clone());
            bus.plug(0, Arc::new(Mutex::new(I440fx::new(ram_size))), false, None)
                .map_err(plug_error)?;
            bus.plug(
                devfn(1, 0),
                Arc::new(Mutex::new(Piix3::new(router))),
                true,
                None,
            )
            .map_err(plug_error)?;
            let root = Arc::new(Mutex::new(bus));
            let reset = shared(ResetControl::piix3(system.clone()));
            let ports = shared(PcHostPorts {
                ports: PciHost::new(root.clone(), Some(reset)),
                root: root.clone(),
            });
            (
                ports,
                &PIIX3_HOST_PORT_REGIONS,
                RootBus {
                    bus: root,
                    name: "pci.0",
                },
            )
        }
        PcMachineKind::Q35 => {
            let router = Arc::new(Ich9IntxRouter::new(lines(interrupts, ICH9_LPC_NUM_GSIS)));
            let mut bus = PciBus::new(router.clone());
            let mch = Arc::new(Mutex::new(Mch::new()));
            bus.plug(0, mch.clone(), false, None).map_err(plug_error)?;
            bus.plug(
                devfn(31, 0),
                Arc::new(Mutex::new(Ich9Lpc::new(router))),
                true,
                None,
            )
            .map_err(plug_error)?;
            let root = Arc::new(Mutex::new(bus));
            let reset = shared(ResetControl::ich9(system.clone()));
            let ports = shared(Q35HostPorts {
                ports: PciHost::new(root.clone(), Some(reset)),
                mch,
                root: root.clone(),
                buses: Arc::downgrade(buses),
            });
            (
                ports,
                &ICH9_HOST_PORT_REGIONS,
                RootBus {
                    bus: root,
                    name: "pcie.0",
                },
            )
        }
    };
    buses
        .pio
        .insert(
            PCI_HOST_PORTS,
            PCI_HOST_PORTS_LEN,
            RegionName::Parts(regions),
            ports,
        )
        .map_err(plug_error)?;
    Ok(root)
}
