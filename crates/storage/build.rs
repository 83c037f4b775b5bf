//! Rebuilds the embedded migrations when one changes.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
