//! A machine built from a `MachineDescription`: guest RAM, the KVM VM with
//! its chipset and vCPUs, the buses and the devices, and what happens on
//! reset, shutdown and exit (QEMU's `vl.c` machine creation and
//! `runstate.c` decisions).

mod devices;
mod fw_cfg;
mod keyboard;
mod memory;
mod none;
mod pci;
pub mod qom;
mod unsupported;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use hw::core::bus::lock;
use hw::nvram::fw_cfg::FwCfg;
use std::time::{Duration, Instant};

use mio::Waker;
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

use hw::core::clock::{Clock, DatedClock, HostClock, MonotonicClock, VirtualClock};
use hw::core::irq::InterruptController;
use hw::core::system::{SystemControl, SystemRequest};
use hw::core::timer::{TimerList, TimerNotifier};
use hw::i386::loader::{load_kernel, CpuEntryState, KernelBootConfig};
use hw::i386::memmap::{CpuAddressing, PcMachineKind, PcMemoryLayout};
use hw::i386::pc::{create_isa_devices, PcIsaWiring};
use hw::i386::pc_cmos::{FloppyDriveType, PcCmosConfig};
use hw::input::i8042::I8042;
use hw::rtc::mc146818::DateTime;

use crate::accel::kvm::chipset::KvmChipset;
use crate::accel::kvm::vcpu::{IoBuses, Vcpu, VcpuState, VcpuThreads};
use crate::accel::kvm::KvmVm;
use crate::accel::qtest::chipset::{IoapicInputs, QtestChipset};
use crate::accel::LegacyChipset;
use crate::chardev::ChardevSet;
use crate::cpu::cpuid::{apicid_bits, vendor_words, CpuidEntry, GuestCpu, HostCpuid, Topology};
use crate::cpu::models::find_model;
use crate::cpu::paging::PhysicalMemory;
use crate::monitor::events::{EventQueue, QmpEvent, ShutdownCause};
use crate::os::signals::TerminationSignal;
use crate::vl::description::MachineDescription;
use crate::vl::qdict::flag;
use qapi::types::RunState;

/// Why a machine could not be built: QEMU's complete message (one or more
/// lines, each with the program-name prefix where QEMU prints one).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MachineError(pub String);

impl MachineError {
    fn plain(message: impl std::fmt::Display) -> Self {
        MachineError(format!("qemu-system-x86_64: {message}"))
    }

    fn at(location: &str, message: impl std::fmt::Display) -> Self {
        MachineError(format!("qemu-system-x86_64: {location}: {message}"))
    }
}

/// What the guest does after power-off and reset requests (`-no-shutdown`,
/// `-no-reboot`).
#[derive(Debug, Clone, Copy)]
struct LifecyclePolicy {
    no_reboot: bool,
    no_shutdown: bool,
}

/// The kernel booted directly, loaded again on every reset.
struct DirectBoot {
    kernel: PathBuf,
    initrd: Option<PathBuf>,
    cmdline: Option<String>,
}

/// A PC machine (or the empty `none` machine) with its VM.
pub struct Machine {
    state: RunState,
    policy: LifecyclePolicy,
    board: Option<PcBoard>,
    timers: TimerList,
    key_queue: keyboard::KeyQueue,
    /// Where run-state changes are announced (QMP events).
    events: EventQueue,
    /// `-name`, `-uuid`: what `query-name` and `query-uuid` report.
    name: Option<String>,
    uuid: Option<String>,
    /// Set when the process is to end with this status (`quit`, or a
    /// reset or shutdown asked for from the monitor that ends it).
    exit_status: Option<i32>,
    /// The QOM tree of what was built.
    qom: qom::MachineTree,
    /// `-smp`'s topology, for the CPU slots.
    smp: crate::vl::description::SmpTopology,
    /// Under qtest: the virtual clock the test steps.
    virtual_clock: Option<Arc<VirtualClock>>,
}

/// The parts of a `pc`/`q35` machine.
struct PcBoard {
    memory: GuestMemoryMmap,
    /// The RAM block's name (`pc.ram` or the memory backend's id).
    ram_name: String,
    layout: PcMemoryLayout,
    accel: BoardAccel,
    buses: Arc<IoBuses>,
    /// The kernel booted directly; none under qtest without `-kernel`,
    /// where no CPU would run firmware.
    boot: Option<DirectBoot>,
    fw_cfg: Arc<Mutex<FwCfg>>,
    boot_strict: bool,
    i8042: Arc<Mutex<I8042>>,
    pci_root: hw::pci::host::SharedPciBus,
}

