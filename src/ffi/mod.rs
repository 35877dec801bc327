//! The C ABI (`include/msim.h`). Thin: argument checking, ownership, panics caught, result codes.
//! No protocol logic lives here.
