//! The plugin ABI's numbers (see `plugin.rs`). Kept in a file of its own, free of crate references,
//! because build.rs includes it too: it writes these values into include/msim.h as `#define`s, so
//! the header and the library cannot disagree. (cbindgen's own constant export is off: it would
//! also export every protocol limit.)

/// `msim_plugin_info.magic`: the ASCII bytes "MSIM" read as a big-endian number. A host rejects a
/// shared object whose `msim_plugin_init` returns anything else.
pub const MSIM_PLUGIN_MAGIC: u32 = 0x4D53_494D;

/// Incompatible layout changes bump the major; a host accepts only its own major.
pub const MSIM_PLUGIN_ABI_MAJOR: u16 = 1;

/// Operations appended at the end of `msim_plugin_info` bump the minor; a host accepts a plugin
/// whose minor is at most its own.
pub const MSIM_PLUGIN_ABI_MINOR: u16 = 2;

/// The name of the entry point a host looks up with `dlsym`.
pub const MSIM_PLUGIN_INIT_SYMBOL: &str = "msim_plugin_init";
