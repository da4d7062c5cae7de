fn main() { std::process::exit(simbench_sim::cli::main()) }
