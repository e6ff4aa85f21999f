#include "server/grpc/grpc_status.h"

#include <memory>
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/map.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "server/base/error_details.h"
#include "server/base/redaction.h"

namespace followgate {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr absl::string_view kTypeUrlPrefix = "type.googleapis.com/";

// Redacts every string field of `message` and of the messages it holds.
// Map fields are not walked by reflection (its map-to-repeated sync is not
// safe to lean on across protobuf builds): the one google.rpc map,
// ErrorInfo.metadata, is redacted through its typed API. Returns false for a
// message with any other map (it cannot be checked, so it is not sent).
bool RedactStrings(Message* message) {
  if (auto* info = dynamic_cast<google::rpc::ErrorInfo*>(message)) {
    google::protobuf::Map<std::string, std::string> redacted;
    for (const auto& [key, value] : info->metadata()) redacted[Redact(key)] = Redact(value);
    info->mutable_metadata()->swap(redacted);
  }
  const Reflection* reflection = message->GetReflection();
  const google::protobuf::Descriptor* descriptor = message->GetDescriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (field->is_map()) {
      if (dynamic_cast<google::rpc::ErrorInfo*>(message) != nullptr) continue;  // Done above.
      return false;
    }
    // google.rpc details hold no bytes (rewriting serialized bytes would
    // break them).
    const bool string_field = field->type() == FieldDescriptor::TYPE_STRING;
    const bool message_field = field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
    if (field->is_repeated()) {
      for (int j = 0; j < reflection->FieldSize(*message, field); ++j) {
        if (string_field) {
          reflection->SetRepeatedString(
              message, field, j, Redact(reflection->GetRepeatedString(*message, field, j)));
        } else if (message_field &&
                   !RedactStrings(reflection->MutableRepeatedMessage(message, field, j))) {
          return false;
        }
      }
    } else if (reflection->HasField(*message, field)) {
      if (string_field) {
        reflection->SetString(message, field, Redact(reflection->GetString(*message, field)));
      } else if (message_field && !RedactStrings(reflection->MutableMessage(message, field))) {
        return false;
      }
    }
  }
  return true;
}

// The google.rpc detail `payload` of type `url` with every string redacted;
// nullopt when its type is unknown here (then it cannot be checked and is
// not sent).
std::optional<std::string> RedactedDetail(absl::string_view url, const absl::Cord& payload) {
  const google::protobuf::Descriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(
          std::string(url.substr(kTypeUrlPrefix.size())));
  if (descriptor == nullptr) return std::nullopt;
  const Message* prototype =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(descriptor);
  if (prototype == nullptr) return std::nullopt;
  std::unique_ptr<Message> detail(prototype->New());
  if (!detail->ParseFromString(std::string(payload))) return std::nullopt;
  if (!RedactStrings(detail.get())) return std::nullopt;
  return detail->SerializeAsString();
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // Every error names a reason, so that callers can act without parsing
  // messages.
  const absl::Status detailed = ErrorReason(status).has_value()
                                    ? status
                                    : WithErrorInfo(status, absl::StatusCodeToString(status.code()));
  const std::string message = Redact(status.message());
  google::rpc::Status rpc_status;
  rpc_status.set_code(static_cast<int>(status.code()));
  rpc_status.set_message(message);
  // Only google.rpc payloads go out; the core's internal ones stay inside.
  detailed.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    if (!absl::StartsWith(url, absl::StrCat(kTypeUrlPrefix, "google.rpc."))) return;
    std::optional<std::string> redacted = RedactedDetail(url, payload);
    if (!redacted.has_value()) return;
    google::protobuf::Any* any = rpc_status.add_details();
    any->set_type_url(std::string(url));
    any->set_value(*std::move(redacted));
  });
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), message,
                      rpc_status.SerializeAsString());
}

}  // namespace followgate
