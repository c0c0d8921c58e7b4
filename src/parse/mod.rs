//! Parsers: bytes and text from the snapshot into typed values. None of them touches the
//! filesystem and none may panic on any input.

pub mod cmdline;
pub mod cpuid;
pub mod cpulist;
pub mod governor_config;
pub mod interrupts;
pub mod kconfig;
pub mod libvirt_domain;
pub mod meminfo;
pub mod mounts;
pub mod msr;
pub mod numa_maps;
pub mod qemu;
pub mod smbios;
pub mod sysfs;
pub mod vmstat;
