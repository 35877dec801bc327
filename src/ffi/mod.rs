//! The C ABI (`include/msim.h`). Thin: argument checking, ownership, panics caught, result codes.
//! No protocol logic lives here.
#![allow(non_camel_case_types)]

pub mod callbacks;
pub mod dispatch;
pub(crate) mod guard;
pub mod result;
pub mod session;
pub mod strings;
pub mod types;
