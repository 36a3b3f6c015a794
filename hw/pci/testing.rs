//! A plain function for tests: ids, BAR and INTx pin of QEMU's `edu`
//! device, which tests put on QEMU's buses where ours has this.

use std::sync::{Arc, Mutex};

use super::bus::PciBus;
use super::config::{
    Bar, BarKind, PciConfig, PciIds, PCI_CONFIG_SPACE_SIZE, PCI_HEADER_TYPE_NORMAL,
    PCI_INTERRUPT_PIN,
};
use super::device::PciDevice;

pub struct TestFunction {
    config: PciConfig,
}

impl TestFunction {
    /// A function using INTx `pin` (0 = INTA).
    pub fn new(pin: u8) -> Self {
        let mut config = PciConfig::new(
            PCI_CONFIG_SPACE_SIZE,
            PCI_HEADER_TYPE_NORMAL,
            PciIds {
                vendor: 0x1234,
                device: 0x11e8,
                revision: 0x10,
                class: 0x00ff00,
                subsystem_vendor: 0x1af4,
                subsystem: 0x1100,
            },
        );
        config.set_byte(PCI_INTERRUPT_PIN, pin + 1);
        config.register_bar(
            0,
            Bar {
                kind: BarKind::Memory32 {
                    prefetchable: false,
                },
                size: 1 << 20,
            },
        );
        Self { config }
    }

    /// Plug a function using `pin` at `devfn` of `bus`.
    pub fn plug(bus: &mut PciBus, devfn: u8, pin: u8) -> Arc<Mutex<TestFunction>> {
        Self::plug_with_id(bus, devfn, pin, None)
    }

    pub fn plug_with_id(
        bus: &mut PciBus,
        devfn: u8,
        pin: u8,
        qdev_id: Option<&str>,
    ) -> Arc<Mutex<TestFunction>> {
        let function = Arc::new(Mutex::new(Self::new(pin)));
        bus.plug(devfn, function.clone(), false, qdev_id.map(String::from))
            .unwrap();
        function
    }

    pub fn set_intx(&mut self, level: bool) {
        self.config.set_intx_level(level);
    }
}

impl PciDevice for TestFunction {
    fn type_name(&self) -> &'static str {
        "edu"
    }
    fn config(&self) -> &PciConfig {
        &self.config
    }
    fn config_mut(&mut self) -> &mut PciConfig {
        &mut self.config
    }
}
