//! `info registers`: a vCPU's state in QEMU's x86 dump format
//! (x86_cpu_dump_state with the FPU part), from the KVM register sets.

use std::fmt::Write;

use kvm_bindings::kvm_segment;

use crate::accel::kvm::vcpu::VcpuState;

const CR0_PE: u64 = 1;
const EFER_LMA: u64 = 1 << 10;
const XSTATE_SSE: u64 = 1 << 1;
const XSTATE_YMM: u64 = 1 << 2;
const XSTATE_AVX512: u64 = 0xe0;
/// Offsets in the (standard-format) XSAVE area.
const XSAVE_XMM: usize = 160;
const XSAVE_YMM_HI: usize = 576;
const XSAVE_OPMASK: usize = 1088;
const XSAVE_ZMM_HI256: usize = 1152;
const XSAVE_HI16_ZMM: usize = 1664;

/// QEMU's segment descriptor flag bits (its SegmentCache.flags).
const DESC_TYPE_SHIFT: u32 = 8;
const DESC_A: u32 = 1 << 8;
const DESC_RW: u32 = 1 << 9;
const DESC_CE: u32 = 1 << 10;
const DESC_CS: u32 = 1 << 11;
const DESC_S: u32 = 1 << 12;
const DESC_DPL_SHIFT: u32 = 13;
const DESC_P: u32 = 1 << 15;
const DESC_L: u32 = 1 << 21;
const DESC_B: u32 = 1 << 22;

/// The flags QEMU keeps for a segment KVM reports.
fn seg_flags(s: &kvm_segment) -> u32 {
    (u32::from(s.type_) << DESC_TYPE_SHIFT)
        | if s.present != 0 && s.unusable == 0 {
            DESC_P
        } else {
            0
        }
        | (u32::from(s.dpl) << DESC_DPL_SHIFT)
        | (u32::from(s.db) << 22)
        | (u32::from(s.s) << 12)
        | (u32::from(s.l) << 21)
        | (u32::from(s.g) << 23)
        | (u32::from(s.avl) << 20)
}

const SYSTEM_TYPES_32: [&str; 16] = [
    "Reserved",
    "TSS16-avl",
    "LDT",
    "TSS16-busy",
    "CallGate16",
    "TaskGate",
    "IntGate16",
    "TrapGate16",
    "Reserved",
    "TSS32-avl",
    "Reserved",
    "TSS32-busy",
    "CallGate32",
    "Reserved",
    "IntGate32",
    "TrapGate32",
];

const SYSTEM_TYPES_64: [&str; 16] = [
    "<hiword>",
    "Reserved",
    "LDT",
    "Reserved",
    "Reserved",
    "Reserved",
    "Reserved",
    "Reserved",
    "Reserved",
    "TSS64-avl",
    "Reserved",
    "TSS64-busy",
    "CallGate64",
    "Reserved",
    "IntGate64",
    "TrapGate64",
];

struct Mode {
    protected: bool,
    long: bool,
    /// 64-bit code: long mode with a 64-bit code segment.
    code64: bool,
}

fn segment_line(out: &mut String, mode: &Mode, name: &str, s: &kvm_segment) {
    let flags = seg_flags(s);
    if mode.code64 {
        let _ = write!(
            out,
            "{name:<3}={:04x} {:016x} {:08x} {:08x}",
            s.selector,
            s.base,
            s.limit,
            flags & 0x00ff_ff00
        );
    } else {
        let _ = write!(
            out,
            "{name:<3}={:04x} {:08x} {:08x} {:08x}",
            s.selector,
            s.base as u32,
            s.limit,
            flags & 0x00ff_ff00
        );
    }
    if mode.protected && flags & DESC_P != 0 {
        let _ = write!(out, " DPL={} ", (flags >> DESC_DPL_SHIFT) & 3);
        if flags & DESC_S != 0 {
            if flags & DESC_CS != 0 {
                out.push_str(if flags & DESC_L != 0 {
                    "CS64"
                } else if flags & DESC_B != 0 {
                    "CS32"
                } else {
                    "CS16"
                });
                out.push_str(if flags & DESC_CE != 0 { " [C" } else { " [-" });
                out.push(if flags & DESC_RW != 0 { 'R' } else { '-' });
            } else {
                out.push_str(if flags & DESC_B != 0 || mode.long {
                    "DS  "
                } else {
                    "DS16"
                });
                out.push_str(if flags & DESC_CE != 0 { " [E" } else { " [-" });
                out.push(if flags & DESC_RW != 0 { 'W' } else { '-' });
            }
            out.push_str(if flags & DESC_A != 0 { "A]" } else { "-]" });
        } else {
            let table = if mode.long {
                &SYSTEM_TYPES_64
            } else {
                &SYSTEM_TYPES_32
            };
            out.push_str(table[(s.type_ & 15) as usize]);
        }
    }
    out.push('\n');
}

