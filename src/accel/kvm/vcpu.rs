//! vCPU threads: each runs KVM_RUN in a loop, dispatches port and MMIO exits
//! to the buses, and parks when the machine pauses or resets.
//!
//! The main thread controls them through `VcpuThreads`: pause (kick each
//! thread out of the guest with a signal and wait until it parks), reset
//! (a register state applied by the thread itself before it runs again) and
//! resume.

use std::cell::Cell;
use std::io;
use std::os::unix::thread::JoinHandleExt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use kvm_bindings::{
    kvm_debugregs, kvm_fpu, kvm_lapic_state, kvm_mp_state, kvm_msr_entry, kvm_regs, kvm_run,
    kvm_sregs, kvm_vcpu_events, kvm_xsave, CpuId, Msrs, KVM_INTERNAL_ERROR_EMULATION,
    KVM_MP_STATE_HALTED, KVM_SYSTEM_EVENT_RESET, KVM_SYSTEM_EVENT_SHUTDOWN,
};
use kvm_ioctls::{VcpuExit, VcpuFd, VmFd};
use vmm_sys_util::signal::{register_signal_handler, SIGRTMIN};

use hw::core::bus::Bus;
use hw::core::system::{SystemControl, SystemRequest};

use super::regs::{dump_state, enter_mode, entry_regs};
use super::KvmError;
use crate::cpu::cpuid::CpuidEntry;
use hw::i386::loader::CpuEntryState;

/// The two address spaces vCPU exits are dispatched to.
pub struct IoBuses {
    pub pio: Bus,
    pub mmio: Bus,
}

impl IoBuses {
    /// A port read as a CPU sees it: unassigned ports read as all ones.
    pub fn port_read(&self, port: u16, data: &mut [u8]) {
        if !self.pio.read(u64::from(port), data) {
            data.fill(0xff);
        }
    }
}

/// What a vCPU is reset to.
#[derive(Debug, Clone, Copy)]
enum ResetTo {
    PowerOn,
    Entry(CpuEntryState),
}

/// The architectural state of a vCPU just after creation, restored on reset.
struct PowerOnState {
    regs: kvm_regs,
    sregs: kvm_sregs,
    fpu: kvm_fpu,
    lapic: kvm_lapic_state,
    mp_state: kvm_mp_state,
}

/// MSRs QEMU writes on every reset (kvm_put_msrs at reset level), with
/// their reset values.
const RESET_MSRS: &[(u32, u64)] = &[
    (0x10, 0),                      // IA32_TSC
    (0x174, 0),                     // SYSENTER_CS
    (0x175, 0),                     // SYSENTER_ESP
    (0x176, 0),                     // SYSENTER_EIP
    (0x1a0, 1),                     // IA32_MISC_ENABLE: fast strings
    (0x277, 0x0007_0406_0007_0406), // IA32_PAT
    (0xc000_0081, 0),               // STAR
    (0xc000_0082, 0),               // LSTAR
    (0xc000_0083, 0),               // CSTAR
    (0xc000_0084, 0),               // FMASK
    (0xc000_0102, 0),               // KERNEL_GS_BASE
    (0x11, 0),                      // KVM wall clock (old)
    (0x12, 0),                      // KVM system time (old)
    (0x4b56_4d00, 0),               // KVM wall clock
    (0x4b56_4d01, 0),               // KVM system time: stops kvmclock updates
    (0x4b56_4d02, 0),               // KVM async page faults
    (0x4b56_4d03, 0),               // KVM steal time
    (0x4b56_4d04, 0),               // KVM PV EOI
];

/// A vCPU's architectural state as the monitor shows it (`info
/// registers`, `x`), read by the vCPU's own thread. The parts KVM may
/// refuse to give are zero then.
pub struct VcpuState {
    pub regs: kvm_regs,
    pub sregs: kvm_sregs,
    pub fpu: kvm_fpu,
    pub debugregs: kvm_debugregs,
    pub events: kvm_vcpu_events,
    pub halted: bool,
    pub xcr0: u64,
    /// The XSAVE area, for the AVX and AVX-512 registers.
    pub xsave: Option<Box<kvm_xsave>>,
}

