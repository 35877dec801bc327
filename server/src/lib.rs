//! msim-server: a reference MySpaceIM server (to be written).
