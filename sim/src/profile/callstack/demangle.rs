//! C++ symbol names as the profile shows them.

/// Demangle a C++ symbol name (Itanium ABI), or return it unchanged. Template functions
/// are shown without their return type (`ns::f<int>(int)`, not `void ns::f<int>(int)`), as
/// every other function is.
pub fn demangle(name: &str) -> String {
    if !name.starts_with("_Z") {
        return name.to_string();
    }
    let options = cpp_demangle::DemangleOptions::new().no_return_type();
    cpp_demangle::Symbol::new(name).ok().and_then(|s| s.demangle(&options).ok()).unwrap_or_else(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demangles_cpp_names() {
        assert_eq!(demangle("_ZN6tflite16MicroInterpreter6InvokeEv"), "tflite::MicroInterpreter::Invoke()");
        assert_eq!(demangle("main"), "main");
        // Template functions without their return type (Glow's workers).
        assert_eq!(
            demangle("_ZN12_GLOBAL__N_117libjit_fc_genericIaiEEvPT_PKS1_S4_PKT0_PKjS9_S9_S9_iiiiiiiiii"),
            "(anonymous namespace)::libjit_fc_generic<signed char, int>(signed char*, signed char const*, signed char const*, int const*, \
             unsigned int const*, unsigned int const*, unsigned int const*, unsigned int const*, int, int, int, int, int, int, int, int, int, int)"
        );
        assert_eq!(demangle("_Z12libjit_getXYPKjjj"), "libjit_getXY(unsigned int const*, unsigned int, unsigned int)");
    }
}