/// LAPIC register offsets and the delivery modes firmware programs.
const APIC_LVT_LINT0: usize = 0x350;
const APIC_LVT_LINT1: usize = 0x360;
const APIC_MODE_EXTINT: u32 = 0x7 << 8;
const APIC_MODE_NMI: u32 = 0x4 << 8;

/// One vCPU, created but not yet running.
pub struct Vcpu {
    index: u32,
    fd: VcpuFd,
    power_on: PowerOnState,
    reset_msrs: Vec<(u32, u64)>,
}

impl Vcpu {
    /// The vCPU's TSC rate in kHz, as KVM runs it.
    pub fn tsc_khz(&self) -> Option<u32> {
        self.fd.get_tsc_khz().ok()
    }

    /// Create vCPU `index` with its CPUID table; `host_msrs` are the MSRs the
    /// host can set (those of `RESET_MSRS` it lacks are skipped).
    pub fn new(
        vm: &VmFd,
        index: u32,
        cpuid: &[CpuidEntry],
        host_msrs: &[u32],
    ) -> Result<Self, KvmError> {
        let fd = vm
            .create_vcpu(u64::from(index))
            .map_err(|e| KvmError::Ioctl("KVM_CREATE_VCPU", e))?;
        let entries: Vec<kvm_bindings::kvm_cpuid_entry2> = cpuid
            .iter()
            .map(|e| kvm_bindings::kvm_cpuid_entry2 {
                function: e.function,
                index: e.index,
                flags: if e.significant_index {
                    kvm_bindings::KVM_CPUID_FLAG_SIGNIFCANT_INDEX
                } else {
                    0
                },
                eax: e.eax,
                ebx: e.ebx,
                ecx: e.ecx,
                edx: e.edx,
                padding: [0; 3],
            })
            .collect();
        let cpuid = CpuId::from_entries(&entries).map_err(|_| {
            KvmError::Ioctl(
                "KVM_SET_CPUID2",
                vmm_sys_util::errno::Error::new(libc::E2BIG),
            )
        })?;
        fd.set_cpuid2(&cpuid)
            .map_err(|e| KvmError::Ioctl("KVM_SET_CPUID2", e))?;
        let mut lapic = fd
            .get_lapic()
            .map_err(|e| KvmError::Ioctl("KVM_GET_LAPIC", e))?;
        set_lapic_reg(&mut lapic, APIC_LVT_LINT0, APIC_MODE_EXTINT);
        set_lapic_reg(&mut lapic, APIC_LVT_LINT1, APIC_MODE_NMI);
        let (regs, sregs) = registers(&fd)?;
        let power_on = PowerOnState {
            regs,
            sregs,
            fpu: fd
                .get_fpu()
                .map_err(|e| KvmError::Ioctl("KVM_GET_FPU", e))?,
            lapic,
            mp_state: fd
                .get_mp_state()
                .map_err(|e| KvmError::Ioctl("KVM_GET_MP_STATE", e))?,
        };
        let reset_msrs = RESET_MSRS
            .iter()
            .copied()
            .filter(|(index, _)| host_msrs.contains(index))
            .collect();
        Ok(Self {
            index,
            fd,
            power_on,
            reset_msrs,
        })
    }

    fn reset(&self, to: ResetTo) -> Result<(), KvmError> {
        let p = &self.power_on;
        let mut sregs = p.sregs;
        let mut regs = p.regs;
        if let ResetTo::Entry(entry) = &to {
            enter_mode(&mut sregs, entry);
            regs = entry_regs(entry);
        }
        let fd = &self.fd;
        fd.set_mp_state(p.mp_state)
            .map_err(|e| KvmError::Ioctl("KVM_SET_MP_STATE", e))?;
        fd.set_sregs(&sregs)
            .map_err(|e| KvmError::Ioctl("KVM_SET_SREGS", e))?;
        fd.set_regs(&regs)
            .map_err(|e| KvmError::Ioctl("KVM_SET_REGS", e))?;
        fd.set_fpu(&p.fpu)
            .map_err(|e| KvmError::Ioctl("KVM_SET_FPU", e))?;
        fd.set_lapic(&p.lapic)
            .map_err(|e| KvmError::Ioctl("KVM_SET_LAPIC", e))?;
        let entries: Vec<kvm_msr_entry> = self
            .reset_msrs
            .iter()
            .map(|&(index, data)| kvm_msr_entry {
                index,
                data,
                ..Default::default()
            })
            .collect();
        let msrs = Msrs::from_entries(&entries).map_err(|_| {
            KvmError::Ioctl("KVM_SET_MSRS", vmm_sys_util::errno::Error::new(libc::E2BIG))
        })?;
        fd.set_msrs(&msrs)
            .map_err(|e| KvmError::Ioctl("KVM_SET_MSRS", e))?;
        Ok(())
    }

