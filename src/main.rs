fn main() {
    std::process::exit(kvmaudit::cli::main_with_args(std::env::args_os().collect()));
}
