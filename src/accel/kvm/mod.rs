//! The KVM accelerator: the VM, its memory slots, the in-kernel chipset and
//! the vCPU threads.

use std::sync::Arc;

use kvm_bindings::{kvm_userspace_memory_region, KVM_MAX_CPUID_ENTRIES};
use kvm_ioctls::{Kvm, VmFd};
use vm_memory::{GuestMemoryBackend, GuestMemoryMmap, GuestMemoryRegion};
use vmm_sys_util::errno;

use crate::cpu::cpuid::CpuidEntry;

pub mod chipset;
pub mod regs;
pub mod vcpu;

/// Where KVM keeps the identity map and TSS it needs for real mode on VMX;
/// QEMU puts them just below the BIOS, and the e820 table reserves them.
const IDENTITY_MAP_ADDR: u64 = 0xfeff_c000;
const TSS_ADDR: usize = 0xfeff_d000;

#[derive(Debug, thiserror::Error)]
pub enum KvmError {
    /// /dev/kvm cannot be opened; QEMU's two lines.
    #[error("Could not access KVM kernel module: {0}\nqemu-system-x86_64: failed to initialize kvm: {0}")]
    Open(errno::Error),
    #[error("{0} failed: {1}")]
    Ioctl(&'static str, errno::Error),
    #[error("Number of {kind} cpus requested ({requested}) exceeds the maximum cpus supported by KVM ({max})")]
    TooManyVcpus {
        kind: &'static str,
        requested: u32,
        max: usize,
    },
}

/// What CPUID the host lets a guest have, asked of /dev/kvm without a VM
/// (the CPU model queries of the monitor need it on any machine).
pub fn host_supported_cpuid() -> Result<Vec<CpuidEntry>, KvmError> {
    supported_cpuid(&Kvm::new().map_err(KvmError::Open)?)
}

/// The host's values of the feature MSRs KVM reports (capability MSRs and
/// VMX controls), read from /dev/kvm without a VM.
pub fn host_msr_features() -> Result<Vec<(u32, u64)>, KvmError> {
    let kvm = Kvm::new().map_err(KvmError::Open)?;
    let indices = kvm
        .get_msr_feature_index_list()
        .map_err(|e| KvmError::Ioctl("KVM_GET_MSR_FEATURE_INDEX_LIST", e))?;
    let entries: Vec<kvm_bindings::kvm_msr_entry> = indices
        .as_slice()
        .iter()
        .map(|&index| kvm_bindings::kvm_msr_entry {
            index,
            ..Default::default()
        })
        .collect();
    let mut msrs = kvm_bindings::Msrs::from_entries(&entries)
        .map_err(|_| KvmError::Ioctl("KVM_GET_MSRS", errno::Error::new(libc::E2BIG)))?;
    let read = kvm
        .get_msrs(&mut msrs)
        .map_err(|e| KvmError::Ioctl("KVM_GET_MSRS", e))?;
    Ok(msrs.as_slice()[..read]
        .iter()
        .map(|e| (e.index, e.data))
        .collect())
}

fn supported_cpuid(kvm: &Kvm) -> Result<Vec<CpuidEntry>, KvmError> {
    let cpuid = kvm
        .get_supported_cpuid(KVM_MAX_CPUID_ENTRIES)
        .map_err(|e| KvmError::Ioctl("KVM_GET_SUPPORTED_CPUID", e))?;
    Ok(cpuid
        .as_slice()
        .iter()
        .map(|e| CpuidEntry {
            function: e.function,
            index: e.index,
            significant_index: e.flags & kvm_bindings::KVM_CPUID_FLAG_SIGNIFCANT_INDEX != 0,
            eax: e.eax,
            ebx: e.ebx,
            ecx: e.ecx,
            edx: e.edx,
        })
        .collect())
}

/// An open KVM VM.
pub struct KvmVm {
    kvm: Kvm,
    vm: Arc<VmFd>,
}

impl KvmVm {
    /// Open /dev/kvm and create a VM, checking `-smp` against KVM's limits.
    /// Returns the VM and QEMU's warnings for vCPU counts above the
    /// recommended number.
    pub fn new(cpus: u32, max_cpus: u32) -> Result<(Self, Vec<String>), KvmError> {
        let kvm = Kvm::new().map_err(KvmError::Open)?;
        let recommended = kvm.get_nr_vcpus();
        let max = kvm.get_max_vcpus();
        let mut warnings = Vec::new();
        for (kind, requested) in [("SMP", cpus), ("hotpluggable", max_cpus)] {
            if requested as usize > max {
                return Err(KvmError::TooManyVcpus {
                    kind,
                    requested,
                    max,
                });
            }
            if requested as usize > recommended {
                warnings.push(format!(
                    "warning: Number of {kind} cpus requested ({requested}) exceeds the recommended cpus supported by KVM ({recommended})"
                ));
            }
        }
        let vm = kvm
            .create_vm()
            .map_err(|e| KvmError::Ioctl("KVM_CREATE_VM", e))?;
        vm.set_identity_map_address(IDENTITY_MAP_ADDR)
            .map_err(|e| KvmError::Ioctl("KVM_SET_IDENTITY_MAP_ADDR", e))?;
        vm.set_tss_address(TSS_ADDR)
            .map_err(|e| KvmError::Ioctl("KVM_SET_TSS_ADDR", e))?;
        Ok((
            Self {
                kvm,
                vm: Arc::new(vm),
            },
            warnings,
        ))
    }

    pub fn vm_fd(&self) -> Arc<VmFd> {
        self.vm.clone()
    }

    /// What CPUID the host lets a guest have.
    pub fn supported_cpuid(&self) -> Result<Vec<CpuidEntry>, KvmError> {
        supported_cpuid(&self.kvm)
    }

    /// MSR indices the host's KVM can save and restore.
    pub fn msr_index_list(&self) -> Result<Vec<u32>, KvmError> {
        let list = self
            .kvm
            .get_msr_index_list()
            .map_err(|e| KvmError::Ioctl("KVM_GET_MSR_INDEX_LIST", e))?;
        Ok(list.as_slice().to_vec())
    }

    /// Give every region of guest RAM a KVM memory slot.
    pub fn map_memory(&self, mem: &GuestMemoryMmap) -> Result<(), KvmError> {
        for (slot, region) in mem.iter().enumerate() {
            let host = region
                .get_host_address(vm_memory::MemoryRegionAddress(0))
                .map_err(|_| {
                    KvmError::Ioctl(
                        "KVM_SET_USER_MEMORY_REGION",
                        errno::Error::new(libc::EFAULT),
                    )
                })?;
            let slot_region = kvm_userspace_memory_region {
                slot: slot as u32,
                guest_phys_addr: region.start_addr().0,
                memory_size: region.len(),
                userspace_addr: host as u64,
                flags: 0,
            };
            // SAFETY: the region is a live mapping owned by `mem`, which the
            // machine keeps alive for as long as the VM exists.
            unsafe { self.vm.set_user_memory_region(slot_region) }
                .map_err(|e| KvmError::Ioctl("KVM_SET_USER_MEMORY_REGION", e))?;
        }
        Ok(())
    }
}
