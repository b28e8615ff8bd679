fn main() -> std::process::ExitCode {
    kspec::cli::main()
}