/// What a board is built on: a KVM VM, or (qtest) the virtual clock.
enum Host {
    Kvm(KvmVm),
    Qtest(Arc<VirtualClock>),
}

/// The chips of a board being built, with its vCPUs on KVM.
enum Chips {
    Kvm {
        vm: KvmVm,
        chipset: KvmChipset,
        vcpus: Vec<Vcpu>,
    },
    Qtest(QtestChipset),
}

/// What runs the board: KVM with its VM, in-kernel chips and vCPU
/// threads, or qtest with userspace chips and no CPU running.
enum BoardAccel {
    Kvm {
        // Kept for as long as the VM runs: it owns the VM fd the vCPUs use.
        _vm: KvmVm,
        chipset: KvmChipset,
        vcpus: VcpuThreads,
    },
    Qtest {
        chipset: QtestChipset,
    },
}

impl BoardAccel {
    fn chipset(&self) -> &dyn LegacyChipset {
        match self {
            BoardAccel::Kvm { chipset, .. } => chipset,
            BoardAccel::Qtest { chipset } => chipset,
        }
    }

    fn vcpus(&self) -> Option<&VcpuThreads> {
        match self {
            BoardAccel::Kvm { vcpus, .. } => Some(vcpus),
            BoardAccel::Qtest { .. } => None,
        }
    }
}

/// Wakes the main loop when a device timer moves.
struct WakeMainLoop(Arc<Waker>);

impl TimerNotifier for WakeMainLoop {
    fn deadline_changed(&self) {
        // A failed wake-up only delays the timer to the next loop turn.
        let _ = self.0.wake();
    }
}

/// Where the built machine plugs into the rest of the process.
pub struct MachineContext<'a> {
    pub chardevs: &'a mut ChardevSet,
    pub requests: Arc<dyn SystemControl>,
    pub waker: Arc<Waker>,
    pub events: EventQueue,
}

fn machine_kind(type_name: &str) -> Option<PcMachineKind> {
    if type_name.starts_with("pc-i440fx-") {
        Some(PcMachineKind::I440fx)
    } else if type_name.starts_with("pc-q35-") {
        Some(PcMachineKind::Q35)
    } else {
        None
    }
}

/// The accelerator a machine runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Accelerator {
    Kvm,
    Qtest,
}

/// The accelerator to use: the first the command line names (KVM when
/// none; the command line turns a lone `-qtest` into qtest).
fn accelerator(desc: &MachineDescription) -> Result<Accelerator, MachineError> {
    match desc.accelerators.first().map(|a| a.name.as_str()) {
        None | Some("kvm") => Ok(Accelerator::Kvm),
        Some("qtest") => Ok(Accelerator::Qtest),
        Some(name) => Err(MachineError::plain(format!(
            "-accel {name}: invalid accelerator {name}"
        ))),
    }
}

impl Machine {
    /// Build the machine `desc` describes, started or paused as `-S` says.
    pub fn build(desc: &MachineDescription, ctx: MachineContext) -> Result<Self, MachineError> {
        let accel = accelerator(desc)?;
        unsupported::check(desc)?;
        let policy = LifecyclePolicy {
            no_reboot: desc.lifecycle.no_reboot,
            no_shutdown: desc.lifecycle.no_shutdown,
        };
        let mut timers = TimerList::default();
        let events = ctx.events.clone();
        let virtual_clock =
            (accel == Accelerator::Qtest).then(|| Arc::new(VirtualClock::default()));
        let (board, qom) = match machine_kind(&desc.machine.type_name) {
            Some(kind) => {
                let (board, tree) =
                    PcBoard::build(desc, kind, ctx, &mut timers, virtual_clock.clone())?;
                (Some(board), tree)
            }
            None => {
                none::check(desc)?;
                (None, qom::none_machine(desc))
            }
        };
        let mut machine = Machine {
            state: RunState::Prelaunch,
            policy,
            board,
            timers,
            key_queue: keyboard::KeyQueue::default(),
            events,
            name: desc.name.as_ref().and_then(|n| n.guest.clone()),
            uuid: desc.uuid.clone(),
            exit_status: None,
            qom,
            smp: desc.smp,
            virtual_clock,
        };
        machine.reset()?;
        if !desc.lifecycle.start_paused {
            machine.vm_start();
        }
        Ok(machine)
    }

