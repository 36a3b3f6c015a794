//! x86 register states a vCPU is put in: the power-on state restored on
//! reset, and the entry states of direct kernel boot.

use kvm_bindings::{kvm_regs, kvm_segment, kvm_sregs};

const CR0_PE: u64 = 1;
const CR0_ET: u64 = 1 << 4;
const CR0_PG: u64 = 1 << 31;
const CR4_PAE: u64 = 1 << 5;
const EFER_LME: u64 = 1 << 8;
const EFER_LMA: u64 = 1 << 10;

/// Segment types of the descriptors a boot protocol asks for.
const CODE_EXEC_READ_ACCESSED: u8 = 0xb;
const DATA_READ_WRITE_ACCESSED: u8 = 0x3;
const TSS_BUSY: u8 = 0xb;

/// A flat 4 GiB segment: `selector` as the boot protocols name them
/// (Linux's __BOOT_CS = 0x10, __BOOT_DS = 0x18).
fn flat_segment(selector: u16, code: bool, long: bool) -> kvm_segment {
    kvm_segment {
        base: 0,
        limit: 0xffff_ffff,
        selector,
        type_: if code {
            CODE_EXEC_READ_ACCESSED
        } else {
            DATA_READ_WRITE_ACCESSED
        },
        present: 1,
        dpl: 0,
        db: u8::from(!long),
        s: 1,
        l: u8::from(long),
        g: 1,
        avl: 0,
        unusable: 0,
        padding: 0,
    }
}

/// The CPU mode a kernel entry point expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryMode {
    /// 32-bit protected mode, paging off, flat segments (PVH, multiboot).
    Protected32,
    /// 64-bit long mode with the identity-mapping page tables at `cr3`
    /// (the Linux 64-bit boot protocol).
    Long64 { cr3: u64 },
}

/// Put `sregs` in the flat mode `mode` asks for. Segment caches are loaded
/// directly, so the guest's GDT only matters once it reloads a selector.
pub fn enter_mode(sregs: &mut kvm_sregs, mode: EntryMode, gdt_base: u64, gdt_limit: u16) {
    let long = matches!(mode, EntryMode::Long64 { .. });
    sregs.cs = flat_segment(0x10, true, long);
    let data = flat_segment(0x18, false, false);
    sregs.ds = data;
    sregs.es = data;
    sregs.fs = data;
    sregs.gs = data;
    sregs.ss = data;
    sregs.tr = kvm_segment {
        base: 0,
        limit: 0xffff,
        selector: 0x20,
        type_: TSS_BUSY,
        present: 1,
        s: 0,
        ..Default::default()
    };
    sregs.gdt.base = gdt_base;
    sregs.gdt.limit = gdt_limit;
    sregs.cr0 = CR0_PE | CR0_ET;
    match mode {
        EntryMode::Protected32 => {
            sregs.cr4 = 0;
            sregs.efer = 0;
        }
        EntryMode::Long64 { cr3 } => {
            sregs.cr0 |= CR0_PG;
            sregs.cr3 = cr3;
            sregs.cr4 = CR4_PAE;
            sregs.efer = EFER_LME | EFER_LMA;
        }
    }
}

/// General registers at a kernel entry: everything zero but the entry
/// point, the stack, the protocol's argument registers and EFLAGS bit 1.
pub fn entry_regs(rip: u64, rsp: u64, rax: u64, rbx: u64, rsi: u64) -> kvm_regs {
    kvm_regs {
        rip,
        rsp,
        rax,
        rbx,
        rsi,
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

    #[test]
    fn long_mode_entry_sets_paging_and_64bit_code() {
        let mut sregs = kvm_sregs::default();
        enter_mode(&mut sregs, EntryMode::Long64 { cr3: 0x9000 }, 0x500, 0x27);
        assert_eq!(sregs.cr3, 0x9000);
        assert_eq!(sregs.cr0 & (CR0_PE | CR0_PG), CR0_PE | CR0_PG);
        assert_eq!(sregs.efer, EFER_LME | EFER_LMA);
        assert_eq!((sregs.cs.l, sregs.cs.db), (1, 0));
        assert_eq!(sregs.ds.db, 1);
    }

    #[test]
    fn protected_mode_entry_has_paging_off() {
        let mut sregs = kvm_sregs::default();
        enter_mode(&mut sregs, EntryMode::Protected32, 0x500, 0x27);
        assert_eq!(sregs.cr0 & CR0_PG, 0);
        assert_eq!(sregs.efer, 0);
        assert_eq!((sregs.cs.l, sregs.cs.db, sregs.cs.limit), (0, 1, 0xffff_ffff));
    }
}
