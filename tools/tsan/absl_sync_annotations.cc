// Makes absl::Mutex, absl::CondVar and absl::Notification visible to
// ThreadSanitizer when abseil itself is not instrumented (Debian's shared
// libabsl_synchronization). Without it TSan sees no happens-before edge from
// any absl lock and reports every guarded access as a race.
//
// How: this file defines the exported entry points that code calls (the
// project's, and gRPC's, whose gpr_mu is an absl::Mutex). Linked into the
// executable, the definitions take precedence over the library's; each one
// forwards to the library's own (dlsym RTLD_NEXT on the mangled name) and
// tells TSan what happened (__tsan_mutex_* and __tsan_acquire/release).
//
// The library calls some of these entry points itself (AwaitWithTimeout
// calls AwaitWithDeadline, Notification uses a Mutex): only the outermost
// call on a thread is annotated; nested ones just forward.
//
// Conditions (Await, LockWhen) are evaluated inside the library, sometimes by
// the thread that unlocks on behalf of a waiter. Condition::Eval is
// interposed too: it runs as if it held the mutex of the operation in
// progress on its thread (acquire before, release after).
//
// Only for `--config=tsan`. Thread-safe; aborts at the first call if an entry
// point cannot be found (an abseil without these symbols).

#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/base/options.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

// Exported by the TSan runtime, not declared in its headers.
extern "C" void __tsan_ignore_thread_begin();
extern "C" void __tsan_ignore_thread_end();

namespace {

#define FG_STRINGIFY_INNER(x) #x
#define FG_STRINGIFY(x) FG_STRINGIFY_INNER(x)

// The Itanium mangling of a member of absl's inline namespace: `prefix` is
// "_ZN" or "_ZNK" (const member), `rest` the part after the namespace.
std::string Mangled(const char* prefix, const char* rest) {
  const std::string ns = FG_STRINGIFY(ABSL_OPTION_INLINE_NAMESPACE_NAME);
  return std::string(prefix) + "4absl" + std::to_string(ns.size()) + ns + rest;
}

template <typename Fn>
Fn Real(const char* prefix, const char* rest) {
  const std::string name = Mangled(prefix, rest);
  void* sym = dlsym(RTLD_NEXT, name.c_str());
  if (sym == nullptr) {
    std::fprintf(stderr, "tsan absl_sync: %s not found\n", name.c_str());
    std::abort();
  }
  return reinterpret_cast<Fn>(sym);
}

#define FG_REAL(type, prefix, rest) \
  static const auto real = Real<type>(prefix, rest)

// The mutex whose operation is in progress on this thread, for
// Condition::Eval.
thread_local const absl::Mutex* current_mutex = nullptr;

class CurrentMutex {
 public:
  explicit CurrentMutex(const absl::Mutex* mu) : saved_(current_mutex) {
    current_mutex = mu;
  }
  ~CurrentMutex() { current_mutex = saved_; }
  CurrentMutex(const CurrentMutex&) = delete;
  CurrentMutex& operator=(const CurrentMutex&) = delete;

