// ThreadSanitizer suppressions, compiled into every `--config=tsan` binary
// (TSan calls __tsan_default_suppressions at startup). Only for libraries
// that are not instrumented: a report with a frame of this project is a
// finding, never suppressed.

extern "C" const char* __tsan_default_suppressions() {
  return ""
      ;
}
