// Minimal start-up for running the firmware under qemu-system-arm -M
// mps2-an386 (Cortex-M4): a vector table, the C++ runtime's initialisation,
// the firmware (run_firmware(), main.cpp), and an exit through semihosting that tells QEMU the result.
#include <cstdint>

extern "C" {
extern std::uint32_t __data_load, __data_start, __data_end, __bss_start, __bss_end, __stack_top;
void __libc_init_array();
void _init() {}
void _fini() {}
// What crtbegin.o would define (-nostartfiles leaves it out): the handle
// static destructors register under.
__attribute__((visibility("hidden"))) void* __dso_handle = &__dso_handle;
}
int run_firmware();
extern volatile int g_result;
extern volatile std::uint32_t g_commits, g_recycled, g_last_token;

namespace {

// ARM semihosting (QEMU -semihosting): operation in r0, argument in r1.
int semihost(int operation, const void* argument) {
  register int r0 __asm__("r0") = operation;
  register const void* r1 __asm__("r1") = argument;
  __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}
constexpr int sys_write0 = 0x04;
constexpr int sys_exit = 0x18;
constexpr int stopped_application_exit = 0x20026;  // QEMU exits 0
constexpr int stopped_runtime_error = 0x20023;     // QEMU exits 1

// Writes `value` in decimal and then `text` at p; returns the end.
char* put(char* p, std::uint32_t value, const char* text) {
  char digits[10];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (n > 0) *p++ = digits[--n];
  while (*text != 0) *p++ = *text++;
  *p = 0;
  return p;
}

[[noreturn]] void stop(int result) {
  if (result == 0) {
    char line[96] = "weft_baremetal: every step worked: ";
    char* p = line;
    while (*p != 0) p++;
    p = put(p, g_commits, " exchanges committed, ");
    p = put(p, g_recycled, " segments recycled, last fencing token ");
    p = put(p, g_last_token, "\n");
    semihost(sys_write0, line);
  } else {
    char line[] = "weft_baremetal: step 000 failed\n";
    const int step = g_result < 0 ? 999 : g_result % 1000;
    line[21] = static_cast<char>('0' + step / 100);
    line[22] = static_cast<char>('0' + step / 10 % 10);
    line[23] = static_cast<char>('0' + step % 10);
    semihost(sys_write0, line);
  }
  for (;;) semihost(sys_exit, reinterpret_cast<const void*>(result == 0 ? stopped_application_exit
                                                                          : stopped_runtime_error));
}

}  // namespace

extern "C" [[noreturn]] void reset_handler() {
  volatile std::uint32_t* cpacr = reinterpret_cast<volatile std::uint32_t*>(0xE000ED88u);
  *cpacr = *cpacr | (0xFu << 20);  // FPU on (the firmware is built for -mfpu=fpv4-sp-d16)
  for (std::uint32_t *src = &__data_load, *dst = &__data_start; dst < &__data_end;) *dst++ = *src++;
  for (std::uint32_t* p = &__bss_start; p < &__bss_end;) *p++ = 0;
  __libc_init_array();
  const int result = run_firmware();
  stop(result == 0 && g_result == 0 ? 0 : 1);
}

extern "C" [[noreturn]] void fault_handler() { stop(2); }

// Initial stack pointer, reset, NMI, hard fault and the other faults.
__attribute__((section(".vectors"), used)) void* const vector_table[] = {
    &__stack_top,
    reinterpret_cast<void*>(&reset_handler),
    reinterpret_cast<void*>(&fault_handler), reinterpret_cast<void*>(&fault_handler),
    reinterpret_cast<void*>(&fault_handler), reinterpret_cast<void*>(&fault_handler),
    reinterpret_cast<void*>(&fault_handler),
};
