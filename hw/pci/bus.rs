//! A PCI bus: 32 slots of 8 functions, configuration cycles routed down the
//! tree of bridges, and INTx levels routed up to the host's interrupt router.

use std::sync::Arc;

use crate::core::bus::lock;

use super::config::{
    BarChange, PCI_HEADER_TYPE, PCI_HEADER_TYPE_MULTI_FUNCTION, PCI_INTERRUPT_PIN,
};
use super::device::{devfn, devfn_function, devfn_slot, SharedPciDevice};

/// Number of INTx pins of a function (INTA..INTD).
pub const PCI_NUM_PINS: u8 = 4;
/// Configuration register of a bridge's secondary bus number.
pub const PCI_SECONDARY_BUS: usize = 0x19;
/// Configuration register of a bridge's subordinate bus number.
pub const PCI_SUBORDINATE_BUS: usize = 0x1a;
/// A bridge's control register, and its bit holding the secondary bus in reset.
pub const PCI_BRIDGE_CONTROL: usize = 0x3e;
pub const PCI_BRIDGE_CTL_BUS_RESET: u16 = 0x40;

/// Where a bus sends INTx changes of its functions: the host's PIRQ router
/// on the root bus, the parent bus through a bridge's swizzle otherwise.
/// Changes are counted (+1 when a pin goes high, -1 when it goes low), as
/// QEMU's `pci_change_irq_level`, so shared lines stay high while any
/// function holds them.
pub trait IntxRouting: Send + Sync {
    /// `pin` (0 = INTA) of the function at `devfn` changed by `change`.
    fn change_intx(&self, devfn: u8, pin: u8, change: i32);
}

/// The standard PCI-to-PCI bridge swizzle (QEMU's `pci_swizzle_map_irq_fn`):
/// INTx of the device in `slot` arrives on the bridge's pin (slot + x) % 4.
pub fn pci_swizzle(slot: u8, pin: u8) -> u8 {
    (slot + pin) % PCI_NUM_PINS
}

/// The INTx routing of a bus behind a bridge: swizzle, then the parent's.
pub struct BridgeIntxRouting {
    parent: Arc<dyn IntxRouting>,
    bridge_devfn: u8,
}

impl IntxRouting for BridgeIntxRouting {
    fn change_intx(&self, devfn: u8, pin: u8, change: i32) {
        let parent_pin = pci_swizzle(devfn_slot(devfn), pin);
        self.parent
            .change_intx(self.bridge_devfn, parent_pin, change);
    }
}

/// Where the INTx pin of a plugged function goes: its bus's routing, with
/// the function's devfn and pin (0 = INTA).
#[derive(Clone)]
pub struct IntxPin {
    routing: Arc<dyn IntxRouting>,
    devfn: u8,
    pin: u8,
}

impl IntxPin {
    /// Count the pin one more (`1`) or one less (`-1`) time high.
    pub fn change(&self, change: i32) {
        self.routing.change_intx(self.devfn, self.pin, change);
    }
}

/// Whether a bridge forwards cycles to bus `bus`: the number lies in its
/// secondary..subordinate range and the secondary bus is not held in reset
/// (QEMU's `pci_secondary_bus_in_range`).
pub fn secondary_bus_in_range(bridge: &super::config::PciConfig, bus: u8) -> bool {
    bridge.word(PCI_BRIDGE_CONTROL) & PCI_BRIDGE_CTL_BUS_RESET == 0
        && bridge.byte(PCI_SECONDARY_BUS) <= bus
        && bus <= bridge.byte(PCI_SUBORDINATE_BUS)
}

/// Why a function cannot be plugged where asked; the texts are QEMU's.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PciBusError {
    #[error("PCI: slot {slot} function {function} not available for {name}, in use by {owner},id={owner_id}")]
    Occupied {
        slot: u8,
        function: u8,
        name: String,
        owner: String,
        owner_id: String,
    },
    #[error("PCI: single function device can't be populated in function {slot:x}.{function:x}")]
    FunctionZeroSingle { slot: u8, function: u8 },
    #[error("PCI: {slot:x}.0 indicates single function, but {slot:x}.{function:x} is already populated.")]
    OtherFunctionsPopulated { slot: u8, function: u8 },
    #[error("PCI: no slot/function available for {name}, all in use or reserved")]
    Full { name: String },
}

/// A function on a bus, with the qdev id it was created with.
pub struct PciSlotEntry {
    pub device: SharedPciDevice,
    pub qdev_id: Option<String>,
    multifunction: bool,
}

/// BAR moves of a function, with the bus number and devfn it has now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BarEvent {
    pub bus: u8,
    pub devfn: u8,
    pub change: BarChange,
}

/// A PCI bus: up to 256 functions addressed by devfn.
pub struct PciBus {
    functions: Vec<Option<PciSlotEntry>>,
    routing: Arc<dyn IntxRouting>,
}

impl PciBus {
    /// A bus whose INTx changes go to `routing`.
    pub fn new(routing: Arc<dyn IntxRouting>) -> Self {
        Self {
            functions: (0..256).map(|_| None).collect(),
            routing,
        }
    }