fn xsave_u64(state: &VcpuState, offset: usize) -> u64 {
    state.xsave.as_ref().map_or(0, |x| {
        let i = offset / 4;
        u64::from(x.region[i]) | (u64::from(x.region[i + 1]) << 32)
    })
}

/// The `index`th quadword of vector register `reg` (XMM in the legacy
/// area, bits 128-255 after it, 256-511 in the ZMM_Hi256 area, registers
/// 16-31 in Hi16_ZMM).
fn vector_quad(state: &VcpuState, reg: usize, quad: usize) -> u64 {
    if reg >= 16 {
        return xsave_u64(state, XSAVE_HI16_ZMM + (reg - 16) * 64 + quad * 8);
    }
    match quad {
        0 | 1 => match &state.xsave {
            Some(_) => xsave_u64(state, XSAVE_XMM + reg * 16 + quad * 8),
            None => u64::from_le_bytes(
                state.fpu.xmm[reg][quad * 8..quad * 8 + 8]
                    .try_into()
                    .unwrap_or_default(),
            ),
        },
        2 | 3 => xsave_u64(state, XSAVE_YMM_HI + reg * 16 + (quad - 2) * 8),
        _ => xsave_u64(state, XSAVE_ZMM_HI256 + reg * 32 + (quad - 4) * 8),
    }
}

