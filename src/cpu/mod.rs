//! The x86 CPU as the guest sees it: models, feature names and CPUID.

pub mod cpuid;
pub mod features;
pub mod models;
pub mod paging;
