//! x86 register states a vCPU is put in: the power-on state restored on
//! reset, and the entry states of direct kernel boot.

use kvm_bindings::{kvm_regs, kvm_segment, kvm_sregs};

use hw::i386::loader::{CpuEntryState, Segment};

const TSS_BUSY: u8 = 0xb;

/// The segment cache KVM loads for a boot segment.
fn segment_cache(s: Segment) -> kvm_segment {
    kvm_segment {
        base: u64::from(s.base),
        limit: s.limit,
        selector: s.selector,
        type_: s.type_,
        present: u8::from(s.present),
        dpl: s.dpl,
        db: u8::from(s.db),
        s: u8::from(s.s),
        l: u8::from(s.l),
        g: u8::from(s.g),
        avl: u8::from(s.avl),
        unusable: 0,
        padding: 0,
    }
}

/// Put `sregs` in the mode and segments of a kernel entry state. Segment
/// caches are loaded directly, as if the selectors had been loaded from
/// the GDT the loader wrote.
pub fn enter_mode(sregs: &mut kvm_sregs, entry: &CpuEntryState) {
    sregs.cs = segment_cache(entry.code_segment());
    let data = segment_cache(entry.data_segment());
    sregs.ds = data;
    sregs.es = data;
    sregs.fs = data;
    sregs.gs = data;
    sregs.ss = data;
    // VMX wants a usable task register even though no task switch happens.
    sregs.tr = kvm_segment {
        limit: 0xffff,
        type_: TSS_BUSY,
        present: 1,
        ..Default::default()
    };
    sregs.gdt.base = entry.gdt_base;
    sregs.gdt.limit = entry.gdt_limit;
    (sregs.cr0, sregs.cr4, sregs.efer) = entry.control_registers();
    sregs.cr3 = entry.cr3;
}

/// General registers at a kernel entry: everything zero but the entry
/// point, the stack, the protocol's argument registers and EFLAGS bit 1.
pub fn entry_regs(entry: &CpuEntryState) -> kvm_regs {
    kvm_regs {
        rip: entry.rip,
        rsp: entry.rsp,
        rax: entry.rax,
        rbx: entry.rbx,
        rsi: entry.rsi,
        rflags: 2,
        ..Default::default()
    }
}

/// QEMU's register dump (x86_cpu_dump_state) for an internal error.
pub fn dump_state(regs: &kvm_regs, sregs: &kvm_sregs) -> String {
    let mut out = format!(
        "RAX={:016x} RBX={:016x} RCX={:016x} RDX={:016x}\n\
         RSI={:016x} RDI={:016x} RBP={:016x} RSP={:016x}\n\
         R8 ={:016x} R9 ={:016x} R10={:016x} R11={:016x}\n\
         R12={:016x} R13={:016x} R14={:016x} R15={:016x}\n\
         RIP={:016x} RFL={:08x}\n",
        regs.rax,
        regs.rbx,
        regs.rcx,
        regs.rdx,
        regs.rsi,
        regs.rdi,
        regs.rbp,
        regs.rsp,
        regs.r8,
        regs.r9,
        regs.r10,
        regs.r11,
        regs.r12,
        regs.r13,
        regs.r14,
        regs.r15,
        regs.rip,
        regs.rflags
    );
    let segments = [
        ("ES =", &sregs.es),
        ("CS =", &sregs.cs),
        ("SS =", &sregs.ss),
        ("DS =", &sregs.ds),
        ("FS =", &sregs.fs),
        ("GS =", &sregs.gs),
        ("LDT=", &sregs.ldt),
        ("TR =", &sregs.tr),
    ];
    for (name, s) in segments {
        out.push_str(&format!(
            "{name}{:04x} {:016x} {:08x} DPL={}\n",
            s.selector, s.base, s.limit, s.dpl
        ));
    }
    out.push_str(&format!(
        "GDT=     {:016x} {:08x}\nIDT=     {:016x} {:08x}\n",
        sregs.gdt.base, sregs.gdt.limit, sregs.idt.base, sregs.idt.limit
    ));
    out.push_str(&format!(
        "CR0={:08x} CR2={:016x} CR3={:016x} CR4={:08x}\nEFER={:016x}\n",
        sregs.cr0, sregs.cr2, sregs.cr3, sregs.cr4, sregs.efer
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use hw::i386::loader::{descriptor, EntryMode};

    fn entry(mode: EntryMode, code: u64) -> CpuEntryState {
        CpuEntryState {
            mode,
            rip: 0x100000,
            rsp: 0,
            rax: 0,
            rbx: 0,
            rsi: 0,
            cr3: 0x9000,
            gdt_base: 0x500,
            gdt_limit: 31,
            code_selector: 0x10,
            code_descriptor: code,
            data_selector: 0x18,
            data_descriptor: descriptor::DATA,
        }
    }

    #[test]
    fn long_mode_entry_sets_paging_and_64bit_code() {
        let mut sregs = kvm_sregs::default();
        enter_mode(&mut sregs, &entry(EntryMode::Long64, descriptor::CODE64));
        assert_eq!(sregs.cr3, 0x9000);
        assert_eq!(sregs.cr0 & 0x8000_0001, 0x8000_0001, "PE and PG");
        assert_eq!(sregs.efer, 0x500, "LME and LMA");
        assert_eq!((sregs.cs.l, sregs.cs.db, sregs.cs.selector), (1, 0, 0x10));
        assert_eq!(
            (sregs.ds.db, sregs.ds.type_, sregs.ds.limit),
            (1, 3, 0xffff_ffff)
        );
    }

    #[test]
    fn protected_mode_entry_has_paging_off_and_flat_code() {
        let mut sregs = kvm_sregs::default();
        enter_mode(
            &mut sregs,
            &entry(EntryMode::Protected32Flat, descriptor::CODE32),
        );
        assert_eq!(sregs.cr0 & 0x8000_0000, 0, "paging off");
        assert_eq!(sregs.efer, 0);
        let cs = sregs.cs;
        assert_eq!(
            (cs.l, cs.db, cs.limit, cs.base, cs.type_, cs.s, cs.present, cs.g),
            (0, 1, 0xffff_ffff, 0, 0xb, 1, 1, 1)
        );
    }
}