    /// The bus behind a bridge at `bridge_devfn` of this bus.
    pub fn new_secondary(&self, bridge_devfn: u8) -> Self {
        Self::new(Arc::new(BridgeIntxRouting {
            parent: self.routing.clone(),
            bridge_devfn,
        }))
    }

    /// The first slot whose function 0 is free: where QEMU puts a device
    /// given without `addr=`; `name` is its type, for the error.
    pub fn free_devfn(&self, name: &str) -> Result<u8, PciBusError> {
        (0..32)
            .map(|slot| devfn(slot, 0))
            .find(|&d| self.functions[usize::from(d)].is_none())
            .ok_or_else(|| PciBusError::Full {
                name: name.to_string(),
            })
    }

    /// Plug `device` at `devfn` with QEMU's checks of the multifunction
    /// rules; `multifunction` sets bit 7 of its header type. A function
    /// with an interrupt pin gets it connected to this bus's INTx routing.
    pub fn plug(
        &mut self,
        devfn: u8,
        device: SharedPciDevice,
        multifunction: bool,
        qdev_id: Option<String>,
    ) -> Result<(), PciBusError> {
        let slot = devfn_slot(devfn);
        let function = devfn_function(devfn);
        let name = lock(&device).type_name();
        if let Some(owner) = &self.functions[usize::from(devfn)] {
            return Err(PciBusError::Occupied {
                slot,
                function,
                name: name.to_string(),
                owner: lock(&owner.device).type_name().to_string(),
                owner_id: owner.qdev_id.clone().unwrap_or_else(|| "(null)".into()),
            });
        }
        if function != 0 {
            let function0 = &self.functions[usize::from(devfn & !7)];
            if function0.as_ref().is_some_and(|f0| !f0.multifunction) {
                return Err(PciBusError::FunctionZeroSingle { slot, function });
            }
        } else if !multifunction {
            if let Some(populated) =
                (1..8).find(|&f| self.functions[usize::from(devfn | f)].is_some())
            {
                return Err(PciBusError::OtherFunctionsPopulated {
                    slot,
                    function: populated,
                });
            }
        }
        {
            let mut d = lock(&device);
            let config = d.config_mut();
            if multifunction {
                let header = config.byte(PCI_HEADER_TYPE) | PCI_HEADER_TYPE_MULTI_FUNCTION;
                config.set_byte(PCI_HEADER_TYPE, header);
            }
            let pin = config.byte(PCI_INTERRUPT_PIN);
            if (1..=PCI_NUM_PINS).contains(&pin) {
                config.connect_intx(IntxPin {
                    routing: self.routing.clone(),
                    devfn,
                    pin: pin - 1,
                });
            }
        }
        self.functions[usize::from(devfn)] = Some(PciSlotEntry {
            device,
            qdev_id,
            multifunction,
        });
        Ok(())
    }

    /// The function at `devfn` of this bus.
    pub fn device(&self, devfn: u8) -> Option<&PciSlotEntry> {
        self.functions[usize::from(devfn)].as_ref()
    }

    /// The functions of this bus in devfn order.
    pub fn devices(&self) -> impl Iterator<Item = (u8, &PciSlotEntry)> {
        self.functions
            .iter()
            .enumerate()
            .filter_map(|(d, e)| e.as_ref().map(|e| (d as u8, e)))
    }

    /// Find the function addressed by a configuration cycle to `bus`,
    /// `devfn`, this bus being number `own_number`, and run `access` on it;
    /// `None` when nothing answers (QEMU's `pci_find_bus_nr` and
    /// `pci_find_device`): a cycle to another bus goes down the bridge whose
    /// secondary..subordinate range holds that number.
    pub fn with_function<R>(
        &self,
        own_number: u8,
        bus: u8,
        devfn: u8,
        access: &mut dyn FnMut(&mut dyn super::device::PciDevice) -> R,
    ) -> Option<R> {
        if bus == own_number {
            let entry = self.device(devfn)?;
            return Some(access(&mut *lock(&entry.device)));
        }
        for (_, entry) in self.devices() {
            let device = lock(&entry.device);
            let config = device.config();
            let secondary = config.byte(PCI_SECONDARY_BUS);
            if let Some(child) = device.secondary_bus() {
                if secondary == bus || secondary_bus_in_range(config, bus) {
                    return child.with_function(secondary, bus, devfn, access);
                }
            }
            drop(device);
        }
        None
    }

    /// Reset every function, deepest buses first as QEMU's bus reset does.
    pub fn reset(&mut self) {
        for (_, entry) in self.devices() {
            let mut device = lock(&entry.device);
            if let Some(child) = device.secondary_bus_mut() {
                child.reset();
            }
            device.reset();
        }
    }

    /// Take the BAR moves of every function on this bus and below it,
    /// this bus being number `own_number`.
    pub fn take_bar_events(&self, own_number: u8) -> Vec<BarEvent> {
        let mut events = Vec::new();
        for (devfn, entry) in self.devices() {
            let mut device = lock(&entry.device);
            let changes = device.config_mut().take_bar_changes();
            events.extend(changes.into_iter().map(|change| BarEvent {
                bus: own_number,
                devfn,
                change,
            }));
            let secondary = device.config().byte(PCI_SECONDARY_BUS);
            if let Some(child) = device.secondary_bus() {
                events.extend(child.take_bar_events(secondary));
            }
        }
        events
    }
}