    pub fn run_state(&self) -> RunState {
        self.state
    }

    /// `-name`'s guest name.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// `-uuid`, as given (checked when parsed).
    pub fn uuid(&self) -> Option<&str> {
        self.uuid.as_deref()
    }

    /// How many vCPUs the machine has.
    pub fn cpu_count(&self) -> usize {
        self.vcpus().map_or(0, VcpuThreads::count)
    }

    /// The registers of vCPU `index` (read by its own thread); `None` when
    /// there is no such vCPU or KVM fails to give them (said on stderr).
    pub fn vcpu_state(&self, index: usize) -> Option<VcpuState> {
        match self.vcpus()?.read_state(index)? {
            Ok(state) => Some(state),
            Err(e) => {
                eprintln!("qemu-system-x86_64: {e}");
                None
            }
        }
    }

    fn vcpus(&self) -> Option<&VcpuThreads> {
        self.board.as_ref()?.accel.vcpus()
    }

    /// The QOM tree, for the `qom-*` commands.
    pub fn qom(&self) -> &qom::MachineTree {
        &self.qom
    }

    /// PCI bus 0, on machines that have one.
    pub fn pci_root(&self) -> Option<&hw::pci::host::SharedPciBus> {
        self.board.as_ref().map(|b| &b.pci_root)
    }

    /// The RAM block's name and how the machine maps it, on machines with
    /// RAM.
    pub fn ram_layout(&self) -> Option<(&str, &PcMemoryLayout)> {
        self.board
            .as_ref()
            .map(|b| (b.ram_name.as_str(), &b.layout))
    }

    /// The port I/O and memory-mapped buses, on machines that have them.
    pub fn io_buses(&self) -> Option<&IoBuses> {
        self.board.as_ref().map(|b| b.buses.as_ref())
    }

    pub fn qom_mut(&mut self) -> &mut qom::MachineTree {
        &mut self.qom
    }

    /// `-smp`'s topology.
    pub fn smp(&self) -> crate::vl::description::SmpTopology {
        self.smp
    }

    /// The host thread of each vCPU, by index.
    pub fn vcpu_thread_ids(&self) -> Vec<i32> {
        self.vcpus().map_or_else(Vec::new, VcpuThreads::thread_ids)
    }

    /// QMP `stop`: pause a running machine (QEMU's vm_stop).
    pub fn qmp_stop(&mut self) {
        self.vm_stop(RunState::Paused);
    }

    /// QMP `cont`: run a machine that is not running (QEMU's qmp_cont).
    pub fn qmp_cont(&mut self) -> Result<(), String> {
        if matches!(self.state, RunState::Shutdown | RunState::InternalError) {
            return Err("Resetting the Virtual Machine is required".to_string());
        }
        self.vm_start();
        Ok(())
    }

    /// QMP `system_reset`: as a guest's reset request, from the host.
    pub fn qmp_system_reset(&mut self) {
        if let Some(status) = self.reset_request(ShutdownCause::HostQmpSystemReset) {
            self.exit_status = Some(status);
        }
    }

    /// QMP `system_powerdown`: announced with POWERDOWN. The guest learns
    /// of it through an ACPI power button, which the machine does not
    /// have yet.
    pub fn qmp_system_powerdown(&mut self) {
        self.events.emit(QmpEvent::powerdown());
    }

    /// QMP `inject-nmi`: an NMI to every vCPU, as QEMU's PC machines do;
    /// false on a machine without CPUs.
    pub fn inject_nmi(&mut self) -> bool {
        match self.vcpus() {
            Some(vcpus) => {
                vcpus.inject_nmi();
                true
            }
            None => false,
        }
    }

    /// QMP `quit`: announce the shutdown and end the process.
    pub fn qmp_quit(&mut self) {
        self.events
            .emit(QmpEvent::shutdown(ShutdownCause::HostQmpQuit));
        self.exit_status = Some(0);
    }

