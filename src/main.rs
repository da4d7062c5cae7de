fn main() {
    std::process::exit(simbench::commands::main())
}