    fn read_state(&self) -> Result<VcpuState, KvmError> {
        let fd = &self.fd;
        let (regs, sregs) = registers(fd)?;
        Ok(VcpuState {
            regs,
            sregs,
            fpu: fd.get_fpu().unwrap_or_default(),
            debugregs: fd.get_debug_regs().unwrap_or_default(),
            events: fd.get_vcpu_events().unwrap_or_default(),
            halted: fd
                .get_mp_state()
                .is_ok_and(|s| s.mp_state == KVM_MP_STATE_HALTED),
            xcr0: fd.get_xcrs().map_or(1, |x| {
                x.xcrs[..(x.nr_xcrs as usize).min(x.xcrs.len())]
                    .iter()
                    .find(|xcr| xcr.xcr == 0)
                    .map_or(1, |xcr| xcr.value)
            }),
            xsave: fd.get_xsave().ok().map(Box::new),
        })
    }

    /// Print QEMU's report of an internal error: suberror, extra data, and
    /// for emulation failures the register dump.
    fn report_internal_error(&mut self) {
        // SAFETY: KVM filled the `internal` member of the union for the
        // KVM_EXIT_INTERNAL_ERROR exit being handled.
        let internal = unsafe { self.fd.get_kvm_run().__bindgen_anon_1.internal };
        let mut report = format!("KVM internal error. Suberror: {}\n", internal.suberror);
        let ndata = (internal.ndata as usize).min(internal.data.len());
        for (i, data) in internal.data[..ndata].iter().enumerate() {
            report.push_str(&format!("extra data[{i}]: 0x{data:016x}\n"));
        }
        if internal.suberror == KVM_INTERNAL_ERROR_EMULATION {
            report.push_str("emulation failure\n");
        }
        if let (Ok(regs), Ok(sregs)) = (self.fd.get_regs(), self.fd.get_sregs()) {
            report.push_str(&dump_state(&regs, &sregs));
        }
        eprint!("{report}");
    }
}

fn set_lapic_reg(lapic: &mut kvm_lapic_state, offset: usize, value: u32) {
    for (i, byte) in value.to_le_bytes().iter().enumerate() {
        lapic.regs[offset + i] = *byte as libc::c_char;
    }
}

/// What the main thread asks of a vCPU thread.
struct Control {
    run: bool,
    parked: bool,
    quit: bool,
    reset: Option<ResetTo>,
    /// An NMI to inject before the vCPU next enters the guest.
    nmi: bool,
    /// The monitor asked for the registers; the thread answers in `state`.
    state_wanted: bool,
    state: Option<Result<VcpuState, KvmError>>,
}

struct Shared {
    control: Mutex<Control>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(|e| e.into_inner())
    }
}

struct VcpuHandle {
    shared: Arc<Shared>,
    thread: JoinHandle<()>,
    /// The host thread id (`query-cpus-fast`'s thread-id).
    thread_id: i32,
}

/// The running vCPU threads of a machine.
pub struct VcpuThreads {
    vcpus: Vec<VcpuHandle>,
}

thread_local! {
    // The kvm_run page of the vCPU running on this thread, so that the kick
    // signal can make a KVM_RUN entered after the kick return at once.
    static KVM_RUN: Cell<*mut kvm_run> = const { Cell::new(std::ptr::null_mut()) };
}