    /// Reset the machine: chipset, devices, vCPUs, and the kernel loaded
    /// afresh.
    fn reset(&mut self) -> Result<(), MachineError> {
        if let Some(board) = &self.board {
            if let Some(vcpus) = board.accel.vcpus() {
                vcpus.pause();
            }
            board
                .accel
                .chipset()
                .reset()
                .map_err(|e| MachineError::plain(e.to_string()))?;
            board.buses.pio.reset_devices();
            board.buses.mmio.reset_devices();
            lock(&board.fw_cfg)
                .update_boot_files(&[], board.boot_strict)
                .map_err(MachineError::plain)?;
            let entry = board.load_kernel()?;
            if let Some(vcpus) = board.accel.vcpus() {
                vcpus.reset(entry);
            }
        }
        Ok(())
    }

    /// Run the vCPUs; announced with RESUME unless running already.
    fn vm_start(&mut self) {
        if self.state == RunState::Running {
            return;
        }
        self.events.emit(QmpEvent::resume());
        if let Some(vcpus) = self.vcpus() {
            vcpus.resume();
        }
        self.state = RunState::Running;
    }

    /// Pause a running machine into `state`, announced with STOP; a
    /// machine not running stays as it is, as in QEMU.
    fn vm_stop(&mut self, state: RunState) {
        if self.state != RunState::Running {
            return;
        }
        if let Some(vcpus) = self.vcpus() {
            vcpus.pause();
        }
        self.state = state;
        self.events.emit(QmpEvent::stop());
    }

    /// A shutdown for `cause`: announced, then the process ends (status
    /// 0) or, with `-no-shutdown`, the machine stops.
    fn shutdown(&mut self, cause: ShutdownCause) -> Option<i32> {
        self.events.emit(QmpEvent::shutdown(cause));
        if self.policy.no_shutdown {
            self.vm_stop(RunState::Shutdown);
            None
        } else {
            Some(0)
        }
    }

    /// A reset asked for `cause`: a shutdown with `-no-reboot`, else the
    /// machine resets, announced with RESET, and runs on if it was
    /// running; a machine that was not running is `prelaunch` after it.
    fn reset_request(&mut self, cause: ShutdownCause) -> Option<i32> {
        if self.policy.no_reboot {
            return self.shutdown(cause);
        }
        let was_running = self.state == RunState::Running;
        if let Err(e) = self.reset() {
            eprintln!("{e}");
            self.vm_stop(RunState::InternalError);
            self.state = RunState::InternalError;
            return None;
        }
        self.events.emit(QmpEvent::reset(cause));
        if was_running {
            if let Some(vcpus) = self.vcpus() {
                vcpus.resume();
            }
        } else {
            self.state = RunState::Prelaunch;
        }
        None
    }
}

/// Guest physical memory as a debugger (the monitor) reads it: RAM, or
/// else a device's MMIO registers, as the CPUs see them.
impl PhysicalMemory for Machine {
    fn read(&self, addr: u64, buf: &mut [u8]) -> bool {
        let Some(board) = &self.board else {
            return false;
        };
        board.memory.read_slice(buf, GuestAddress(addr)).is_ok() || board.buses.mmio.read(addr, buf)
    }
}

/// What the qtest server does to the machine: accesses as a CPU makes
/// them, and the virtual clock.
impl Machine {
    /// A port write; unassigned ports ignore it.
    pub fn port_write(&self, port: u16, data: &[u8]) {
        if let Some(board) = &self.board {
            board.buses.pio.write(u64::from(port), data);
        }
    }

    /// A port read; unassigned ports read as all ones.
    pub fn port_read(&self, port: u16, data: &mut [u8]) {
        match &self.board {
            Some(board) => board.buses.port_read(port, data),
            None => data.fill(0xff),
        }
    }

    /// A memory write to RAM or a device's registers; elsewhere ignored.
    pub fn physical_write(&self, addr: u64, data: &[u8]) {
        if let Some(board) = &self.board {
            if board.memory.write_slice(data, GuestAddress(addr)).is_err() {
                board.buses.mmio.write(addr, data);
            }
        }
    }

    /// A memory read from RAM or a device's registers; elsewhere zeros.
    pub fn physical_read(&self, addr: u64, data: &mut [u8]) {
        if !PhysicalMemory::read(self, addr, data) {
            data.fill(0);
        }
    }

