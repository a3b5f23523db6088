// Bakes the runtime options from sanitizers/*.options into every test binary
// (the sanitizer runtimes call these hooks at start-up). The environment
// variables, when set, still take precedence over these defaults.
extern "C" {
const char* __tsan_default_options() { return WEFT_TSAN_DEFAULTS; }
const char* __asan_default_options() { return WEFT_ASAN_DEFAULTS; }
const char* __ubsan_default_options() { return WEFT_UBSAN_DEFAULTS; }
const char* __lsan_default_options() { return WEFT_LSAN_DEFAULTS; }
}
