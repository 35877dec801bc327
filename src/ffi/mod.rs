//! The C ABI (`include/msim.h`). Thin: argument checking, ownership, panics caught, result codes.
//! No protocol logic lives here.
//!
//! Adding an export: a `#[no_mangle] pub unsafe extern "C" fn msim_<object>_<verb>` in the file of its
//! C object, body wrapped in `boundary::guard_result` (or `guard` for non-result returns), arguments
//! read with `arg_str`/`arg_ref`/`Out`, errors mapped by a `From` impl in [`result`]. Document every
//! pointer's ownership and lifetime in the doc comment: it becomes the header. Then build (build.rs
//! regenerates the header) and commit `include/msim.h`.

#![allow(non_camel_case_types)]

pub(crate) mod boundary;
pub mod callbacks;
pub mod create;
pub mod dispatch;
pub mod group_chat;
pub mod groups;
pub mod login;
pub mod markup;
pub mod notices;
pub mod plugin;
mod plugin_abi;
pub mod presence;
pub mod privacy;
pub mod profile;
pub mod proxy;
pub mod result;
pub mod session;
pub mod strings;
pub mod types;
pub mod version;
pub mod web;

pub use result::msim_result;