    /// The virtual clock, under qtest.
    pub fn virtual_clock(&self) -> Option<&Arc<VirtualClock>> {
        self.virtual_clock.as_ref()
    }

    /// The virtual clock's time in nanoseconds, under qtest.
    pub fn virtual_clock_ns(&self) -> Option<i64> {
        let now = self.virtual_clock.as_ref()?.now();
        Some(i64::try_from(now.as_nanos()).unwrap_or(i64::MAX))
    }

    /// Nanoseconds until the next timer on the virtual clock.
    pub fn virtual_time_to_next_timer(&self) -> Option<i64> {
        let clock: Arc<dyn Clock> = self.virtual_clock.clone()?;
        let wait = self.timers.time_to_next_on(&clock)?;
        Some(i64::try_from(wait.as_nanos()).unwrap_or(i64::MAX))
    }

    /// Move the virtual clock to `target_ns`, stopping at each timer on
    /// the way to fire it (QEMU's qtest_clock_warp); an earlier time
    /// leaves the clock where it is.
    pub fn warp_virtual_clock(&mut self, target_ns: i64) {
        let Some(clock) = self.virtual_clock.clone() else {
            return;
        };
        let target = Duration::from_nanos(u64::try_from(target_ns).unwrap_or(0));
        let as_clock: Arc<dyn Clock> = clock.clone();
        while clock.now() < target {
            let next = self
                .timers
                .time_to_next_on(&as_clock)
                .map_or(target, |wait| (clock.now() + wait).min(target));
            clock.advance_to(next);
            self.timers.run_due();
        }
    }

    /// The IOAPIC's inputs as the qtest server watches them.
    pub fn qtest_ioapic_inputs(&self) -> Option<Arc<IoapicInputs>> {
        match &self.board.as_ref()?.accel {
            BoardAccel::Qtest { chipset } => Some(chipset.ioapic_inputs()),
            BoardAccel::Kvm { .. } => None,
        }
    }

    /// Drive one of the IOAPIC's inputs (qtest's `set_irq_in`).
    pub fn set_qtest_ioapic_input(&self, input: u32, level: bool) {
        if let Some(BoardAccel::Qtest { chipset }) = self.board.as_ref().map(|b| &b.accel) {
            chipset.set_ioapic_input(input, level);
        }
    }
}

/// What the main loop asks of the machine.
impl Machine {
    /// Act on a request; `Some(status)` ends the process with that status.
    pub fn handle_request(&mut self, request: SystemRequest) -> Option<i32> {
        match request {
            SystemRequest::Exit(status) => Some(status),
            SystemRequest::Shutdown => self.shutdown(ShutdownCause::GuestShutdown),
            SystemRequest::Reset => self.reset_request(ShutdownCause::GuestReset),
            SystemRequest::InternalError => {
                self.vm_stop(RunState::InternalError);
                None
            }
            SystemRequest::RtcChange { offset_secs } => {
                if let Some(path) = self.qom.rtc_path() {
                    self.events.emit(QmpEvent::rtc_change(offset_secs, path));
                }
                None
            }
        }
    }

    /// A termination signal arrived; `Some(status)` ends the process.
    pub fn handle_signal(&mut self, signal: TerminationSignal) -> Option<i32> {
        eprintln!("qemu-system-x86_64: {signal}");
        self.events
            .emit(QmpEvent::shutdown(ShutdownCause::HostSignal));
        Some(0)
    }

    /// `Some(status)` once a command (`quit`) asked to end the process.
    pub fn exit_status(&self) -> Option<i32> {
        self.exit_status
    }

    /// The earliest time a timer of the machine wants to run.
    pub fn next_deadline(&self) -> Option<Instant> {
        let virtual_clock = self
            .virtual_clock
            .clone()
            .map(|clock| clock as Arc<dyn Clock>);
        let timers = self
            .timers
            .time_to_next(virtual_clock.as_ref())
            .map(|wait| Instant::now() + wait.min(Duration::from_secs(3600)));
        timers
            .into_iter()
            .chain(self.key_queue_deadline())
            .chain(self.events.next_deadline())
            .min()
    }

