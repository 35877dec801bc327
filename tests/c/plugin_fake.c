/*
 * A stand-in plugin for tests/plugin_loader.rs: exports msim_plugin_init with a descriptor
 * whose identity and ABI numbers come from -D flags, and no operations. Built several times:
 *   -DFAKE_MAGIC=0x12345678u             wrong magic (not an msim plugin)
 *   -DFAKE_MAJOR=(MSIM_PLUGIN_ABI_MAJOR+1) wrong major
 *   -DFAKE_MINOR=(MSIM_PLUGIN_ABI_MINOR+1) newer minor than the host
 *   (no flags)                           right numbers, but no operations
 * A loader must reject each of them without calling any operation (they are all NULL).
 */
#include "msim.h"

#ifndef FAKE_MAGIC
#define FAKE_MAGIC MSIM_PLUGIN_MAGIC
#endif
#ifndef FAKE_MAJOR
#define FAKE_MAJOR MSIM_PLUGIN_ABI_MAJOR
#endif
#ifndef FAKE_MINOR
#define FAKE_MINOR MSIM_PLUGIN_ABI_MINOR
#endif
#ifndef FAKE_ID
#define FAKE_ID "prpl-fake"
#endif

static const msim_plugin_info info = {
    .magic = FAKE_MAGIC,
    .abi_major = FAKE_MAJOR,
    .abi_minor = FAKE_MINOR,
    .struct_size = sizeof(msim_plugin_info),
    .id = FAKE_ID,
    .name = "Fake",
    .version = "0.0.1",
    .summary = "a test plugin without operations",
};

const msim_plugin_info *msim_plugin_init(void);

const msim_plugin_info *msim_plugin_init(void) {
    return &info;
}