 private:
  const absl::Mutex* saved_;
};

// Depth of interposed calls in progress on this thread.
thread_local int call_depth = 0;

// Forwards `call`; annotates it with `before` and `after` unless it is
// nested in another interposed call.
//
// The annotations run with the thread's memory accesses ignored: TSan's
// lock annotations also record an access to the mutex's own word, which
// races (falsely) with its allocation when an uninstrumented library (gRPC)
// hands the object to another thread. The happens-before edges stay.
template <typename Before, typename Call, typename After>
auto Annotated(Before before, Call call, After after) {
  if (call_depth > 0) return call();
  __tsan_ignore_thread_begin();
  before();
  __tsan_ignore_thread_end();
  ++call_depth;
  auto result = call();
  --call_depth;
  __tsan_ignore_thread_begin();
  after(result);
  __tsan_ignore_thread_end();
  return result;
}

void* Addr(const void* p) { return const_cast<void*>(p); }

using MutexFn = void (*)(absl::Mutex*);
using TryFn = bool (*)(absl::Mutex*);
using WhenFn = void (*)(absl::Mutex*, const absl::Condition&);
using WhenTimeoutFn = bool (*)(absl::Mutex*, const absl::Condition&,
                               absl::Duration);
using WhenDeadlineFn = bool (*)(absl::Mutex*, const absl::Condition&,
                                absl::Time);

void Lock(absl::Mutex* mu, MutexFn real, unsigned flags) {
  Annotated([&] { __tsan_mutex_pre_lock(mu, flags); },
            [&] { return real(mu), 0; },
            [&](int) { __tsan_mutex_post_lock(mu, flags, 0); });
}

void Unlock(absl::Mutex* mu, MutexFn real, unsigned flags) {
  CurrentMutex current(mu);
  Annotated([&] { __tsan_mutex_pre_unlock(mu, flags); },
            [&] { return real(mu), 0; },
            [&](int) { __tsan_mutex_post_unlock(mu, flags); });
}

bool TryLock(absl::Mutex* mu, TryFn real, unsigned flags) {
  flags |= __tsan_mutex_try_lock;
  return Annotated([&] { __tsan_mutex_pre_lock(mu, flags); },
                   [&] { return real(mu); },
                   [&](bool locked) {
                     __tsan_mutex_post_lock(
                         mu, flags | (locked ? 0 : __tsan_mutex_try_lock_failed), 0);
                   });
}

// LockWhen and its variants: a lock, whose condition the library evaluates.
template <typename Call>
auto LockWhen(absl::Mutex* mu, unsigned flags, Call call) {
  CurrentMutex current(mu);
  return Annotated([&] { __tsan_mutex_pre_lock(mu, flags); }, call,
                   [&](auto) { __tsan_mutex_post_lock(mu, flags, 0); });
}

// Await, CondVar::Wait and variants: held before and after, released inside.
template <typename Call>
auto ReleaseAndRetake(absl::Mutex* mu, Call call) {
  CurrentMutex current(mu);
  return Annotated(
      [&] {
        __tsan_mutex_pre_unlock(mu, 0);
        __tsan_mutex_post_unlock(mu, 0);
        __tsan_mutex_pre_lock(mu, 0);
      },
      call, [&](auto) { __tsan_mutex_post_lock(mu, 0, 0); });
}

// CondVar::Wait and variants: like Await, and a signal happens before the
// wake-up.
template <typename Call>
auto CondVarWait(const absl::CondVar* cv, absl::Mutex* mu, Call call) {
  CurrentMutex current(mu);
  return Annotated(
      [&] {
        __tsan_mutex_pre_unlock(mu, 0);
        __tsan_mutex_post_unlock(mu, 0);
        __tsan_mutex_pre_lock(mu, 0);
      },
      call,
      [&](auto) {
        __tsan_mutex_post_lock(mu, 0, 0);
        __tsan_acquire(Addr(cv));
      });
}

// A happens-before edge from Release(x) to a later Acquire(x).
template <typename Call>
auto Releasing(const void* x, Call call) {
  return Annotated([&] { __tsan_release(Addr(x)); }, call, [](auto) {});
}

template <typename Call>
auto Acquiring(const void* x, Call call) {
  return Annotated([] {}, call, [&](auto) { __tsan_acquire(Addr(x)); });
}

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

void Mutex::Lock() {
  FG_REAL(MutexFn, "_ZN", "5Mutex4LockEv");
  ::Lock(this, real, 0);
}

void Mutex::Unlock() {
  FG_REAL(MutexFn, "_ZN", "5Mutex6UnlockEv");
  ::Unlock(this, real, 0);
}

void Mutex::ReaderLock() {
  FG_REAL(MutexFn, "_ZN", "5Mutex10ReaderLockEv");
  ::Lock(this, real, __tsan_mutex_read_lock);
}

void Mutex::ReaderUnlock() {
  FG_REAL(MutexFn, "_ZN", "5Mutex12ReaderUnlockEv");
  ::Unlock(this, real, __tsan_mutex_read_lock);
}

bool Mutex::TryLock() {
  FG_REAL(TryFn, "_ZN", "5Mutex7TryLockEv");
  return ::TryLock(this, real, 0);
}

bool Mutex::ReaderTryLock() {
  FG_REAL(TryFn, "_ZN", "5Mutex13ReaderTryLockEv");
  return ::TryLock(this, real, __tsan_mutex_read_lock);
}

void Mutex::LockWhen(const Condition& cond) {
  FG_REAL(WhenFn, "_ZN", "5Mutex8LockWhenERKNS0_9ConditionE");
  ::LockWhen(this, 0, [&] { return real(this, cond), 0; });
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  FG_REAL(WhenFn, "_ZN", "5Mutex14ReaderLockWhenERKNS0_9ConditionE");
  ::LockWhen(this, __tsan_mutex_read_lock,
             [&] { return real(this, cond), 0; });
}

bool Mutex::LockWhenWithTimeout(const Condition& cond, Duration timeout) {
  FG_REAL(WhenTimeoutFn, "_ZN",
          "5Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  return ::LockWhen(this, 0, [&] { return real(this, cond, timeout); });
}

bool Mutex::LockWhenWithDeadline(const Condition& cond, Time deadline) {
  FG_REAL(WhenDeadlineFn, "_ZN",
          "5Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return ::LockWhen(this, 0, [&] { return real(this, cond, deadline); });
}

bool Mutex::ReaderLockWhenWithTimeout(const Condition& cond, Duration timeout) {
  FG_REAL(WhenTimeoutFn, "_ZN",
          "5Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  return ::LockWhen(this, __tsan_mutex_read_lock,
                    [&] { return real(this, cond, timeout); });
}

bool Mutex::ReaderLockWhenWithDeadline(const Condition& cond, Time deadline) {
  FG_REAL(WhenDeadlineFn, "_ZN",
          "5Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return ::LockWhen(this, __tsan_mutex_read_lock,
                    [&] { return real(this, cond, deadline); });
}

void Mutex::Await(const Condition& cond) {
  FG_REAL(WhenFn, "_ZN", "5Mutex5AwaitERKNS0_9ConditionE");
  ReleaseAndRetake(this, [&] { return real(this, cond), 0; });
}

bool Mutex::AwaitWithTimeout(const Condition& cond, Duration timeout) {
  FG_REAL(WhenTimeoutFn, "_ZN",
          "5Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  return ReleaseAndRetake(this, [&] { return real(this, cond, timeout); });
}

bool Mutex::AwaitWithDeadline(const Condition& cond, Time deadline) {
  FG_REAL(WhenDeadlineFn, "_ZN",
          "5Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return ReleaseAndRetake(this, [&] { return real(this, cond, deadline); });
}

// __tsan_mutex_not_static, as abseil's own ~Mutex passes it: destroying a
// mutex that was not created by the (inline, instrumented) constructor is a
// no-op for TSan. Static mutexes of the uninstrumented libraries are such
// mutexes; absl::ParseCommandLine exits on a bad flag while holding one, and
// its destructor then runs at exit with the mutex still locked.
Mutex::~Mutex() {
  FG_REAL(MutexFn, "_ZN", "5MutexD1Ev");
  Annotated([&] { __tsan_mutex_destroy(this, __tsan_mutex_not_static); }, [&] { return real(this), 0; },
            [](int) {});
}

bool Condition::Eval() const {
  using EvalFn = bool (*)(const Condition*);
  FG_REAL(EvalFn, "_ZNK", "9Condition4EvalEv");
  const Mutex* mu = current_mutex;
  if (mu == nullptr) return real(this);
  __tsan_ignore_thread_begin();
  __tsan_acquire(Addr(mu));
  __tsan_ignore_thread_end();
  const bool result = real(this);
  __tsan_ignore_thread_begin();
  __tsan_release(Addr(mu));
  __tsan_ignore_thread_end();
  return result;
}

void CondVar::Wait(Mutex* mu) {
  using WaitFn = void (*)(CondVar*, Mutex*);
  FG_REAL(WaitFn, "_ZN", "7CondVar4WaitEPNS0_5MutexE");
  CondVarWait(this, mu, [&] { return real(this, mu), 0; });
}

bool CondVar::WaitWithTimeout(Mutex* mu, Duration timeout) {
  using WaitFn = bool (*)(CondVar*, Mutex*, Duration);
  FG_REAL(WaitFn, "_ZN", "7CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  return CondVarWait(this, mu, [&] { return real(this, mu, timeout); });
}

bool CondVar::WaitWithDeadline(Mutex* mu, Time deadline) {
  using WaitFn = bool (*)(CondVar*, Mutex*, Time);
  FG_REAL(WaitFn, "_ZN", "7CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  return CondVarWait(this, mu, [&] { return real(this, mu, deadline); });
}

void CondVar::Signal() {
  using SignalFn = void (*)(CondVar*);
  FG_REAL(SignalFn, "_ZN", "7CondVar6SignalEv");
  Releasing(this, [&] { return real(this), 0; });
}

void CondVar::SignalAll() {
  using SignalFn = void (*)(CondVar*);
  FG_REAL(SignalFn, "_ZN", "7CondVar9SignalAllEv");
  Releasing(this, [&] { return real(this), 0; });
}

void Notification::Notify() {
  using NotifyFn = void (*)(Notification*);
  FG_REAL(NotifyFn, "_ZN", "12Notification6NotifyEv");
  Releasing(this, [&] { return real(this), 0; });
}

void Notification::WaitForNotification() const {
  using WaitFn = void (*)(const Notification*);
  FG_REAL(WaitFn, "_ZNK", "12Notification19WaitForNotificationEv");
  Acquiring(this, [&] { return real(this), 0; });
}

bool Notification::WaitForNotificationWithTimeout(Duration timeout) const {
  using WaitFn = bool (*)(const Notification*, Duration);
  FG_REAL(WaitFn, "_ZNK",
          "12Notification30WaitForNotificationWithTimeoutENS0_8DurationE");
  // A timeout acquires too: harmless, nothing was released.
  return Acquiring(this, [&] { return real(this, timeout); });
}

bool Notification::WaitForNotificationWithDeadline(Time deadline) const {
  using WaitFn = bool (*)(const Notification*, Time);
  FG_REAL(WaitFn, "_ZNK",
          "12Notification31WaitForNotificationWithDeadlineENS0_4TimeE");
  // A timeout acquires too: harmless, nothing was released.
  return Acquiring(this, [&] { return real(this, deadline); });
}

ABSL_NAMESPACE_END
}  // namespace absl