    /// Run the timers that are due, and release the events held back
    /// whose time came.
    pub fn run_timers(&mut self, now: Instant) {
        self.timers.run_due();
        self.run_key_queue(now);
        self.events.release_due(now);
    }
}

impl PcBoard {
    fn build(
        desc: &MachineDescription,
        kind: PcMachineKind,
        ctx: MachineContext,
        timers: &mut TimerList,
        virtual_clock: Option<Arc<VirtualClock>>,
    ) -> Result<(Self, qom::MachineTree), MachineError> {
        let model = find_model(&desc.cpu.model).ok_or_else(|| {
            MachineError::plain(format!("unable to find CPU model '{}'", desc.cpu.model))
        })?;
        let smp = desc.smp;
        let host = match virtual_clock {
            Some(clock) => Host::Qtest(clock),
            None => {
                let (vm, warnings) = KvmVm::new(smp.cpus, smp.max_cpus)
                    .map_err(|e| MachineError::plain(e.to_string()))?;
                for w in warnings {
                    eprintln!("qemu-system-x86_64: {w}");
                }
                Host::Kvm(vm)
            }
        };
        // Under qtest the CPU model is taken as defined, with no host to
        // filter its features.
        let (supported, host_msrs) = match &host {
            Host::Kvm(vm) => (
                vm.supported_cpuid()
                    .map_err(|e| MachineError::plain(e.to_string()))?,
                vm.msr_index_list()
                    .map_err(|e| MachineError::plain(e.to_string()))?,
            ),
            Host::Qtest(_) => Default::default(),
        };
        let (cpu, missing) = GuestCpu::new(model, &desc.cpu.features, &HostCpuid(&supported))
            .map_err(MachineError::plain)?;
        let topology = Topology {
            cores: smp.cores,
            threads: smp.threads,
        };
        let layout = PcMemoryLayout::new(kind, desc.memory.size)
            .with_cpu(addressing(&cpu.entries(0, topology)));
        let backend = match desc.machine.properties.get("memory-backend") {
            Some(serde_json::Value::String(id)) => Some(id.as_str()),
            _ => None,
        };
        let memory = memory::allocate(
            desc.memory.size,
            &layout.guest_ram_regions(),
            backend,
            &desc.objects,
            memory::MemoryAdvice {
                merge: flag(&desc.machine.properties, "mem-merge", true),
                dump: flag(&desc.machine.properties, "dump-guest-core", true),
            },
        )
        .map_err(MachineError::plain)?;
        let buses = Arc::new(IoBuses {
            pio: hw::core::bus::Bus::new(),
            mmio: hw::core::bus::Bus::new(),
        });
        let mut chips = match host {
            Host::Kvm(vm) => {
                vm.map_memory(&memory)
                    .map_err(|e| MachineError::plain(e.to_string()))?;
                let chipset =
                    KvmChipset::new(vm.vm_fd()).map_err(|e| MachineError::plain(e.to_string()))?;
                Chips::Kvm {
                    vm,
                    chipset,
                    vcpus: Vec::new(),
                }
            }
            Host::Qtest(clock) => Chips::Qtest(
                QtestChipset::new(&buses.pio, &buses.mmio, clock, timers)
                    .map_err(MachineError::plain)?,
            ),
        };
        let device_clock: Arc<dyn Clock> = match &chips {
            Chips::Kvm { .. } => Arc::new(MonotonicClock::new()),
            Chips::Qtest(chipset) => chipset.clock(),
        };
        let interrupts: Arc<dyn InterruptController> = match &chips {
            Chips::Kvm { chipset, .. } => chipset.interrupt_controller(),
            Chips::Qtest(chipset) => chipset.interrupt_controller(),
        };
        let notifier: Arc<dyn TimerNotifier> = Arc::new(WakeMainLoop(ctx.waker.clone()));
        let rtc_clock = rtc_clock(&desc.rtc, &device_clock);
        let cmos = PcCmosConfig {
            below_4g_mem_size: layout.below_4g_mem_size,
            above_4g_mem_size: layout.above_4g_mem_size,
            boot_cpus: smp.cpus,
            boot_order: match desc.boot.boot_order.get("order") {
                Some(serde_json::Value::String(order)) => order.clone(),
                _ => "cad".to_string(),
            },
            fd_bootchk: true,
            floppy_drives: [
                if kind == PcMachineKind::I440fx && !desc.nodefaults {
                    FloppyDriveType::Type288
                } else {
                    FloppyDriveType::None
                },
                FloppyDriveType::None,
            ],
        };
        let isa = create_isa_devices(
            PcIsaWiring {
                pio: &buses.pio,
                interrupts: &interrupts,
                system: &ctx.requests,
                timers,
                timer_notifier: &notifier,
            },
            rtc_clock,
            &cmos,
        )
        .map_err(MachineError::plain)?;
        let pci_root = pci::create(kind, desc.memory.size, &interrupts, &ctx.requests, &buses)?;
        let apic_id_limit = apic_id(smp.max_cpus.saturating_sub(1), smp) + 1;
        let fw_cfg = fw_cfg::create(desc, &layout, apic_id_limit, &memory, &buses.pio)?;
        let created_devices = devices::create_user_devices(
            desc,
            &devices::DeviceWiring {
                pio: &buses.pio,
                interrupts: &interrupts,
                system: &ctx.requests,
                timer_notifier: &notifier,
                virtual_clock: &device_clock,
                pci_root: &pci_root,
            },
            ctx.chardevs,
            timers,
        )?;

        let apic_ids: Vec<u32> = (0..smp.cpus).map(|index| apic_id(index, smp)).collect();
        if let Chips::Kvm { vm, vcpus, .. } = &mut chips {
            for (index, id) in (0..smp.cpus).zip(&apic_ids) {
                // QEMU checks the features once per vCPU it creates.
                for m in &missing {
                    eprintln!("qemu-system-x86_64: {}", m.warning());
                }
                let cpuid = cpu.entries(*id, topology);
                vcpus.push(
                    Vcpu::new(&vm.vm_fd(), index, &cpuid, &host_msrs)
                        .map_err(|e| MachineError::plain(e.to_string()))?,
                );
            }
        }
        let boot = match (&desc.boot.kernel, &chips) {
            (Some(kernel), _) => Some(DirectBoot {
                kernel: kernel.clone(),
                initrd: desc.boot.initrd.clone(),
                cmdline: desc.boot.append.clone(),
            }),
            // No CPU runs under qtest: the machine needs no firmware.
            (None, Chips::Qtest(_)) => None,
            // Firmware boot is not there yet: say so as QEMU does when it
            // cannot find its BIOS (after the devices, whose errors QEMU
            // reports first as it has a BIOS).
            (None, Chips::Kvm { .. }) => {
                return Err(MachineError::plain(
                    "could not load PC BIOS 'bios-256k.bin'",
                ))
            }
        };
        let (accel, tsc_khz) = match chips {
            Chips::Kvm { vm, chipset, vcpus } => {
                let tsc_khz = vcpus.first().and_then(Vcpu::tsc_khz);
                let thread_names = desc.name.as_ref().is_some_and(|n| n.debug_threads);
                let vcpus =
                    VcpuThreads::spawn(vcpus, buses.clone(), ctx.requests.clone(), thread_names)
                        .map_err(|e| {
                            MachineError::plain(format!("failed to start vCPU threads: {e}"))
                        })?;
                let accel = BoardAccel::Kvm {
                    _vm: vm,
                    chipset,
                    vcpus,
                };
                (accel, tsc_khz)
            }
            Chips::Qtest(chipset) => (BoardAccel::Qtest { chipset }, None),
        };
        let tree = qom::pc_machine(
            desc,
            &qom::PcParts {
                kind,
                cpu: &cpu,
                tsc_khz,
                apic_ids: &apic_ids,
                devices: &created_devices,
            },
        );
        let board = PcBoard {
            memory,
            ram_name: memory::ram_block_name(backend).to_string(),
            layout,
            accel,
            buses,
            boot,
            fw_cfg,
            boot_strict: fw_cfg::boot_strict(desc),
            i8042: isa.i8042,
            pci_root: pci_root.bus,
        };
        Ok((board, tree))
    }

