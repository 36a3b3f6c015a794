//! The ISA devices every PC machine has, at QEMU's ports and IRQs
//! (QEMU's `pc_basic_device_init` and `pc_cmos_init`): the CMOS RTC, the
//! i8042 keyboard controller, port 0x92, and ports 0x80 and 0xf0. The PICs
//! and the PIT belong to the accelerator's chipset.

use std::sync::{Arc, Mutex};

use crate::core::bus::{Bus, BusError};
use crate::core::clock::Clock;
use crate::core::irq::{GsiLine, InterruptController};
use crate::core::system::{SystemControl, SystemRequest};
use crate::core::timer::{NotifyingDevice, TimerList, TimerNotifier};
use crate::i386::pc_cmos::{pc_cmos_init, PcCmosConfig, PcCmosError};
use crate::input::i8042::{
    I8042Port, I8042, I8042_COMMAND_PORT, I8042_DATA_PORT, I8042_KBD_IRQ, I8042_MOUSE_IRQ,
};
use crate::misc::port80::{Port80, PortF0, FERR_IRQ, PORT80_IOBASE, PORTF0_IOBASE};
use crate::misc::port92::{Port92, PORT92_IOBASE};
use crate::rtc::mc146818::{Mc146818Rtc, RtcChangeListener, RTC_IOBASE, RTC_IO_SIZE, RTC_IRQ};

#[derive(Debug, thiserror::Error)]
pub enum PcError {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("{0}")]
    Cmos(#[from] PcCmosError),
}

/// The ISA devices of a PC that others talk to after creation.
pub struct PcIsaDevices {
    pub rtc: Arc<Mutex<Mc146818Rtc>>,
    pub i8042: Arc<Mutex<I8042>>,
}

/// What the ISA devices are connected to.
pub struct PcIsaWiring<'a> {
    pub pio: &'a Bus,
    pub interrupts: &'a Arc<dyn InterruptController>,
    pub system: &'a Arc<dyn SystemControl>,
    pub timers: &'a mut TimerList,
    pub timer_notifier: &'a Arc<dyn TimerNotifier>,
}

/// Hands the guest's RTC settings to the machine, which announces them.
struct RtcChangeRequests(Arc<dyn SystemControl>);

impl RtcChangeListener for RtcChangeRequests {
    fn rtc_changed(&self, offset_secs: i64) {
        self.0.request(SystemRequest::RtcChange { offset_secs });
    }
}

fn isa_irq(interrupts: &Arc<dyn InterruptController>, irq: u8) -> Arc<GsiLine> {
    Arc::new(GsiLine::new(interrupts.clone(), u32::from(irq)))
}

/// Create the ISA devices, put them on the port bus, and fill the CMOS.
pub fn create_isa_devices(
    wiring: PcIsaWiring,
    rtc_clock: Arc<dyn Clock>,
    cmos: &PcCmosConfig,
) -> Result<PcIsaDevices, PcError> {
    let PcIsaWiring {
        pio,
        interrupts,
        system,
        timers,
        timer_notifier,
    } = wiring;

    let mut rtc = Mc146818Rtc::new(isa_irq(interrupts, RTC_IRQ), rtc_clock.clone());
    pc_cmos_init(&mut rtc, cmos)?;
    rtc.set_change_listener(Arc::new(RtcChangeRequests(system.clone())));
    let rtc = Arc::new(Mutex::new(rtc));
    timers.add(rtc.clone(), rtc_clock);
    pio.insert(
        u64::from(RTC_IOBASE),
        RTC_IO_SIZE,
        "rtc",
        Arc::new(Mutex::new(NotifyingDevice::new(
            rtc.clone(),
            timer_notifier.clone(),
        ))),
    )?;

    let i8042 = Arc::new(Mutex::new(I8042::new(
        isa_irq(interrupts, I8042_KBD_IRQ),
        isa_irq(interrupts, I8042_MOUSE_IRQ),
        system.clone(),
    )));
    pio.insert(
        u64::from(I8042_DATA_PORT),
        1,
        "i8042-data",
        Arc::new(Mutex::new(I8042Port::data(i8042.clone()))),
    )?;
    pio.insert(
        u64::from(I8042_COMMAND_PORT),
        1,
        "i8042-cmd",
        Arc::new(Mutex::new(I8042Port::command(i8042.clone()))),
    )?;

    pio.insert(
        u64::from(PORT92_IOBASE),
        1,
        "port92",
        Arc::new(Mutex::new(Port92::new(system.clone()))),
    )?;
    pio.insert(
        u64::from(PORT80_IOBASE),
        1,
        "ioport80",
        Arc::new(Mutex::new(Port80)),
    )?;
    pio.insert(
        u64::from(PORTF0_IOBASE),
        1,
        "ioportF0",
        Arc::new(Mutex::new(PortF0::new(isa_irq(interrupts, FERR_IRQ)))),
    )?;
    Ok(PcIsaDevices { rtc, i8042 })
}
