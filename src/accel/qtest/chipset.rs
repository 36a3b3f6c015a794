//! The PC's PICs, IOAPIC and PIT as userspace models (hw/intc, hw/timer),
//! for the qtest accelerator, which has no KVM and so no in-kernel chips.
//! The PIT and the IOAPIC run on the virtual clock the test steps.

use std::sync::{Arc, Mutex};

use hw::core::bus::{lock, Bus, BusError};
use hw::core::clock::Clock;
use hw::core::irq::{GsiLine, InterruptController, InterruptLine};
use hw::core::timer::TimerList;
use hw::intc::gsi::GsiRouter;
use hw::intc::i8259::{PicPorts, PicRegisters, I8259};
use hw::intc::ioapic::{Ioapic, MsiMessage, MsiSink, IOAPIC_BASE, IOAPIC_NUM_PINS, IOAPIC_SIZE};
use hw::timer::i8254::{
    SpeakerPort, I8254, PIT_IOBASE, PIT_IO_SIZE, PIT_IRQ, SPEAKER_IOBASE, SPEAKER_IO_SIZE,
};

use crate::accel::kvm::KvmError;
use crate::accel::LegacyChipset;

/// With no CPU, the PICs' output and the IOAPIC's messages reach nothing.
struct NoCpu;

impl InterruptLine for NoCpu {
    fn set_level(&self, _level: bool) {}
}

impl MsiSink for NoCpu {
    fn deliver(&self, _message: MsiMessage) {}
}

/// The IOAPIC's inputs as the test sees them once it intercepts them
/// (`irq_intercept_in ioapic`): every change of an input's level becomes
/// an `IRQ raise N`/`IRQ lower N` line, N being the GSI (ISA IRQ 0 is
/// reported as 0 although it reaches pin 2).
#[derive(Default)]
pub struct IoapicInputs {
    state: Mutex<InterceptState>,
}

#[derive(Default)]
struct InterceptState {
    intercepted: bool,
    levels: [bool; IOAPIC_NUM_PINS],
    /// Lines not yet sent to the test.
    pending: Vec<String>,
}

impl IoapicInputs {
    /// Start reporting the inputs' changes.
    pub fn intercept(&self) {
        lock(&self.state).intercepted = true;
    }

    /// Forget the levels seen (a new test connected).
    pub fn forget_levels(&self) {
        lock(&self.state).levels = [false; IOAPIC_NUM_PINS];
    }

    /// The `IRQ ...` lines raised since the last call.
    pub fn take_events(&self) -> Vec<String> {
        std::mem::take(&mut lock(&self.state).pending)
    }

    fn observe(&self, gsi: u32, level: bool) {
        let mut state = lock(&self.state);
        if !state.intercepted {
            return;
        }
        let Some(known) = state.levels.get_mut(gsi as usize) else {
            return;
        };
        if *known != level {
            *known = level;
            let word = if level { "raise" } else { "lower" };
            state.pending.push(format!("IRQ {word} {gsi}"));
        }
    }
}

/// GSI routing with the test watching the IOAPIC's inputs.
struct WatchedRouter {
    router: GsiRouter,
    inputs: Arc<IoapicInputs>,
}

impl InterruptController for WatchedRouter {
    fn set_irq(&self, gsi: u32, level: bool) {
        self.inputs.observe(gsi, level);
        self.router.set_irq(gsi, level);
    }
}

/// The userspace chips, on the machine's buses.
pub struct QtestChipset {
    pics: Arc<Mutex<I8259>>,
    ioapic: Arc<Mutex<Ioapic>>,
    pit: Arc<Mutex<I8254>>,
    controller: Arc<WatchedRouter>,
    clock: Arc<dyn Clock>,
}

impl QtestChipset {
    /// Create the chips at QEMU's ports and address, their timers on
    /// `clock`.
    pub fn new(
        pio: &Bus,
        mmio: &Bus,
        clock: Arc<dyn Clock>,
        timers: &mut TimerList,
    ) -> Result<Self, BusError> {
        let pics = Arc::new(Mutex::new(I8259::new(Arc::new(NoCpu))));
        let ioapic = Arc::new(Mutex::new(Ioapic::new(
            Arc::new(NoCpu),
            pics.clone(),
            clock.clone(),
        )));
        let controller = Arc::new(WatchedRouter {
            router: GsiRouter::new(pics.clone(), ioapic.clone()),
            inputs: Arc::new(IoapicInputs::default()),
        });
        let pit_irq = Arc::new(GsiLine::new(controller.clone(), u32::from(PIT_IRQ)));
        let pit = Arc::new(Mutex::new(I8254::new(pit_irq, clock.clone())));
        for registers in PicRegisters::ALL {
            let ports = PicPorts::new(pics.clone(), registers);
            pio.insert(
                u64::from(registers.base()),
                registers.size(),
                registers.region_name(),
                Arc::new(Mutex::new(ports)),
            )?;
        }
        pio.insert(u64::from(PIT_IOBASE), PIT_IO_SIZE, "pit", pit.clone())?;
        pio.insert(
            u64::from(SPEAKER_IOBASE),
            SPEAKER_IO_SIZE,
            "pcspk",
            Arc::new(Mutex::new(SpeakerPort::new(pit.clone()))),
        )?;
        mmio.insert(IOAPIC_BASE, IOAPIC_SIZE, "ioapic", ioapic.clone())?;
        timers.add(pit.clone(), clock.clone());
        timers.add(ioapic.clone(), clock.clone());
        Ok(Self {
            pics,
            ioapic,
            pit,
            controller,
            clock,
        })
    }

    /// The clock the chips' timers run on.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// The IOAPIC's inputs, for interception.
    pub fn ioapic_inputs(&self) -> Arc<IoapicInputs> {
        self.controller.inputs.clone()
    }

    /// Drive IOAPIC input `input` directly (`set_irq_in`).
    pub fn set_ioapic_input(&self, input: u32, level: bool) {
        self.controller.inputs.observe(input, level);
        lock(&self.ioapic).set_irq(input, level);
    }
}

impl LegacyChipset for QtestChipset {
    fn interrupt_controller(&self) -> Arc<dyn InterruptController> {
        self.controller.clone()
    }

    fn reset(&self) -> Result<(), KvmError> {
        lock(&self.pics).reset();
        lock(&self.ioapic).reset();
        lock(&self.pit).reset();
        Ok(())
    }
}
