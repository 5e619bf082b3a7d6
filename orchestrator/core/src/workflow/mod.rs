//! The workflow language: raw types (phase one), the compiler (phase two) and the compiled
//! model downstream code uses.

pub mod compile;
pub mod located;
pub mod model;
pub mod numbers;
pub mod raw;
pub mod synthetic;
pub mod values;

pub use compile::{
    Compilation, FsLoader, LoadError, Loader, NoFiles, StoredLoader, compile, compile_bytes,
    compile_str,
};
pub use model::*;