extern "C" fn kick_handler(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {
    KVM_RUN.with(|run| {
        let run = run.get();
        if !run.is_null() {
            // SAFETY: the pointer is this thread's live kvm_run mapping; a
            // volatile byte store is async-signal-safe.
            unsafe { std::ptr::write_volatile(&mut (*run).immediate_exit, 1) };
        }
    });
}

fn kick_signal() -> libc::c_int {
    SIGRTMIN()
}

impl VcpuThreads {
    /// Start one thread per vCPU, parked: `reset` and then `resume` start
    /// them. `thread_names` names them as QEMU's debug-threads does.
    pub fn spawn(
        vcpus: Vec<Vcpu>,
        buses: Arc<IoBuses>,
        control: Arc<dyn SystemControl>,
        thread_names: bool,
    ) -> io::Result<Self> {
        register_signal_handler(kick_signal(), kick_handler).map_err(io::Error::from)?;
        let mut handles = Vec::new();
        for vcpu in vcpus {
            let shared = Arc::new(Shared {
                control: Mutex::new(Control {
                    run: false,
                    parked: false,
                    quit: false,
                    reset: None,
                    nmi: false,
                    state_wanted: false,
                    state: None,
                }),
                changed: Condvar::new(),
            });
            let mut builder = std::thread::Builder::new();
            if thread_names {
                builder = builder.name(format!("CPU {}/KVM", vcpu.index));
            }
            let thread_shared = shared.clone();
            let buses = buses.clone();
            let control = control.clone();
            let (id_sender, id_receiver) = std::sync::mpsc::channel();
            let thread = builder.spawn(move || {
                // SAFETY: gettid has no preconditions.
                let _ = id_sender.send(unsafe { libc::gettid() });
                run_vcpu(vcpu, &thread_shared, &buses, &*control)
            })?;
            let thread_id = id_receiver.recv().map_err(io::Error::other)?;
            handles.push(VcpuHandle {
                shared,
                thread,
                thread_id,
            });
        }
        Ok(Self { vcpus: handles })
    }

    /// The host thread id of each vCPU, by index.
    pub fn thread_ids(&self) -> Vec<i32> {
        self.vcpus.iter().map(|h| h.thread_id).collect()
    }

    /// Stop every vCPU and wait until all are parked.
    pub fn pause(&self) {
        for h in &self.vcpus {
            h.shared.lock().run = false;
            // SAFETY: the thread is alive until `quit`; the kick signal has
            // a handler installed in `spawn`.
            unsafe { libc::pthread_kill(h.thread.as_pthread_t(), kick_signal()) };
        }
        for h in &self.vcpus {
            let mut c = h.shared.lock();
            while !c.parked && !c.quit {
                c = h.shared.changed.wait(c).unwrap_or_else(|e| e.into_inner());
            }
        }
    }

    /// Reset every vCPU when it next runs: the boot vCPU to `entry` (or its
    /// power-on state when there is no kernel), the others to power-on
    /// state, waiting for INIT/SIPI.
    pub fn reset(&self, entry: Option<CpuEntryState>) {
        for (i, h) in self.vcpus.iter().enumerate() {
            let to = match entry {
                Some(entry) if i == 0 => ResetTo::Entry(entry),
                _ => ResetTo::PowerOn,
            };
            h.shared.lock().reset = Some(to);
        }
    }

    /// Raise an NMI on every vCPU: each injects it before it next enters
    /// the guest (at once if running, when resumed if paused).
    pub fn inject_nmi(&self) {
        for h in &self.vcpus {
            h.shared.lock().nmi = true;
            // SAFETY: as in `pause`.
            unsafe { libc::pthread_kill(h.thread.as_pthread_t(), kick_signal()) };
        }
    }

    /// How many vCPUs there are.
    pub fn count(&self) -> usize {
        self.vcpus.len()
    }

    /// The registers of vCPU `index`, as they are when it next runs (a
    /// pending reset applied), read by its thread: a running vCPU is
    /// kicked out of the guest for it and goes on afterwards.
    pub fn read_state(&self, index: usize) -> Option<Result<VcpuState, KvmError>> {
        let h = self.vcpus.get(index)?;
        let mut c = h.shared.lock();
        c.state_wanted = true;
        h.shared.changed.notify_all();
        // SAFETY: as in `pause`.
        unsafe { libc::pthread_kill(h.thread.as_pthread_t(), kick_signal()) };
        while c.state.is_none() && !c.quit {
            c = h.shared.changed.wait(c).unwrap_or_else(|e| e.into_inner());
        }
        c.state.take()
    }

    /// Let every vCPU run.
    pub fn resume(&self) {
        for h in &self.vcpus {
            h.shared.lock().run = true;
            h.shared.changed.notify_all();
        }
    }
}

/// The general and segment/control registers of a vCPU.
fn registers(fd: &VcpuFd) -> Result<(kvm_regs, kvm_sregs), KvmError> {
    let regs = fd
        .get_regs()
        .map_err(|e| KvmError::Ioctl("KVM_GET_REGS", e))?;
    let sregs = fd
        .get_sregs()
        .map_err(|e| KvmError::Ioctl("KVM_GET_SREGS", e))?;
    Ok((regs, sregs))
}

/// The body of a vCPU thread.
fn run_vcpu(mut vcpu: Vcpu, shared: &Shared, buses: &IoBuses, control: &dyn SystemControl) {
    KVM_RUN.with(|run| run.set(vcpu.fd.get_kvm_run() as *mut kvm_run));
    loop {
        {
            let mut c = shared.lock();
            while !c.run || c.quit || c.state_wanted {
                if c.quit {
                    return;
                }
                if c.state_wanted {
                    c.state_wanted = false;
                    if let Some(to) = c.reset.take() {
                        // A failed reset is retried, and reported, on the
                        // way back into the guest.
                        if vcpu.reset(to).is_err() {
                            c.reset = Some(to);
                        }
                    }
                    c.state = Some(vcpu.read_state());
                    shared.changed.notify_all();
                    continue;
                }
                c.parked = true;
                shared.changed.notify_all();
                c = shared.changed.wait(c).unwrap_or_else(|e| e.into_inner());
            }
            c.parked = false;
            if let Some(to) = c.reset.take() {
                if let Err(e) = vcpu.reset(to) {
                    eprintln!("qemu-system-x86_64: vCPU {} reset: {e}", vcpu.index);
                    park_and_request(shared, control, SystemRequest::InternalError);
                    continue;
                }
            }
            if std::mem::take(&mut c.nmi) {
                if let Err(e) = vcpu.fd.nmi() {
                    eprintln!("qemu-system-x86_64: vCPU {} NMI: {e}", vcpu.index);
                }
            }
        }
        if let Some(request) = run_once(&mut vcpu, buses) {
            park_and_request(shared, control, request);
        }
    }
}

/// Stop this vCPU and tell the machine why; the main thread decides whether
/// and how it runs again.
fn park_and_request(shared: &Shared, control: &dyn SystemControl, request: SystemRequest) {
    shared.lock().run = false;
    control.request(request);
}

/// The width of each access of the port I/O exit being handled.
fn io_access_size() -> usize {
    KVM_RUN.with(|run| {
        // SAFETY: the pointer is this thread's kvm_run page, set before the
        // first KVM_RUN, and KVM filled its `io` member for this exit.
        let size = unsafe { (*run.get()).__bindgen_anon_1.io.size };
        usize::from(size).max(1)
    })
}

/// Enter the guest once and handle the exit. Returns a request when the
/// vCPU cannot go on by itself.
fn run_once(vcpu: &mut Vcpu, buses: &IoBuses) -> Option<SystemRequest> {
    let exit = match vcpu.fd.run() {
        Ok(exit) => exit,
        Err(e) if e.errno() == libc::EINTR || e.errno() == libc::EAGAIN => {
            vcpu.fd.set_kvm_immediate_exit(0);
            return None;
        }
        Err(e) => {
            eprintln!("qemu-system-x86_64: error: kvm run failed {e}");
            return Some(SystemRequest::InternalError);
        }
    };
    match exit {
        // String instructions (`rep insb`) come as `count` accesses of
        // `size` bytes each, all at the same port.
        VcpuExit::IoIn(port, data) => {
            for access in data.chunks_mut(io_access_size()) {
                buses.port_read(port, access);
            }
        }
        VcpuExit::IoOut(port, data) => {
            for access in data.chunks(io_access_size()) {
                buses.pio.write(u64::from(port), access);
            }
        }
        VcpuExit::MmioRead(addr, data) => {
            if !buses.mmio.read(addr, data) {
                data.fill(0);
            }
        }
        VcpuExit::MmioWrite(addr, data) => {
            buses.mmio.write(addr, data);
        }
        // A triple fault: the machine resets, as QEMU does.
        VcpuExit::Shutdown => return Some(SystemRequest::Reset),
        VcpuExit::SystemEvent(kind, _) => match kind {
            KVM_SYSTEM_EVENT_SHUTDOWN => return Some(SystemRequest::Shutdown),
            KVM_SYSTEM_EVENT_RESET => return Some(SystemRequest::Reset),
            _ => {}
        },
        VcpuExit::Hlt | VcpuExit::Intr | VcpuExit::IrqWindowOpen => {}
        VcpuExit::InternalError => {
            vcpu.report_internal_error();
            return Some(SystemRequest::InternalError);
        }
        VcpuExit::FailEntry(reason, cpu) => {
            eprintln!("KVM: entry failed, hardware error 0x{reason:x} (cpu {cpu})");
            return Some(SystemRequest::InternalError);
        }
        other => {
            eprintln!("KVM: unknown exit, hardware reason {other:?}");
            return Some(SystemRequest::InternalError);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accel::kvm::KvmVm;
    use hw::core::bus::BusDevice;
    use std::sync::mpsc;
    use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

    /// Records port writes and answers reads with a fixed byte.
    struct Port(mpsc::Sender<(u64, Vec<u8>)>);

    impl BusDevice for Port {
        fn read(&mut self, _offset: u64, data: &mut [u8]) {
            data.fill(0x5a);
        }
        fn write(&mut self, offset: u64, data: &[u8]) {
            let _ = self.0.send((offset, data.to_vec()));
        }
    }

    struct Requests(Mutex<mpsc::Sender<SystemRequest>>);

    impl SystemControl for Requests {
        fn request(&self, request: SystemRequest) {
            let _ = self.0.lock().unwrap().send(request);
        }
    }

    /// A guest entered in 32-bit protected mode reads a port, writes what it
    /// read plus one to another port, then triple-faults: the exits reach
    /// the bus and the machine gets a reset request.
    #[test]
    fn protected_mode_guest_reaches_the_bus_and_resets() {
        let (vm, _) = KvmVm::new(1, 1).expect("KVM is available");
        let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 1 << 20)]).unwrap();
        // in al, 0x60; inc al; out 0xf4, al; lidt [zero-limit IDT]; ud2
        let code = [
            0xe4, 0x60, 0xfe, 0xc0, 0xe6, 0xf4, 0x0f, 0x01, 0x1d, 0x00, 0x20, 0x00, 0x00, 0x0f,
            0x0b,
        ];
        mem.write_slice(&code, GuestAddress(0x1000)).unwrap();
        mem.write_slice(&[0u8; 6], GuestAddress(0x2000)).unwrap();
        vm.map_memory(&mem).unwrap();
        let _chipset = crate::accel::kvm::chipset::KvmChipset::new(vm.vm_fd()).unwrap();
        let supported = vm.supported_cpuid().unwrap();
        let vcpu = Vcpu::new(&vm.vm_fd(), 0, &supported, &[]).unwrap();
        let buses = Arc::new(IoBuses {
            pio: Bus::new(),
            mmio: Bus::new(),
        });
        let (port_tx, port_rx) = mpsc::channel();
        buses
            .pio
            .insert(
                0x60,
                1,
                "probe",
                Arc::new(Mutex::new(Port(port_tx.clone()))),
            )
            .unwrap();
        buses
            .pio
            .insert(0xf4, 1, "probe", Arc::new(Mutex::new(Port(port_tx))))
            .unwrap();
        let (req_tx, req_rx) = mpsc::channel();
        let threads = VcpuThreads::spawn(
            vec![vcpu],
            buses,
            Arc::new(Requests(Mutex::new(req_tx))),
            false,
        )
        .unwrap();
        threads.reset(Some(CpuEntryState {
            mode: hw::i386::loader::EntryMode::Protected32Flat,
            rip: 0x1000,
            rsp: 0x8000,
            rax: 0,
            rbx: 0,
            rsi: 0,
            cr3: 0,
            gdt_base: 0,
            gdt_limit: 0,
            code_selector: 0x10,
            code_descriptor: hw::i386::loader::descriptor::CODE32,
            data_selector: 0x18,
            data_descriptor: hw::i386::loader::descriptor::DATA,
        }));
        threads.resume();
        let timeout = std::time::Duration::from_secs(20);
        assert_eq!(port_rx.recv_timeout(timeout).unwrap(), (0, vec![0x5b]));
        assert_eq!(req_rx.recv_timeout(timeout).unwrap(), SystemRequest::Reset);
        threads.pause();
    }
}
