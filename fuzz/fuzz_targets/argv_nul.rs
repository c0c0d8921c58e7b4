//! argv as the kernel holds it (`/proc/PID/cmdline`: NUL-separated, any bytes) straight into
//! the option parser and `VmModel::from_argv`, with the QEMU binary already in argv[0] so that
//! every mutation reaches the model.
#![no_main]
use kvmaudit::model::vm::VmModel;
use kvmaudit::parse::qemu::parse_command_line;
use kvmaudit::snapshot::RawBytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kvmaudit_fuzz::install_panic_hook();
    let mut argv = vec![RawBytes::from("/usr/bin/qemu-system-x86_64")];
    argv.extend(kvmaudit::collect::processes::split_nul(data));
    let _ = parse_command_line(&argv);
    let m = VmModel::from_argv(&argv);
    let _ = m.vcpus();
    let _ = m.is_kvm();
    let _ = m.uses_hugepages();
    let _ = m.guest_ram();
    let _ = serde_json::to_string(&m);
});
