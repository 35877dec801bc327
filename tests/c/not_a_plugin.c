/* A shared object without msim_plugin_init, for tests/plugin_loader.rs. */
int not_a_plugin_answer(void);

int not_a_plugin_answer(void) {
    return 42;
}
