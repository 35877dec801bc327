//! `msim-server` binary: see `msim_server::cli` for the command line.
fn main() {
    std::process::exit(msim_server::cli::run(std::env::args().skip(1)));
}
