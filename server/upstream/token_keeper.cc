#include "server/upstream/token_keeper.h"

#include <openssl/sha.h>

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/base/error_details.h"
#include "server/base/log.h"
#include "server/base/metrics.h"
#include "server/base/redaction.h"

namespace followgate {
namespace {

// When the expiry is not known after a refresh, the next one is this far.
constexpr absl::Duration kUnknownExpiryRefresh = absl::Hours(24);
// How often an introspected token is checked for a replacement.
constexpr absl::Duration kGenerationCheck = absl::Minutes(1);
constexpr absl::Duration kWarnEvery = absl::Hours(24);

std::string Digest(const std::string& text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

int64_t UnixOrZero(absl::Time t) {
  return t == absl::InfiniteFuture() || t == absl::InfinitePast() ? 0 : absl::ToUnixSeconds(t);
}

absl::Time TimeOrInfinite(const nlohmann::json& value) {
  if (!value.is_number_integer() || value.get<int64_t>() <= 0) return absl::InfiniteFuture();
  return absl::FromUnixSeconds(value.get<int64_t>());
}

}  // namespace

TokenKeeper::TokenKeeper(const LinkedInOAuthClient* oauth,
                         std::shared_ptr<SecretSource> access_token, Clock* clock,
                         TokenKeeperOptions options)
    : oauth_(oauth),
      access_token_(std::move(access_token)),
      clock_(clock),
      options_(std::move(options)),
      refresh_token_(options_.refresh_token),
      backoff_(options_.retry_backoff) {}

TokenKeeper::~TokenKeeper() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

absl::Status TokenKeeper::Start() {
  if (!options_.refresh_token.empty() && options_.state != nullptr) {
    absl::StatusOr<bool> adopted = AdoptStored();
    if (!adopted.ok() && absl::IsDataLoss(adopted.status())) return adopted.status();
    if (!adopted.ok()) {
      // The database may be away: refresh on our own, store later.
      LogEvent("WARNING", "linkedin_token_state_not_read",
               {{"credential", options_.credential}, {"error", StatusForLog(adopted.status())}});
    }
  }
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

absl::Time TokenKeeper::expires_at() const {
  absl::MutexLock lock(&mu_);
  return expires_at_;
}

absl::Time TokenKeeper::refresh_token_expires_at() const {
  absl::MutexLock lock(&mu_);
  return refresh_token_expires_at_;
}

int64_t TokenKeeper::successes() const {
  absl::MutexLock lock(&mu_);
  return successes_;
}

int64_t TokenKeeper::failures() const {
  absl::MutexLock lock(&mu_);
  return failures_;
}

void TokenKeeper::AwaitRounds(int64_t rounds) const {
  absl::MutexLock lock(&mu_);
  const auto reached = [this, rounds]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return successes_ + failures_ >= rounds;
  };
  mu_.Await(absl::Condition(&reached));
}

void TokenKeeper::Run() {
  for (;;) {
    const absl::Time next = Step();
    absl::MutexLock lock(&mu_);
    const auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ || rejected_;
    };
    clock_->AwaitWithDeadline(&mu_, absl::Condition(&woken), next);
    if (stopping_) return;
  }
}

absl::Time TokenKeeper::Step() {
  const absl::Time now = clock_->Now();
  const bool refreshing = !options_.refresh_token.empty();
  bool due;
  {
    if (refreshing) {
      const absl::Time refresh_at = RefreshDue();
      absl::MutexLock lock(&mu_);
      due = now >= refresh_at || std::exchange(rejected_, false);
      if (!due) {
        Warn();
        return refresh_at;
      }
    } else {
      absl::MutexLock lock(&mu_);
      due = std::exchange(rejected_, false) ||
            access_token_->Current().generation != introspected_generation_ ||
            now >= obtained_at_ + options_.introspect_every;
      if (!due) {
        Warn();
        return std::min(now + kGenerationCheck, obtained_at_ + options_.introspect_every);
      }
    }
  }
  const absl::Status done = refreshing ? Refresh() : Introspect();
  absl::MutexLock lock(&mu_);
  if (done.ok()) {
    ++successes_;
    backoff_ = options_.retry_backoff;
    Warn();
    return now;  // The next step says when.
  }
  ++failures_;
  const absl::Duration wait =
      std::max(backoff_, RetryDelay(done).value_or(absl::ZeroDuration()));
  backoff_ = std::min(2 * backoff_, options_.max_retry_backoff);
  LogEvent("WARNING", refreshing ? "linkedin_token_refresh_failed" : "linkedin_introspection_failed",
           {{"credential", options_.credential},
            {"error", StatusForLog(done)},
            {"retry_in_seconds", absl::ToInt64Seconds(wait)}});
  Warn();
  return now + wait;
}

absl::Status TokenKeeper::Refresh() {
  if (options_.state != nullptr) {
    // Another replica (or this one before a restart) may have refreshed.
    absl::StatusOr<bool> adopted = AdoptStored();
    if (adopted.ok() && *adopted && RefreshDue() > clock_->Now()) {
      LogEvent("INFO", "linkedin_token_taken_from_state",
               {{"credential", options_.credential}, {"from", options_.state->Describe()}});
      return absl::OkStatus();
    }
  }
  std::string refresh_token;
  {
    absl::MutexLock lock(&mu_);
    refresh_token = refresh_token_;
  }
  absl::StatusOr<OAuthTokens> tokens = oauth_->Refresh(refresh_token);
  if (!tokens.ok()) return tokens.status();
  access_token_->Set(tokens->access_token);
  {
    absl::MutexLock lock(&mu_);
    if (!tokens->refresh_token.empty()) refresh_token_ = tokens->refresh_token;
    obtained_at_ = clock_->Now();
    expires_at_ = tokens->expires_at;
    if (tokens->refresh_token_expires_at != absl::InfiniteFuture()) {
      refresh_token_expires_at_ = tokens->refresh_token_expires_at;
    }
    Metrics::Get().SetLinkedInTokenExpiry(options_.credential, expires_at_,
                                          refresh_token_expires_at_);
    LogEvent("INFO", "linkedin_token_refreshed",
             {{"credential", options_.credential},
              {"expires_at", UnixOrZero(expires_at_)},
              {"refresh_token_expires_at", UnixOrZero(refresh_token_expires_at_)}});
  }
  if (options_.state == nullptr) return absl::OkStatus();
  if (absl::Status saved = SaveState(); !saved.ok()) {
    // The new token is in use; a restart would refresh again.
    LogEvent("WARNING", "linkedin_token_state_not_saved",
             {{"credential", options_.credential}, {"error", StatusForLog(saved)}});
  }
  return absl::OkStatus();
}

void TokenKeeper::Rejected() {
  absl::MutexLock lock(&mu_);
  rejected_ = true;
}

absl::Time TokenKeeper::RefreshDue() const {
  absl::MutexLock lock(&mu_);
  if (expires_at_ != absl::InfiniteFuture()) {
    return expires_at_ - std::min(options_.refresh_margin, (expires_at_ - obtained_at_) / 2);
  }
  // Unknown: at once the first time, then daily.
  return obtained_at_ == absl::InfinitePast() ? absl::InfinitePast()
                                              : obtained_at_ + kUnknownExpiryRefresh;
}

absl::Status TokenKeeper::Introspect() {
  const SecretSource::Value token = access_token_->Current();
  absl::StatusOr<absl::Time> expiry = oauth_->Introspect(token.secret);
  absl::MutexLock lock(&mu_);
  if (!expiry.ok()) return expiry.status();
  introspected_generation_ = token.generation;
  obtained_at_ = clock_->Now();
  expires_at_ = *expiry;
  Metrics::Get().SetLinkedInTokenExpiry(options_.credential, expires_at_,
                                        refresh_token_expires_at_);
  return absl::OkStatus();
}

void TokenKeeper::Warn() {
  const absl::Time now = clock_->Now();
  if (now - warned_at_ < kWarnEvery) return;
  const auto expiring = [&](absl::Time at) {
    return at != absl::InfiniteFuture() && at - now <= options_.warn_before;
  };
  const bool access = expiring(expires_at_);
  const bool refresh = expiring(refresh_token_expires_at_);
  if (!access && !refresh) return;
  warned_at_ = now;
  const absl::Time at = refresh ? refresh_token_expires_at_ : expires_at_;
  LogEvent("WARNING", "linkedin_token_expiring",
           {{"credential", options_.credential},
            {"token", refresh ? "refresh" : "access"},
            {"expires_at", UnixOrZero(at)},
            {"hours_left", absl::ToInt64Hours(at - now)},
            {"msg", refresh ? "the refresh token expires: a page admin must authorize the "
                              "application again"
                    : options_.refresh_token.empty()
                        ? "the access token expires and cannot be refreshed: replace it"
                        : "the access token expires and its refresh has not succeeded"}});
}

absl::StatusOr<bool> TokenKeeper::AdoptStored() {
  absl::StatusOr<std::optional<std::string>> text = options_.state->Load();
  if (!text.ok()) return text.status();
  if (!text->has_value()) return false;  // None yet.
  const nlohmann::json state = nlohmann::json::parse(**text, nullptr, false);
  const auto text_of = [&](const char* key) {
    auto it = state.is_object() ? state.find(key) : state.end();
    return it != state.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (text_of("access_token").empty() || text_of("refresh_token").empty()) {
    return absl::DataLossError(absl::StrCat("LinkedIn credential \"", options_.credential,
                                            "\": the token state in ",
                                            options_.state->Describe(),
                                            " cannot be read; delete it to refresh anew"));
  }
  if (text_of("seed") != Digest(options_.refresh_token)) return false;  // Another consent.
  const absl::Time expires_at = TimeOrInfinite(state.value("expires_at", nlohmann::json()));
  {
    absl::MutexLock lock(&mu_);
    if (expires_at_ != absl::InfiniteFuture() && expires_at <= expires_at_) return false;
  }
  RegisterSecret(text_of("access_token"));
  RegisterSecret(text_of("refresh_token"));
  access_token_->Set(text_of("access_token"));
  absl::MutexLock lock(&mu_);
  refresh_token_ = text_of("refresh_token");
  expires_at_ = expires_at;
  obtained_at_ = TimeOrInfinite(state.value("obtained_at", nlohmann::json()));
  if (obtained_at_ == absl::InfiniteFuture()) obtained_at_ = absl::InfinitePast();
  refresh_token_expires_at_ =
      TimeOrInfinite(state.value("refresh_token_expires_at", nlohmann::json()));
  Metrics::Get().SetLinkedInTokenExpiry(options_.credential, expires_at_,
                                        refresh_token_expires_at_);
  return true;
}

absl::Status TokenKeeper::SaveState() const {
  nlohmann::json state;
  {
    absl::MutexLock lock(&mu_);
    state["seed"] = Digest(options_.refresh_token);
    state["access_token"] = access_token_->Current().secret;
    state["refresh_token"] = refresh_token_;
    state["obtained_at"] = UnixOrZero(obtained_at_);
    state["expires_at"] = UnixOrZero(expires_at_);
    state["refresh_token_expires_at"] = UnixOrZero(refresh_token_expires_at_);
  }
  return options_.state->Save(state.dump());
}

}  // namespace followgate
