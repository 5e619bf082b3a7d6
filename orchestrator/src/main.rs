//! The `warden` binary: everything lives in the library so tests can drive the same code.

fn main() {
    let code = warden::cli::run(
        std::env::args_os(),
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    std::process::exit(code);
}
