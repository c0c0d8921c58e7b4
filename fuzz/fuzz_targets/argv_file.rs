//! QEMU argv files in both forms `parse_argv_file` reads (libvirt shell text, NUL-separated
//! /proc/PID/cmdline), then the option parser and `VmModel::from_argv`.
#![no_main]
use kvmaudit::model::vm::VmModel;
use kvmaudit::parse::qemu::{parse_argv_file, parse_command_line};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kvmaudit_fuzz::install_panic_hook();
    if let Ok(f) = parse_argv_file(data) {
        let _ = parse_command_line(&f.argv);
        let m = VmModel::from_argv(&f.argv);
        let _ = m.vcpus();
        let _ = m.is_kvm();
        let _ = m.uses_hugepages();
        let _ = m.guest_ram();
        let _ = serde_json::to_string(&m);
    }
});