/// The dump of `info registers` for one vCPU (after its `CPU#n` line).
pub fn dump(state: &VcpuState) -> String {
    let r = &state.regs;
    let s = &state.sregs;
    let long = s.efer & EFER_LMA != 0;
    let mode = Mode {
        protected: s.cr0 & CR0_PE != 0,
        long,
        code64: long && s.cs.l != 0,
    };
    let eflags = r.rflags as u32;
    let flag = |bit: u32, c: char| if eflags & (1 << bit) != 0 { c } else { '-' };
    let flags: String = [
        flag(10, 'D'),
        flag(11, 'O'),
        flag(7, 'S'),
        flag(6, 'Z'),
        flag(4, 'A'),
        flag(2, 'P'),
        flag(0, 'C'),
    ]
    .iter()
    .collect();
    // CPL is the stack segment's DPL, as QEMU computes it.
    let tail = format!(
        "[{flags}] CPL={} II={} A20=1 SMM={} HLT={}\n",
        s.ss.dpl,
        u8::from(state.events.interrupt.shadow != 0),
        state.events.smi.smm,
        u8::from(state.halted)
    );
    let mut out = String::new();
    if mode.code64 {
        let _ = write!(
            out,
            "RAX={:016x} RBX={:016x} RCX={:016x} RDX={:016x}\n\
             RSI={:016x} RDI={:016x} RBP={:016x} RSP={:016x}\n\
             R8 ={:016x} R9 ={:016x} R10={:016x} R11={:016x}\n\
             R12={:016x} R13={:016x} R14={:016x} R15={:016x}\n\
             RIP={:016x} RFL={eflags:08x} {tail}",
            r.rax,
            r.rbx,
            r.rcx,
            r.rdx,
            r.rsi,
            r.rdi,
            r.rbp,
            r.rsp,
            r.r8,
            r.r9,
            r.r10,
            r.r11,
            r.r12,
            r.r13,
            r.r14,
            r.r15,
            r.rip
        );
    } else {
        let _ = write!(
            out,
            "EAX={:08x} EBX={:08x} ECX={:08x} EDX={:08x}\n\
             ESI={:08x} EDI={:08x} EBP={:08x} ESP={:08x}\n\
             EIP={:08x} EFL={eflags:08x} {tail}",
            r.rax as u32,
            r.rbx as u32,
            r.rcx as u32,
            r.rdx as u32,
            r.rsi as u32,
            r.rdi as u32,
            r.rbp as u32,
            r.rsp as u32,
            r.rip as u32
        );
    }
    for (name, seg) in [
        ("ES", &s.es),
        ("CS", &s.cs),
        ("SS", &s.ss),
        ("DS", &s.ds),
        ("FS", &s.fs),
        ("GS", &s.gs),
        ("LDT", &s.ldt),
        ("TR", &s.tr),
    ] {
        segment_line(&mut out, &mode, name, seg);
    }
    let d = &state.debugregs;
    if long {
        let _ = write!(
            out,
            "GDT=     {:016x} {:08x}\nIDT=     {:016x} {:08x}\n\
             CR0={:08x} CR2={:016x} CR3={:016x} CR4={:08x}\n",
            s.gdt.base,
            s.gdt.limit,
            s.idt.base,
            s.idt.limit,
            s.cr0 as u32,
            s.cr2,
            s.cr3,
            s.cr4 as u32
        );
    } else {
        let _ = write!(
            out,
            "GDT=     {:08x} {:08x}\nIDT=     {:08x} {:08x}\n\
             CR0={:08x} CR2={:08x} CR3={:08x} CR4={:08x}\n",
            s.gdt.base as u32,
            s.gdt.limit,
            s.idt.base as u32,
            s.idt.limit,
            s.cr0 as u32,
            s.cr2 as u32,
            s.cr3 as u32,
            s.cr4 as u32
        );
    }
    for (i, dr) in d.db.iter().enumerate() {
        let _ = write!(out, "DR{i}={dr:016x} ");
    }
    let _ = write!(
        out,
        "\nDR6={:016x} DR7={:016x}\nEFER={:016x}\n",
        d.dr6, d.dr7, s.efer
    );
    fpu_part(&mut out, state, mode.code64);
    out
}