    fn load_kernel(&self) -> Result<Option<CpuEntryState>, MachineError> {
        let Some(boot) = &self.boot else {
            return Ok(None);
        };
        let config = KernelBootConfig {
            kernel: &boot.kernel,
            initrd: boot.initrd.as_deref(),
            cmdline: boot.cmdline.as_deref(),
        };
        load_kernel(&self.memory, &self.layout, &config)
            .map(Some)
            .map_err(|e| MachineError(e.to_string()))
    }
}

/// The RTC's clock: the date of `-rtc base=` moving on with the host's
/// clock, or with `clock=vm` with the devices' virtual clock (the one a
/// qtest harness steps).
fn rtc_clock(rtc: &crate::vl::description::Dict, device_clock: &Arc<dyn Clock>) -> Arc<dyn Clock> {
    let host = rtc_base_clock(rtc);
    match rtc.get("clock") {
        Some(serde_json::Value::String(clock)) if clock == "vm" => {
            Arc::new(DatedClock::new(host.now(), device_clock.clone()))
        }
        _ => Arc::new(host),
    }
}

/// The RTC's date for `-rtc base=utc|localtime|DATE` (a DATE is UTC, and
/// the clock runs on from it).
fn rtc_base_clock(rtc: &crate::vl::description::Dict) -> HostClock {
    match rtc.get("base") {
        Some(serde_json::Value::String(base)) if base == "localtime" => HostClock::localtime(),
        Some(serde_json::Value::String(base)) => match parse_rtc_date(base) {
            Some(start) => HostClock::starting_at(start),
            None => HostClock::utc(),
        },
        _ => HostClock::utc(),
    }
}

