// ThreadSanitizer suppressions, compiled into every `--config=tsan` binary
// (TSan calls __tsan_default_suppressions at startup). Only for libraries
// that are not instrumented: a report with a frame of this project is a
// finding, never suppressed.

extern "C" const char* __tsan_default_suppressions() {
  return
      // gRPC core (Debian's libgrpc, not instrumented) orders its own socket
      // work (e.g. close() on one thread after recvmsg() on another) with
      // atomics TSan cannot see. called_from_lib ignores only the libc calls
      // made by the library itself: project code running on gRPC's threads
      // is still checked.
      "called_from_lib:libgrpc.so\n"
      "called_from_lib:libgpr.so\n"
      // gRPC C++ (Debian's libgrpc++, not instrumented) frees metadata that
      // may reuse memory gRPC core freed (unseen, above) after project code
      // on a server thread read it: a stale access, not a race. Same reason.
      "called_from_lib:libgrpc++.so\n"
      // gRPC's upb (message parsing inside gRPC core), same reason.
      "called_from_lib:libupb.so\n"
      // absl::Status and absl::Cord payloads that gRPC core makes on one
      // thread and reads on another (gRPC 1.51's errors are absl::Status),
      // handed over by gRPC's own synchronisation: the accesses are libc
      // calls of Debian's uninstrumented libabsl_status and libabsl_cord
      // (called_from_lib names one library per line).
      "called_from_lib:libabsl_status.so\n"
      "called_from_lib:libabsl_cord.so\n"
      // absl::Mutex's deadlock graph (debug builds of abseil), guarded by
      // abseil's own uninstrumented spin lock.
      "called_from_lib:libabsl_graphcycles_internal.so\n"
      // gRPC's header-only C++ call ops (grpcpp/impl/call_op_set.h): filled
      // by the thread that starts an operation, finalized by the thread that
      // runs its completion; the hand-over is gRPC core's completion queue,
      // which TSan cannot see. race_top: only when gRPC's code is the access.
      "race_top:grpc::internal::CallOpSet\n"
      // An absl::Status rep shared between threads is released partly inside
      // Debian's uninstrumented libabsl_status (SetPayload, ~Status there),
      // so TSan misses the release and blames the final delete.
      "race:absl::*Status::Unref\n";
}
