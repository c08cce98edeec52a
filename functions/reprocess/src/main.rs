//! Skeleton: this function is built in a later issue. It exists so the workspace, the
//! template and the local stack already know its name.

fn main() {
    eprintln!("not implemented yet");
    std::process::exit(1);
}
