// debug_log.cc - TFLM's DebugLog over semihosting (replaces the tree's debug_log.cc).
#include <stdarg.h>
#include <stdio.h>
#include "tensorflow/lite/micro/debug_log.h"
#include "validation.h"

#ifdef TFLM_2021
extern "C" void DebugLog(const char *s) { sb_puts(s); }
#else
extern "C" void DebugLog(const char *format, va_list args)
{
    char buf[256];
    vsnprintf(buf, sizeof buf, format, args);
    sb_puts(buf);
}
extern "C" int DebugVsnprintf(char *buffer, size_t buf_size, const char *format, va_list vlist)
{
    return vsnprintf(buffer, buf_size, format, vlist);
}
#endif