fn fpu_part(out: &mut String, state: &VcpuState, code64: bool) {
    let f = &state.fpu;
    let _ = writeln!(
        out,
        "FCW={:04x} FSW={:04x} [ST={}] FTW={:02x} MXCSR={:08x}",
        f.fcw,
        f.fsw,
        (f.fsw >> 11) & 7,
        f.ftwx,
        f.mxcsr
    );
    for (i, reg) in f.fpr.iter().enumerate() {
        let low = u64::from_le_bytes(reg[..8].try_into().unwrap_or_default());
        let high = u16::from_le_bytes([reg[8], reg[9]]);
        let _ = write!(
            out,
            "FPR{i}={low:016x} {high:04x}{}",
            if i & 1 == 1 { "\n" } else { " " }
        );
    }
    let avx512 = XSTATE_AVX512 | XSTATE_YMM | XSTATE_SSE;
    let avx = XSTATE_YMM | XSTATE_SSE;
    if state.xcr0 & avx512 == avx512 {
        for i in 0..8 {
            let _ = write!(
                out,
                "Opmask{i:02}={:016x}{}",
                xsave_u64(state, XSAVE_OPMASK + i * 8),
                if i & 3 == 3 { "\n" } else { " " }
            );
        }
        for reg in 0..if code64 { 32 } else { 8 } {
            let quads: Vec<String> = (0..8)
                .rev()
                .map(|q| format!("{:016x}", vector_quad(state, reg, q)))
                .collect();
            let _ = writeln!(out, "ZMM{reg:02}={}", quads.join(" "));
        }
    } else if state.xcr0 & avx == avx {
        for reg in 0..if code64 { 16 } else { 8 } {
            let quads: Vec<String> = (0..4)
                .rev()
                .map(|q| format!("{:016x}", vector_quad(state, reg, q)))
                .collect();
            let _ = writeln!(out, "YMM{reg:02}={}", quads.join(" "));
        }
    } else {
        for reg in 0..if code64 { 16 } else { 8 } {
            let _ = write!(
                out,
                "XMM{reg:02}={:016x} {:016x}{}",
                vector_quad(state, reg, 1),
                vector_quad(state, reg, 0),
                if reg & 1 == 1 { "\n" } else { " " }
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kvm_bindings::{kvm_debugregs, kvm_fpu, kvm_regs, kvm_sregs};

    fn segment(selector: u16, base: u64, type_: u8, s: u8) -> kvm_segment {
        kvm_segment {
            selector,
            base,
            limit: 0xffff,
            type_,
            present: 1,
            s,
            ..Default::default()
        }
    }

    /// The power-on state KVM gives a vCPU and QEMU 7.2's `info registers`
    /// for it, captured on `-M pc -accel kvm -S`.
    #[test]
    fn power_on_state_as_qemu() {
        let data = segment(0, 0, 3, 1);
        let state = VcpuState {
            regs: kvm_regs {
                rdx: 0x60fb1,
                rip: 0xfff0,
                rflags: 2,
                ..Default::default()
            },
            sregs: kvm_sregs {
                cs: segment(0xf000, 0xffff_0000, 0xb, 1),
                ds: data,
                es: data,
                fs: data,
                gs: data,
                ss: data,
                ldt: segment(0, 0, 2, 0),
                tr: segment(0, 0, 0xb, 0),
                cr0: 0x6000_0010,
                gdt: kvm_bindings::kvm_dtable {
                    limit: 0xffff,
                    ..Default::default()
                },
                idt: kvm_bindings::kvm_dtable {
                    limit: 0xffff,
                    ..Default::default()
                },
                ..Default::default()
            },
            fpu: kvm_fpu {
                fcw: 0x37f,
                mxcsr: 0x1f80,
                ..Default::default()
            },
            debugregs: kvm_debugregs {
                dr6: 0xffff_0ff0,
                dr7: 0x400,
                ..Default::default()
            },
            events: Default::default(),
            halted: false,
            xcr0: 1,
            xsave: None,
        };
        let qemu = "\
EAX=00000000 EBX=00000000 ECX=00000000 EDX=00060fb1
ESI=00000000 EDI=00000000 EBP=00000000 ESP=00000000
EIP=0000fff0 EFL=00000002 [-------] CPL=0 II=0 A20=1 SMM=0 HLT=0
ES =0000 00000000 0000ffff 00009300
CS =f000 ffff0000 0000ffff 00009b00
SS =0000 00000000 0000ffff 00009300
DS =0000 00000000 0000ffff 00009300
FS =0000 00000000 0000ffff 00009300
GS =0000 00000000 0000ffff 00009300
LDT=0000 00000000 0000ffff 00008200
TR =0000 00000000 0000ffff 00008b00
GDT=     00000000 0000ffff
IDT=     00000000 0000ffff
CR0=60000010 CR2=00000000 CR3=00000000 CR4=00000000
DR0=0000000000000000 DR1=0000000000000000 DR2=0000000000000000 DR3=0000000000000000 
DR6=00000000ffff0ff0 DR7=0000000000000400
EFER=0000000000000000
FCW=037f FSW=0000 [ST=0] FTW=00 MXCSR=00001f80
FPR0=0000000000000000 0000 FPR1=0000000000000000 0000
FPR2=0000000000000000 0000 FPR3=0000000000000000 0000
FPR4=0000000000000000 0000 FPR5=0000000000000000 0000
FPR6=0000000000000000 0000 FPR7=0000000000000000 0000
XMM00=0000000000000000 0000000000000000 XMM01=0000000000000000 0000000000000000
XMM02=0000000000000000 0000000000000000 XMM03=0000000000000000 0000000000000000
XMM04=0000000000000000 0000000000000000 XMM05=0000000000000000 0000000000000000
XMM06=0000000000000000 0000000000000000 XMM07=0000000000000000 0000000000000000
";
        assert_eq!(dump(&state), qemu);
    }
}