/// `2006-06-17T16:01:21` or `2006-06-17` as seconds since the epoch.
fn parse_rtc_date(text: &str) -> Option<i64> {
    let (date, time) = text.split_once('T').unwrap_or((text, "00:00:00"));
    let numbers =
        |s: &str, sep: char| -> Option<Vec<i64>> { s.split(sep).map(|n| n.parse().ok()).collect() };
    let (d, t) = (numbers(date, '-')?, numbers(time, ':')?);
    let (&[year, month, day], &[hour, minute, second]) = (d.as_slice(), t.as_slice()) else {
        return None;
    };
    Some(
        DateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
            weekday: 0,
        }
        .to_unix(),
    )
}

/// The vendor and physical address width the guest's CPUID reports, which
/// decide the AMD HyperTransport reservation in the memory map.
fn addressing(cpuid: &[CpuidEntry]) -> CpuAddressing {
    let leaf = |function: u32| cpuid.iter().find(|e| e.function == function);
    let amd_vendor = leaf(0).is_some_and(|e| [e.ebx, e.edx, e.ecx] == vendor_words("AuthenticAMD"));
    let phys_bits = leaf(0x8000_0008).map_or(36, |e| (e.eax & 0xff) as u8);
    CpuAddressing {
        amd_vendor,
        phys_bits,
    }
}

/// The APIC ID of vCPU `index`: its socket, core and thread numbers packed
/// in the bit fields the topology needs (QEMU's x86_apicid_from_cpu_idx).
fn apic_id(index: u32, smp: crate::vl::description::SmpTopology) -> u32 {
    let thread = index % smp.threads;
    let core = (index / smp.threads) % smp.cores;
    let die = (index / (smp.threads * smp.cores)) % smp.dies;
    let socket = index / (smp.threads * smp.cores * smp.dies);
    let thread_bits = apicid_bits(smp.threads);
    let core_bits = apicid_bits(smp.cores);
    let die_bits = apicid_bits(smp.dies);
    thread
        | core << thread_bits
        | die << (thread_bits + core_bits)
        | socket << (thread_bits + core_bits + die_bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtc_base_dates_are_utc() {
        // The example of QEMU's documentation, and its date-only form.
        assert_eq!(parse_rtc_date("2006-06-17T16:01:21"), Some(1_150_560_081));
        assert_eq!(parse_rtc_date("2006-06-17"), Some(1_150_502_400));
        assert_eq!(parse_rtc_date("2006-06"), None);
    }

    #[test]
    fn apic_ids_pack_threads_cores_and_sockets() {
        let smp = crate::vl::description::SmpTopology {
            cpus: 12,
            max_cpus: 12,
            sockets: 2,
            dies: 1,
            clusters: 1,
            cores: 3,
            threads: 2,
        };
        // thread bit 0, core bits 1-2, socket from bit 3 up.
        let ids: Vec<u32> = (0..12).map(|i| apic_id(i, smp)).collect();
        assert_eq!(ids, [0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13]);
    }
}
